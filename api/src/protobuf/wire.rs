//! The protobuf wire format, written and read in place: varints, keys, length-delimited
//! records (a nested message is written into the same buffer and its length put in front
//! afterwards), and a reader that yields each record of a message.

/// Why bytes are not a protobuf message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the message ends inside a record")]
    Truncated,
    #[error("a varint longer than 10 bytes")]
    VarintTooLong,
    #[error("wire type {0} is not supported")]
    WireType(u8),
    #[error("field number 0")]
    FieldZero,
    #[error("field {0} has the wrong wire type")]
    WrongWireType(u32),
    #[error("a string is not UTF-8")]
    NotUtf8,
    #[error("messages nested deeper than {0}")]
    TooDeep(usize),
}

pub(super) const VARINT: u8 = 0;
pub(super) const FIXED64: u8 = 1;
pub(super) const LEN: u8 = 2;
pub(super) const FIXED32: u8 = 5;

pub(super) fn put_varint(buf: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        buf.push((value as u8) | 0x80);
        value >>= 7;
    }
    buf.push(value as u8);
}

pub(super) fn put_key(buf: &mut Vec<u8>, number: u32, wire_type: u8) {
    put_varint(buf, (u64::from(number) << 3) | u64::from(wire_type));
}

pub(super) fn put_bytes(buf: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_key(buf, number, LEN);
    put_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// Starts the length-delimited record `number`: the key and a one-byte length placeholder,
/// whose position `end` takes.
pub(super) fn begin(buf: &mut Vec<u8>, number: u32) -> usize {
    put_key(buf, number, LEN);
    buf.push(0);
    buf.len() - 1
}

/// Ends the record `begin` started: its length goes into the placeholder, widened (the
/// record's bytes moved up) when it does not fit one byte.
pub(super) fn end(buf: &mut Vec<u8>, placeholder: usize) {
    let len = buf.len() - placeholder - 1;
    if len < 0x80 {
        buf[placeholder] = len as u8;
        return;
    }
    let (mut prefix, mut n, mut rest) = ([0u8; 10], 0, len);
    while rest >= 0x80 {
        prefix[n] = (rest as u8) | 0x80;
        rest >>= 7;
        n += 1;
    }
    prefix[n] = rest as u8;
    // Widened by `n` bytes: the record's bytes move up once, then the length goes in front.
    let record_end = buf.len();
    buf.resize(record_end + n, 0);
    buf.copy_within(placeholder + 1..record_end, placeholder + 1 + n);
    buf[placeholder..=placeholder + n].copy_from_slice(&prefix[..=n]);
}

/// One record's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    Fixed32(u32),
}

/// The records of one message, in wire order.
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let (value, rest) = varint(self.rest)?;
        self.rest = rest;
        Ok(value)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn record(&mut self) -> Result<(u32, Wire<'a>), WireError> {
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).map_err(|_| WireError::FieldZero)?;
        if number == 0 {
            return Err(WireError::FieldZero);
        }
        let wire_type = (key & 7) as u8;
        let value = match wire_type {
            VARINT => Wire::Varint(self.varint()?),
            FIXED64 => Wire::Fixed64(u64::from_le_bytes(fixed(self.take(8)?))),
            LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| WireError::Truncated)?;
                Wire::Len(self.take(len)?)
            }
            FIXED32 => Wire::Fixed32(u32::from_le_bytes(fixed(self.take(4)?))),
            other => return Err(WireError::WireType(other)),
        };
        Ok((number, value))
    }
}

/// A varint at the start of `bytes`, and the bytes after it.
pub(super) fn varint(bytes: &[u8]) -> Result<(u64, &[u8]), WireError> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, &bytes[i + 1..]));
        }
    }
    if bytes.len() >= 10 {
        Err(WireError::VarintTooLong)
    } else {
        Err(WireError::Truncated)
    }
}

fn fixed<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    out
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, Wire<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let record = self.record();
        if record.is_err() {
            self.rest = &[];
        }
        Some(record)
    }
}

/// The UTF-8 text of a length-delimited record.
pub(super) fn text(bytes: &[u8]) -> Result<&str, WireError> {
    std::str::from_utf8(bytes).map_err(|_| WireError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_records_get_their_length_put_in_front() {
        for len in [0usize, 1, 127, 128, 300, 16_383, 16_384, 20_000] {
            // Bytes that differ, so a record moved to the wrong place shows.
            let record: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut buf = vec![9];
            let at = begin(&mut buf, 2);
            buf.extend_from_slice(&record);
            end(&mut buf, at);
            let mut reader = Reader::new(&buf[1..]);
            let (number, value) = reader.next().expect("a record").expect("valid");
            assert_eq!(number, 2);
            assert_eq!(value, Wire::Len(&record));
            assert!(reader.next().is_none());
        }
    }

    #[test]
    fn broken_records_are_errors() {
        let cases: &[(&[u8], WireError)] = &[
            (&[0x08], WireError::Truncated),
            (&[0x12, 0x05, 1], WireError::Truncated),
            (&[0x00, 0x01], WireError::FieldZero),
            (&[0x0b], WireError::WireType(3)),
            (
                &[
                    0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                ],
                WireError::VarintTooLong,
            ),
            (&[0x0d, 1, 2], WireError::Truncated),
        ];
        for (bytes, want) in cases {
            let got = Reader::new(bytes).find_map(Result::err);
            assert_eq!(got, Some(*want), "{bytes:?}");
        }
    }
}
