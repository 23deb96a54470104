//! The join token an agent is given: `K10<ca-sha256-hex>::node:<secret>` (the server's
//! `agent-token`), or the server's own `K10<ca-sha256-hex>::server:<secret>`, as k3s accepts
//! both. The CA hash pins the cluster CA; a token without one is refused, since the agent
//! could not tell the real server from a man in the middle.

use std::fmt;

/// Length of a sha256 fingerprint in hex.
const FINGERPRINT_LEN: usize = 64;

/// What is wrong with a token string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the join token is empty")]
    Empty,
    #[error(
        "the join token pins no cluster CA: use the full K10<ca-sha256>::node:<secret> token \
         from the server's <data-dir>/agent-token"
    )]
    Unpinned,
    #[error("the join token must start with \"K10\" (K10<ca-sha256>::node:<secret>)")]
    BadPrefix,
    #[error("the join token's CA hash must be {FINGERPRINT_LEN} lowercase hex characters")]
    BadCaHash,
    #[error("the join token's user must be \"node\" or \"server\", got {0:?}")]
    BadUser(String),
    #[error("the join token has no secret after \"::node:\"")]
    MissingSecret,
}

/// A parsed join token.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    ca_fingerprint: String,
    secret: String,
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinToken")
            .field("ca_fingerprint", &self.ca_fingerprint)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl JoinToken {
    pub fn parse(text: &str) -> Result<JoinToken, TokenError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TokenError::Empty);
        }
        let Some((head, creds)) = text.split_once("::") else {
            return Err(TokenError::Unpinned);
        };
        let hash = head.strip_prefix("K10").ok_or(TokenError::BadPrefix)?;
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if hash.len() != FINGERPRINT_LEN || !hash.bytes().all(hex) {
            return Err(TokenError::BadCaHash);
        }
        let (user, secret) = creds.split_once(':').ok_or(TokenError::MissingSecret)?;
        if user != "node" && user != "server" {
            return Err(TokenError::BadUser(user.to_owned()));
        }
        if secret.is_empty() || secret.contains(|c: char| c.is_whitespace() || c == ':') {
            return Err(TokenError::MissingSecret);
        }
        Ok(JoinToken {
            ca_fingerprint: hash.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// The pinned CA's sha256 (lowercase hex of the DER certificate).
    pub fn ca_fingerprint(&self) -> &str {
        &self.ca_fingerprint
    }

    /// What the agent presents as `Authorization: Bearer` to `/skiff/v1/node-join`.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_or_name_the_part_that_is_wrong() {
        let hash = "ab".repeat(32);
        let table: Vec<(String, Result<&str, TokenError>)> = vec![
            (format!("K10{hash}::node:s3cret"), Ok("s3cret")),
            (format!(" K10{hash}::server:s3cret\n"), Ok("s3cret")),
            (String::new(), Err(TokenError::Empty)),
            ("s3cret".into(), Err(TokenError::Unpinned)),
            (format!("K11{hash}::node:s"), Err(TokenError::BadPrefix)),
            ("K10abc::node:s".into(), Err(TokenError::BadCaHash)),
            (
                format!("K10{}::node:s", "AB".repeat(32)),
                Err(TokenError::BadCaHash),
            ),
            (
                format!("K10{hash}::admin:s"),
                Err(TokenError::BadUser("admin".into())),
            ),
            (format!("K10{hash}::node:"), Err(TokenError::MissingSecret)),
            (format!("K10{hash}::node"), Err(TokenError::MissingSecret)),
            (
                format!("K10{hash}::node:a:b"),
                Err(TokenError::MissingSecret),
            ),
        ];
        for (text, want) in table {
            let got = JoinToken::parse(&text);
            assert_eq!(
                got.as_ref().map(JoinToken::secret),
                want.as_ref().copied(),
                "{text:?}"
            );
            if let Ok(t) = got {
                assert_eq!(t.ca_fingerprint(), hash);
                assert!(
                    !format!("{t:?}").contains("s3cret"),
                    "Debug hides the secret"
                );
            }
        }
    }
}
