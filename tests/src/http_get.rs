//! One plain HTTP/1.1 GET over loopback TCP, as a browser or curl would send it to a
//! NodePort or a port-forward: [`http_get`]. No client library, so the bytes on the wire are
//! exactly the request line and the headers written here.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one GET may take, connect and answer together.
const GET_LIMIT: Duration = Duration::from_secs(20);

/// GETs `path` from `addr` (`Connection: close`) and returns the whole answer, head and body;
/// fails unless its status is 200.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    ensure!(
        addr.ip().is_loopback(),
        "tests send real traffic only to loopback, not {addr}"
    );
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: app\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        anyhow::Ok(answer)
    };
    let answer = tokio::time::timeout(GET_LIMIT, exchange)
        .await
        .with_context(|| format!("GET {path} from {addr}: no answer within {GET_LIMIT:?}"))??;
    ensure!(
        answer.starts_with("HTTP/1.1 200"),
        "GET {path} from {addr}: {answer}"
    );
    Ok(answer)
}
