//! Joining a cluster, k3s-style (the client side of `/work/prompts/join-protocol.md`):
//! fetch the CA from `GET <server>/cacerts` without verifying the connection and check its
//! sha256 against the pin in the token, then `POST <server>/skiff/v1/node-join` over HTTPS
//! verified against that CA, with the token's secret as bearer. The answer is the node's
//! [`Credential`].
//!
//! One attempt, no retry loop: every failure is a one-line [`JoinError`] for the person
//! running `skiff agent`.

mod https;
mod token;

pub use token::{JoinToken, TokenError};

use crate::credential::Credential;
use http::StatusCode;
use std::time::Duration;

/// Each of the two requests must finish within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The path of the join endpoint.
pub const JOIN_PATH: &str = "/skiff/v1/node-join";

/// Why joining failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("server URL {url:?} is invalid: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("TLS with {url} failed: {reason}")]
    Tls { url: String, reason: String },
    #[error("{url}/cacerts did not answer with a PEM certificate")]
    NotPem { url: String },
    #[error(
        "the server at {url} presents cluster CA sha256:{presented}, but the token pins \
         sha256:{expected}: wrong token or wrong cluster"
    )]
    CaMismatch {
        url: String,
        expected: String,
        presented: String,
    },
    #[error("the server at {url} refused the join token (401 Unauthorized): {message}")]
    Unauthorized { url: String, message: String },
    #[error("node name {name:?} is taken (409 Conflict): {message}")]
    NameTaken { name: String, message: String },
    #[error("node name {name:?} was refused (400 Bad Request): {message}")]
    BadName { name: String, message: String },
    #[error("{url}{JOIN_PATH} answered {status}: {message}")]
    Refused {
        url: String,
        status: StatusCode,
        message: String,
    },
    #[error("{url}{JOIN_PATH} answered 200 with something that is not a node credential: {reason}")]
    BadAnswer { url: String, reason: String },
}

/// Joins the cluster at `server` as node `name` with the join token `token`.
pub async fn join(server: &str, token: &str, name: &str) -> Result<Credential, JoinError> {
    let token = JoinToken::parse(token)?;
    let url = server.trim_end_matches('/');
    let target = https::Target::parse(url)?;
    let ca_pem = https::fetch_pinned_ca(&target, token.ca_fingerprint()).await?;
    let body = serde_json::json!({ "nodeName": name }).to_string();
    let (status, answer) =
        https::post_verified(&target, &ca_pem, JOIN_PATH, token.secret(), body).await?;
    let message = || one_line(&answer);
    match status {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(JoinError::Unauthorized {
                url: url.to_owned(),
                message: message(),
            });
        }
        StatusCode::CONFLICT => {
            return Err(JoinError::NameTaken {
                name: name.to_owned(),
                message: message(),
            });
        }
        StatusCode::BAD_REQUEST => {
            return Err(JoinError::BadName {
                name: name.to_owned(),
                message: message(),
            });
        }
        status => {
            return Err(JoinError::Refused {
                url: url.to_owned(),
                status,
                message: message(),
            });
        }
    }
    let bad = |reason: String| JoinError::BadAnswer {
        url: url.to_owned(),
        reason,
    };
    let mut credential: Credential =
        serde_json::from_slice(&answer).map_err(|e| bad(e.to_string()))?;
    if credential.token.is_empty() {
        return Err(bad("no token".into()));
    }
    if credential.ca_cert.is_empty() {
        credential.ca_cert = ca_pem;
    }
    // The server joined through comes first: it is known to be reachable from here.
    credential
        .servers
        .retain(|s| s.trim_end_matches('/') != url);
    credential.servers.insert(0, url.to_owned());
    Ok(credential)
}

/// A server's text (or Status JSON) answer as one short line.
fn one_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.into_owned());
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None if line.is_empty() => "(no message)".into(),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn answers_become_one_short_line() {
        let table: [(&[u8], &str); 4] = [
            (b"wrong token\n", "wrong token"),
            (
                br#"{"kind":"Status","message":"Unauthorized"}"#,
                "Unauthorized",
            ),
            (b"", "(no message)"),
            (b"a\n\n b  c", "a b c"),
        ];
        for (body, want) in table {
            assert_eq!(super::one_line(body), want);
        }
        assert_eq!(super::one_line(&[b'x'; 500]).len(), 303);
    }
}
