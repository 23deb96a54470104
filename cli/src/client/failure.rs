//! What a client verb's failure reads like: kubectl's words where kubectl has them
//! (`Error from server (NotFound): deployments.apps "x" not found`; an Invalid object's
//! message alone), and for an unreachable cluster the URL and the kubeconfig that named it.
//! Every failure exits with code 1, as kubectl's do.

/// Why a verb failed, worded for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The server answered with a Status.
    #[error("{}", server_line(.reason, .message))]
    Server {
        code: u16,
        reason: String,
        message: String,
    },
    /// No answer from the server.
    #[error("Unable to connect to the server at {url} (from {source_desc}): {cause}")]
    Unreachable {
        url: String,
        source_desc: String,
        cause: String,
    },
    /// The kubeconfig could not be read or used.
    #[error("error: {0}")]
    Config(String),
    /// The command line or an input file is wrong.
    #[error("error: {0}")]
    Usage(String),
    /// The verb printed its errors as they happened (several objects); only the exit code is
    /// left to give.
    #[error("")]
    Reported,
}

/// kubectl's line for a Status: Invalid objects print their message alone (it starts with
/// `The Kind "name" is invalid`), the rest `Error from server (Reason): message`.
fn server_line(reason: &str, message: &str) -> String {
    match reason {
        "Invalid" => message.to_owned(),
        "" => format!("Error from server: {message}"),
        reason => format!("Error from server ({reason}): {message}"),
    }
}

impl Failure {
    pub fn from_kube(error: kube::Error, url: &str, source: &str) -> Failure {
        match error {
            kube::Error::Api(status) => Failure::Server {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => Failure::Unreachable {
                url: url.to_owned(),
                source_desc: source.to_owned(),
                cause: chain(&other),
            },
        }
    }

    /// The server said NotFound.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Failure::Server { code: 404, .. })
    }
}

/// An error and its causes on one line, skipping causes its text already carries.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = e.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_kubectl_prints_them() {
        let cases = [
            (
                "NotFound",
                "deployments.apps \"x\" not found",
                "Error from server (NotFound): deployments.apps \"x\" not found",
            ),
            (
                "AlreadyExists",
                "pods \"p\" already exists",
                "Error from server (AlreadyExists): pods \"p\" already exists",
            ),
            (
                "Invalid",
                "The Deployment \"x\" is invalid: spec.replicas: Invalid value: -1",
                "The Deployment \"x\" is invalid: spec.replicas: Invalid value: -1",
            ),
            ("", "boom", "Error from server: boom"),
        ];
        for (reason, message, want) in cases {
            let failure = Failure::Server {
                code: 400,
                reason: reason.into(),
                message: message.into(),
            };
            assert_eq!(failure.to_string(), want);
        }
    }
}
