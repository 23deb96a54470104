//! The cluster join token (`K10<ca-sha256>::server:<secret>`, as k3s), the agent token derived
//! from it (`K10<ca-sha256>::node:<secret>`) and opaque bearer tokens.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::ca::ClusterCa;

const PREFIX: &str = "K10";
/// Label in the derivation of the agent secret from the cluster secret.
const AGENT_SECRET_LABEL: &[u8] = b"skiff agent token v1\0";
/// Length of a sha256 fingerprint in hex.
const FINGERPRINT_LEN: usize = 64;

/// What is wrong with a join token string. Names the part so the user knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("join token is empty")]
    Empty,
    #[error(
        "join token must start with \"K10\" when it contains \"::\" (K10<ca-sha256>::server:<secret>)"
    )]
    BadPrefix,
    #[error("join token CA hash must be {FINGERPRINT_LEN} lowercase hex characters, got {0:?}")]
    BadCaHash(String),
    #[error(
        "join token must continue \"::server:<secret>\" or \"::node:<secret>\" after the CA hash, got user {0:?}"
    )]
    BadUser(String),
    #[error(
        "this is an agent token (\"::node:\"), which only node agents join with; a replica needs the server token (<data-dir>/token)"
    )]
    AgentToken,
    #[error("join token secret is missing")]
    MissingSecret,
    #[error("join token secret must not contain whitespace or ':'")]
    BadSecret,
}

/// Whom a token admits: replicas and nodes (`server`, the cluster secret), or nodes only
/// (`node`, the agent token, as k3s' `--agent-token`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRole {
    Server,
    Node,
}

impl TokenRole {
    fn user(self) -> &'static str {
        match self {
            TokenRole::Server => "server",
            TokenRole::Node => "node",
        }
    }
}

/// A parsed join token. Without a CA hash (the short form, just the secret) it does not pin
/// the cluster CA, and joining with it needs an explicit insecure opt-in.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinToken {
    ca_fingerprint: Option<String>,
    role: TokenRole,
    secret: String,
}

impl fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinToken")
            .field("ca_fingerprint", &self.ca_fingerprint)
            .field("role", &self.role)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl JoinToken {
    /// A fresh token pinning `ca`, with a secret of 32 random bytes in hex.
    pub fn generate(ca: &ClusterCa) -> Self {
        Self::pinned(ca.fingerprint(), random_hex_32())
    }

    /// A token pinning the CA with fingerprint `ca_fingerprint` (lowercase hex sha256).
    pub fn pinned(ca_fingerprint: &str, secret: String) -> Self {
        Self {
            ca_fingerprint: Some(ca_fingerprint.to_ascii_lowercase()),
            role: TokenRole::Server,
            secret,
        }
    }

    /// The agent token of this cluster token: the same CA pin, role `node`, and a secret
    /// derived one-way from this one (SHA-256), so every replica computes the same agent
    /// token and an agent token does not reveal the cluster secret.
    pub fn agent_token(&self) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(AGENT_SECRET_LABEL);
        hasher.update(self.secret.as_bytes());
        Self {
            ca_fingerprint: self.ca_fingerprint.clone(),
            role: TokenRole::Node,
            secret: hex::encode(hasher.finalize()),
        }
    }

    /// Parses the full form `K10<ca-sha256-hex>::server:<secret>` or the short form `<secret>`.
    pub fn parse(s: &str) -> Result<Self, TokenError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TokenError::Empty);
        }
        let Some((head, creds)) = s.split_once("::") else {
            check_secret(s)?;
            return Ok(Self {
                ca_fingerprint: None,
                role: TokenRole::Server,
                secret: s.to_owned(),
            });
        };
        let hash = head.strip_prefix(PREFIX).ok_or(TokenError::BadPrefix)?;
        if hash.len() != FINGERPRINT_LEN
            || !hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(TokenError::BadCaHash(hash.to_owned()));
        }
        let (user, secret) = creds.split_once(':').ok_or(TokenError::MissingSecret)?;
        let role = match user {
            "server" => TokenRole::Server,
            "node" => TokenRole::Node,
            _ => return Err(TokenError::BadUser(user.to_owned())),
        };
        check_secret(secret)?;
        Ok(Self {
            ca_fingerprint: Some(hash.to_owned()),
            role,
            secret: secret.to_owned(),
        })
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// This token, if it is a server token.
    pub fn require_server(self) -> Result<Self, TokenError> {
        match self.role {
            TokenRole::Server => Ok(self),
            TokenRole::Node => Err(TokenError::AgentToken),
        }
    }

    /// Whom the token admits (a short token is taken as a server token).
    pub fn role(&self) -> TokenRole {
        self.role
    }

    /// The pinned CA's sha256 fingerprint (lowercase hex), or `None` for a short token.
    pub fn ca_fingerprint(&self) -> Option<&str> {
        self.ca_fingerprint.as_deref()
    }

    /// Whether `presented` is this token's secret, compared in constant time.
    pub fn secret_matches(&self, presented: &str) -> bool {
        ct_eq(self.secret.as_bytes(), presented.as_bytes())
    }
}

