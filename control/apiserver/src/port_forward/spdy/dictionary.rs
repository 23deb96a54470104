//! The zlib dictionary of SPDY/3 header blocks (SPDY/3 draft, section 2.6.10.1): HTTP header
//! names, each behind its 4-byte big-endian length, then a run of common values. Both sides
//! of a SPDY/3 session prime their header (de)compressor with it.
//!
//! The draft's listing ends at the final `.`; some implementations (Chrome) also feed the C
//! string's trailing NUL to zlib. A peer's compressed stream names its dictionary by Adler-32,
//! so the decompressor accepts either ([`variants`]); this side compresses with the draft's.

use std::sync::LazyLock;

/// The length-prefixed header names, in the draft's order.
const NAMES: [&str; 65] = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
];

/// The values that follow the names, as one unprefixed run.
const VALUES: &str = concat!(
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request",
    "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented",
    "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,",
    "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=",
    "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
);

/// The dictionary as the draft lists it.
pub(super) static DICTIONARY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut dictionary = Vec::with_capacity(1424);
    for name in NAMES {
        let length = u32::try_from(name.len()).unwrap_or_default();
        dictionary.extend_from_slice(&length.to_be_bytes());
        dictionary.extend_from_slice(name.as_bytes());
    }
    dictionary.extend_from_slice(VALUES.as_bytes());
    dictionary
});

/// The draft's dictionary with the trailing NUL some peers include.
static WITH_NUL: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut dictionary = DICTIONARY.clone();
    dictionary.push(0);
    dictionary
});

/// Every dictionary a peer may have compressed with, the draft's first.
pub(super) fn variants() -> [&'static [u8]; 2] {
    [DICTIONARY.as_slice(), WITH_NUL.as_slice()]
}

#[cfg(test)]
mod tests {
    use super::{DICTIONARY, variants};

    #[test]
    fn the_dictionary_has_the_drafts_bytes() {
        // 1423 bytes in the draft's listing, which opens "\0\0\0\x07options\0\0\0\x04head".
        assert_eq!(DICTIONARY.len(), 1423);
        assert_eq!(&DICTIONARY[..19], b"\0\0\0\x07options\0\0\0\x04head");
        assert!(DICTIONARY.ends_with(b",utf-,*,enq=0."));
        let origin = b"\0\0\0\x06origin100101201";
        assert!(DICTIONARY.windows(origin.len()).any(|w| w == origin));
        assert_eq!(variants()[1].len(), 1424);
        assert_eq!(variants()[1].last(), Some(&0));
    }
}
