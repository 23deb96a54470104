//! `Range: bytes=...` on blob reads (RFC 9110 section 14; the OCI distribution spec lets a
//! registry serve them, and the CNCF distribution server does through Go's `ServeContent`):
//! one range is served as 206; a range that is malformed or starts past the end is 416 (as Go
//! answers both); several ranges, or a unit other than bytes, are ignored and the whole blob
//! is served (RFC 9110 lets a server ignore a Range it does not serve).

use crate::blobs::ByteRange;
use crate::error::RegistryError;

/// The one range of a blob of `size` bytes that `header` asks for; `Ok(None)`: the whole blob.
pub fn parse(header: Option<&str>, size: u64) -> Result<Option<ByteRange>, RegistryError> {
    let Some(header) = header.map(str::trim) else {
        return Ok(None);
    };
    let Some(spec) = header.strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let unsatisfiable = || RegistryError::RangeNotSatisfiable {
        range: header.to_owned(),
        size,
    };
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Err(unsatisfiable());
    };
    let number = |text: &str| -> Result<u64, RegistryError> {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unsatisfiable());
        }
        text.parse().map_err(|_| unsatisfiable())
    };
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        // `-n`: the last n bytes.
        (true, false) => {
            let suffix = number(last)?;
            if suffix == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            ByteRange {
                first: size.saturating_sub(suffix),
                last: size - 1,
            }
        }
        // `a-`: from a to the end.
        (false, true) => ByteRange {
            first: number(first)?,
            last: size.saturating_sub(1),
        },
        // `a-b`, b clipped to the end.
        (false, false) => {
            let (first, last) = (number(first)?, number(last)?);
            if last < first {
                return Err(unsatisfiable());
            }
            ByteRange {
                first,
                last: last.min(size.saturating_sub(1)),
            }
        }
        (true, true) => return Err(unsatisfiable()),
    };
    if range.first >= size {
        return Err(unsatisfiable());
    }
    Ok(Some(range))
}

#[cfg(test)]
mod tests {
    use super::parse;
    use crate::blobs::ByteRange;

    /// A `Range` header, the blob's size, and the range served (`Err`: 416).
    type Case<'a> = (Option<&'a str>, u64, Result<Option<ByteRange>, ()>);

    #[test]
    fn ranges_parse_as_go_serve_content_reads_them() {
        let r = |first, last| Ok(Some(ByteRange { first, last }));
        let table: &[Case] = &[
            (None, 100, Ok(None)),
            (Some("bytes=0-9"), 100, r(0, 9)),
            (Some("bytes=10-"), 100, r(10, 99)),
            (Some("bytes=-10"), 100, r(90, 99)),
            (Some("bytes=-1000"), 100, r(0, 99)),
            (Some("bytes=50-1000"), 100, r(50, 99)),
            (Some("bytes=99-99"), 100, r(99, 99)),
            (Some(" bytes= 5 - 6 "), 100, r(5, 6)),
            // Ignored: several ranges, another unit.
            (Some("bytes=0-1,5-6"), 100, Ok(None)),
            (Some("items=0-1"), 100, Ok(None)),
            // 416: malformed, backwards, past the end, empty suffix, an empty blob.
            (Some("bytes=abc"), 100, Err(())),
            (Some("bytes=a-b"), 100, Err(())),
            (Some("bytes=-"), 100, Err(())),
            (Some("bytes=+1-2"), 100, Err(())),
            (Some("bytes=9-5"), 100, Err(())),
            (Some("bytes=100-"), 100, Err(())),
            (Some("bytes=100-200"), 100, Err(())),
            (Some("bytes=-0"), 100, Err(())),
            (Some("bytes=0-0"), 0, Err(())),
            (Some("bytes=-5"), 0, Err(())),
            (Some("bytes=99999999999999999999-"), 100, Err(())),
        ];
        for (header, size, want) in table {
            let got = parse(*header, *size).map_err(|_| ());
            assert_eq!(&got, want, "{header:?} of {size} bytes");
        }
    }
}