impl fmt::Display for JoinToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.ca_fingerprint {
            Some(hash) => write!(f, "{PREFIX}{hash}::{}:{}", self.role.user(), self.secret),
            None => f.write_str(&self.secret),
        }
    }
}

impl FromStr for JoinToken {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn check_secret(secret: &str) -> Result<(), TokenError> {
    if secret.is_empty() {
        return Err(TokenError::MissingSecret);
    }
    if secret.chars().any(|c| c.is_whitespace() || c == ':') {
        return Err(TokenError::BadSecret);
    }
    Ok(())
}

/// An opaque bearer token (admin, node or service): 32 random bytes in hex.
pub fn generate_bearer_token() -> String {
    random_hex_32()
}

fn random_hex_32() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Constant-time equality for secrets: the time taken depends only on the lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn full_token_round_trips() {
        let s = format!("K10{HASH}::server:s3cret");
        let t = JoinToken::parse(&s).unwrap();
        assert_eq!(t.ca_fingerprint(), Some(HASH));
        assert_eq!(t.secret(), "s3cret");
        assert_eq!(t.to_string(), s);
        assert!(t.secret_matches("s3cret"));
        assert!(!t.secret_matches("s3creT"));
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn agent_token_pins_the_same_ca_and_hides_the_secret() {
        let server = JoinToken::parse(&format!("K10{HASH}::server:s3cret")).unwrap();
        let agent = server.agent_token();
        assert_eq!(agent.role(), TokenRole::Node);
        assert_eq!(agent.ca_fingerprint(), Some(HASH));
        assert_ne!(agent.secret(), server.secret());
        assert_eq!(agent.secret().len(), 64);
        assert_eq!(
            agent,
            server.agent_token(),
            "derived the same way every time"
        );
        let text = agent.to_string();
        assert!(text.starts_with(&format!("K10{HASH}::node:")), "{text}");
        assert_eq!(JoinToken::parse(&text).unwrap(), agent);
    }

    #[test]
    fn short_token_does_not_pin() {
        let t = JoinToken::parse("  abc123\n").unwrap();
        assert_eq!(t.ca_fingerprint(), None);
        assert_eq!(t.secret(), "abc123");
        assert_eq!(t.to_string(), "abc123");
    }

    #[test]
    fn generated_token_pins_the_ca() {
        let ca = ClusterCa::generate().unwrap();
        let t = JoinToken::generate(&ca);
        assert_eq!(t.ca_fingerprint(), Some(ca.fingerprint()));
        assert_eq!(t.secret().len(), 64);
        assert_eq!(JoinToken::parse(&t.to_string()).unwrap(), t);
    }

    #[test]
    fn bad_tokens_name_the_bad_part() {
        let cases = [
            ("", TokenError::Empty),
            ("   ", TokenError::Empty),
            (&format!("K11{HASH}::server:x"), TokenError::BadPrefix),
            ("K10abc::server:x", TokenError::BadCaHash("abc".into())),
            (
                &format!("K10{}::server:x", HASH.to_uppercase()),
                TokenError::BadCaHash(HASH.to_uppercase()),
            ),
            (
                &format!("K10{HASH}::agent:x"),
                TokenError::BadUser("agent".into()),
            ),
            (&format!("K10{HASH}::server"), TokenError::MissingSecret),
            (&format!("K10{HASH}::server:"), TokenError::MissingSecret),
            (&format!("K10{HASH}::server:a b"), TokenError::BadSecret),
            ("user:pass", TokenError::BadSecret),
        ];
        for (input, want) in cases {
            assert_eq!(JoinToken::parse(input), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn ct_eq_compares_bytes() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
        assert_ne!(generate_bearer_token(), generate_bearer_token());
    }
}
