//! Serving a wasi:http proxy component: one fresh instance per request from the
//! pre-instantiated component, on a real loopback listener published at the pod's IP:port.

use crate::error::RuntimeError;
use crate::host::{HostState, configure_store};
use crate::spec::TerminationReason;
use crate::usage::{Metered, UsageCounters};
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wasmtime::{Engine, Store};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Builds the store data for one request, and the counters its CPU time is charged to.
pub type MakeState =
    Arc<dyn Fn() -> Result<(HostState, Arc<UsageCounters>), RuntimeError> + Send + Sync>;

struct Handler {
    engine: Engine,
    pre: ProxyPre<HostState>,
    make_state: MakeState,
}

type Response = hyper::Response<HyperOutgoingBody>;

fn error_response(status: u16, msg: String) -> Response {
    let body = http_body_util::Full::new(bytes::Bytes::from(msg))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut resp = hyper::Response::new(body);
    *resp.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

impl Handler {
    async fn handle(&self, req: hyper::Request<hyper::body::Incoming>) -> Response {
        match self.try_handle(req).await {
            Ok(resp) => resp,
            Err(msg) => {
                tracing::warn!(error = %msg, "http guest failed a request");
                error_response(500, format!("guest failed: {msg}\n"))
            }
        }
    }

    async fn try_handle(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> Result<Response, String> {
        let (state, usage) = (self.make_state)().map_err(|e| e.to_string())?;
        let mut store = Store::new(&self.engine, state);
        configure_store(&mut store);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let req = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .map_err(|e| e.to_string())?;
        let out = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| e.to_string())?;
        let pre = self.pre.clone();
        // The guest keeps running after sending the head (it streams the body), so it runs
        // in its own task; the task ends when the guest returns or traps.
        let guest = Box::pin(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, req, out)
                .await
        });
        let task = tokio::spawn(Metered::new(guest, usage));
        match receiver.await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(code)) => Err(format!("guest answered with error {code:?}")),
            Err(_) => match task.await {
                Ok(Ok(())) => Err("guest never set a response".into()),
                Ok(Err(e)) => Err(format!("{e:#}")),
                Err(e) => Err(e.to_string()),
            },
        }
    }
}

/// Serves until `stop` (stop accepting, drain in-flight) or `kill` (abort everything).
/// Returns `Exited { 0 }` after a drain, `Interrupted` when killed.
pub async fn serve(
    engine: Engine,
    pre: ProxyPre<HostState>,
    listeners: Vec<TcpListener>,
    make_state: MakeState,
    stop: CancellationToken,
    kill: CancellationToken,
) -> TerminationReason {
    let handler = Arc::new(Handler {
        engine,
        pre,
        make_state,
    });
    let mut accepts = JoinSet::new();
    for listener in listeners {
        let handler = handler.clone();
        let stop = stop.clone();
        accepts.spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                let (stream, _) = tokio::select! {
                    r = listener.accept() => match r { Ok(s) => s, Err(_) => continue },
                    () = stop.cancelled() => break,
                };
                // Reap finished connections so the set stays as large as the open ones.
                while conns.try_join_next().is_some() {}
                // Guests write the head and body separately: without this, Nagle plus
                // delayed ACKs can hold a small response back for 40 ms.
                let _ = stream.set_nodelay(true);
                let handler = handler.clone();
                let stop = stop.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let handler = handler.clone();
                        async move { Ok::<_, std::convert::Infallible>(handler.handle(req).await) }
                    });
                    let conn = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), svc);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        () = stop.cancelled() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            while conns.join_next().await.is_some() {}
        });
    }
    // Each accept task drains its own connections before it ends.
    let drained = async { while accepts.join_next().await.is_some() {} };
    tokio::select! {
        () = drained => TerminationReason::Exited { code: 0 },
        () = kill.cancelled() => TerminationReason::Interrupted,
    }
}
