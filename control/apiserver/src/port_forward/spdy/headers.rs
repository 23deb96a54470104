//! SPDY/3 name/value header blocks: a 32-bit count, then each name and value behind its
//! 32-bit length (a value holding several values separates them with NUL), compressed with
//! one zlib stream per direction for the whole session, primed with the SPDY dictionary and
//! sync-flushed after every block. [`HeaderDecoder`] and [`HeaderEncoder`] keep that state.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::dictionary::{DICTIONARY, variants};

/// A decompressed block larger than this is refused (kubectl's blocks are under 100 bytes).
pub(crate) const MAX_HEADER_BLOCK: usize = 64 << 10;

/// Why a header block could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeaderError {
    #[error("the header block is not valid zlib data: {0}")]
    Corrupt(String),
    #[error("the header block names a zlib dictionary that is not SPDY/3's (Adler-32 {0:#010x})")]
    UnknownDictionary(u32),
    #[error("the header block decompresses to more than {MAX_HEADER_BLOCK} bytes")]
    TooLarge,
    #[error("the header block is cut short")]
    Truncated,
    #[error("header name or value is not UTF-8")]
    NotUtf8,
    #[error("compressing a header block: {0}")]
    Compress(String),
}

/// The headers of a stream, names lowercased as SPDY/3 requires, in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Headers(pub(crate) Vec<(String, String)>);

impl Headers {
    /// The first value of `name` (a NUL-separated list yields its first entry).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.split('\0').next())
    }

    /// The uncompressed block.
    fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let count = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (name, value) in &self.0 {
            for field in [name.to_ascii_lowercase().as_bytes(), value.as_bytes()] {
                let length = u32::try_from(field.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(field);
            }
        }
        out
    }

    /// Parses an uncompressed block.
    fn parse(block: &[u8]) -> Result<Headers, HeaderError> {
        let mut cursor = Cursor(block);
        let count = cursor.word()?;
        // Each pair takes at least 8 bytes: a count beyond that is a lie, not an allocation.
        if count > block.len() / 8 {
            return Err(HeaderError::Truncated);
        }
        let mut pairs = Vec::with_capacity(count);
        for _ in 0..count {
            let name = cursor.field()?.to_ascii_lowercase();
            let value = cursor.field()?;
            pairs.push((name, value));
        }
        Ok(Headers(pairs))
    }
}

/// Reads a block front to back, never past its end.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], HeaderError> {
        let (head, tail) = self.0.split_at_checked(n).ok_or(HeaderError::Truncated)?;
        self.0 = tail;
        Ok(head)
    }

    fn word(&mut self) -> Result<usize, HeaderError> {
        let bytes: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| HeaderError::Truncated)?;
        usize::try_from(u32::from_be_bytes(bytes)).map_err(|_| HeaderError::TooLarge)
    }

    fn field(&mut self) -> Result<String, HeaderError> {
        let length = self.word()?;
        String::from_utf8(self.take(length)?.to_vec()).map_err(|_| HeaderError::NotUtf8)
    }
}

/// The receiving side's zlib stream.
pub(crate) struct HeaderDecoder {
    inflate: Decompress,
}

impl HeaderDecoder {
    pub(crate) fn new() -> HeaderDecoder {
        HeaderDecoder {
            inflate: Decompress::new(true),
        }
    }

    /// Decompresses and parses the next block of the session.
    pub(crate) fn decode(&mut self, compressed: &[u8]) -> Result<Headers, HeaderError> {
        Headers::parse(&self.inflate_block(compressed)?)
    }

    fn inflate_block(&mut self, input: &[u8]) -> Result<Vec<u8>, HeaderError> {
        let mut out = Vec::with_capacity(256);
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_HEADER_BLOCK {
                    return Err(HeaderError::TooLarge);
                }
                out.reserve(out.len());
            }
            let (in_before, out_before) = (self.inflate.total_in(), out.len());
            let result =
                self.inflate
                    .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync);
            consumed += usize::try_from(self.inflate.total_in() - in_before).unwrap_or(0);
            let progressed = self.inflate.total_in() != in_before || out.len() != out_before;
            match result {
                Ok(Status::StreamEnd) => {
                    return Err(HeaderError::Corrupt("the zlib stream ended".into()));
                }
                Ok(_) => {}
                Err(e) => match e.needs_dictionary() {
                    Some(id) => {
                        self.prime(id)?;
                        continue;
                    }
                    None => return Err(HeaderError::Corrupt(e.to_string())),
                },
            }
            if out.len() < out.capacity() {
                if consumed == input.len() {
                    return Ok(out);
                }
                if !progressed {
                    return Err(HeaderError::Truncated);
                }
            }
        }
    }

    /// The peer's stream asks for dictionary `id`: gives it SPDY's, if that is the one.
    fn prime(&mut self, id: u32) -> Result<(), HeaderError> {
        for dictionary in variants() {
            if self.inflate.set_dictionary(dictionary).is_ok() {
                return Ok(());
            }
        }
        Err(HeaderError::UnknownDictionary(id))
    }
}

/// The sending side's zlib stream.
pub(crate) struct HeaderEncoder {
    deflate: Compress,
}

impl HeaderEncoder {
    pub(crate) fn new() -> Result<HeaderEncoder, HeaderError> {
        let mut deflate = Compress::new(Compression::default(), true);
        deflate
            .set_dictionary(&DICTIONARY)
            .map_err(|e| HeaderError::Compress(e.to_string()))?;
        Ok(HeaderEncoder { deflate })
    }

    /// Serializes and compresses the next block of the session.
    pub(crate) fn encode(&mut self, headers: &Headers) -> Result<Vec<u8>, HeaderError> {
        let input = headers.serialize();
        let mut out = Vec::with_capacity(input.len() + 64);
        let mut consumed = 0;
        loop {
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(&input[consumed..], &mut out, FlushCompress::Sync)
                .map_err(|e| HeaderError::Compress(e.to_string()))?;
            consumed += usize::try_from(self.deflate.total_in() - before).unwrap_or(0);
            if consumed == input.len() && out.len() < out.capacity() {
                return Ok(out);
            }
            out.reserve(256);
        }
    }
}

#[cfg(test)]
mod tests;
