//! On-disk and on-wire encoding of store records: postcard behind a one-byte format version.
//!
//! Every value that the store writes into redb or sends to a peer goes through `encode` and
//! `decode`, so a file written by an incompatible build is refused with a clear error instead of
//! being misread.

use std::io::{self, Write};

use serde::{Serialize, de::DeserializeOwned};

/// Bumped whenever `types.rs` or any stored record changes shape.
pub const FORMAT_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("record is empty")]
    Empty,
    #[error("record has format version {found}, this build reads version {FORMAT_VERSION}")]
    Version { found: u8 },
    #[error("record is malformed: {0}")]
    Malformed(#[from] postcard::Error),
}

impl From<CodecError> for std::io::Error {
    fn from(e: CodecError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    // Serializing plain data into a Vec cannot fail: postcard errors only on sinks that run out
    // of space or on serde impls that reject themselves, and none of the store's types do.
    out = postcard::to_extend(value, out).expect("postcard encoding into a Vec is infallible");
    out
}

/// As [`encode`], into a buffer that starts with room for `capacity` bytes: a big value
/// (a snapshot) then grows without copying itself over and over.
pub fn encode_with_capacity<T: Serialize + ?Sized>(value: &T, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity.max(1));
    out.push(FORMAT_VERSION);
    // Infallible into a Vec, as in `encode`.
    out = postcard::to_extend(value, out).expect("postcard encoding into a Vec is infallible");
    out
}

/// As [`encode`], written to `writer` instead of a buffer: the same bytes.
pub fn encode_to<T: Serialize + ?Sized>(value: &T, mut writer: impl Write) -> io::Result<()> {
    writer.write_all(&[FORMAT_VERSION])?;
    postcard::to_io(value, writer).map_err(io::Error::other)?;
    Ok(())
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::Version { found: version });
    }
    Ok(postcard::from_bytes(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{KeyValue, Op, Request, Txn};

    #[test]
    fn round_trips_and_refuses_foreign_versions() {
        let req = Request::Txn(Txn {
            ops: vec![Op::create("/a", b"x".to_vec())],
        });
        let bytes = encode(&req);
        assert_eq!(decode::<Request>(&bytes).unwrap(), req);

        let mut bad = bytes.clone();
        bad[0] = 99;
        assert!(matches!(
            decode::<Request>(&bad),
            Err(CodecError::Version { found: 99 })
        ));
        assert!(matches!(decode::<Request>(&[]), Err(CodecError::Empty)));
        assert!(matches!(
            decode::<KeyValue>(&bytes[..2]),
            Err(CodecError::Malformed(_))
        ));
    }
}
