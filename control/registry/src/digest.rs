//! Content digests (`sha256:<64 hex>`): parsing what clients send and computing what was
//! received. Only sha256 is served; any other algorithm is `DIGEST_INVALID`, as the spec lets a
//! registry refuse algorithms it does not support.

use sha2::{Digest as _, Sha256};

use crate::error::RegistryError;

/// A validated sha256 digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(text: &str) -> Result<Digest, RegistryError> {
        let Some((algorithm, hex)) = text.split_once(':') else {
            return Err(RegistryError::DigestInvalid(format!(
                "{text:?} is not <algorithm>:<hex>"
            )));
        };
        if algorithm != "sha256" {
            return Err(RegistryError::DigestInvalid(format!(
                "digest algorithm {algorithm:?} is not supported (sha256 is)"
            )));
        }
        let well_formed = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !well_formed {
            return Err(RegistryError::DigestInvalid(format!(
                "{text:?} is not sha256 followed by 64 lowercase hex digits"
            )));
        }
        Ok(Digest {
            hex: hex.to_owned(),
        })
    }

    /// The sha256 digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Fails with `DIGEST_INVALID` unless `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> Result<(), RegistryError> {
        let actual = Digest::of(bytes);
        if &actual == self {
            Ok(())
        } else {
            Err(RegistryError::DigestInvalid(format!(
                "expected {self}, the content's digest is {actual}"
            )))
        }
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

#[cfg(test)]
mod tests {
    use super::Digest;

    #[test]
    fn digests_parse_only_in_canonical_sha256_form() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(Digest::of(b"").to_string(), empty);
        assert_eq!(Digest::parse(empty).unwrap(), Digest::of(b""));
        for bad in [
            "e3b0c442",
            "sha512:e3b0",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:e3b0",
            "sha256:zzb0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            let e = Digest::parse(bad).unwrap_err();
            assert_eq!(e.code(), "DIGEST_INVALID", "{bad}");
        }
    }

    #[test]
    fn verify_refuses_other_content() {
        let d = Digest::of(b"hello");
        assert!(d.verify(b"hello").is_ok());
        assert_eq!(d.verify(b"hellp").unwrap_err().code(), "DIGEST_INVALID");
    }
}
