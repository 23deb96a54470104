//! `pods/exec` and `pods/attach`: streaming subresources kubectl reaches with a WebSocket
//! (then SPDY) upgrade, which a Wasm container has nothing to answer with. skiff refuses them
//! before any upgrade, as kube-apiserver refuses an exec into a missing container: a plain
//! `Status` (404 for a pod that does not exist, 400 otherwise). client-go turns a Status in
//! the answer to a failed handshake into the error kubectl prints ("Error from server
//! (BadRequest): ..."), and does not fall back to SPDY for it.
//!
//! `pods/portforward` is served, not refused: see `port_forward`.

use serde_json::Value;
use skiff_api::status::ApiError;

use super::ApiServer;
use super::request::ResourceRequest;

/// Why a streaming subresource is refused for pod `pod`.
fn refusal(sub: &str, pod: &str) -> String {
    match sub {
        "exec" => format!(
            "cannot exec into pod \"{pod}\": Wasm containers have no shell and no other \
             programs to run; skiff does not support exec"
        ),
        _ => format!(
            "cannot attach to pod \"{pod}\": Wasm containers have no shell or terminal to \
             attach to; skiff does not support attach"
        ),
    }
}

impl ApiServer {
    /// Answers `exec` or `attach` on a pod: 404 when the pod does not exist,
    /// otherwise 400 with a message saying why skiff cannot do it.
    pub(crate) async fn refuse_stream(
        &self,
        request: &ResourceRequest,
        sub: &str,
    ) -> Result<Value, ApiError> {
        let name = request.name.as_deref().unwrap_or_default();
        self.objects
            .must_get(request.info, request.namespace.as_deref(), name)
            .await?;
        Err(ApiError::bad_request(refusal(sub, name)))
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn refusals_say_why() {
        assert!(refusal("exec", "web").contains("Wasm containers have no shell"));
        assert!(refusal("attach", "web").contains("Wasm containers have no shell"));
    }
}
