//! Raft's hot RPCs (append-entries, vote, pre-vote) over long-lived upgraded connections.
//!
//! Each call used to be an HTTP/2 request: a hop into hyper's connection task on the sending
//! side and a freshly spawned request task on the receiving side, about 140 µs each way on a
//! busy 2-CPU machine — a large share of a 3-replica write. Here a replica opens TLS connections
//! to a peer, upgrades each once from HTTP/1.1 (`GET /raft/stream`, `Upgrade: skiff-raft`, with
//! the cluster secret, so the router authenticates it like any `/raft/*` call), and then writes
//! length-prefixed frames on it: one request, one answer, written and read by the calling task
//! itself. Idle connections wait in a per-peer pool.
//!
//! The leader's read-index probes (`replica::confirm`) ride the same streams.
//!
//! Frames: a request is `u32 length (big-endian) | u8 kind | body`, an answer `u32 length |
//! body`; bodies are `codec`-encoded, as on the HTTP path. Snapshots, forwarded writes and
//! read-index requests stay on HTTP.

mod client;
mod server;

pub(crate) use client::StreamPool;
pub use server::accept;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::peer_client::MAX_PEER_BODY;

/// The value of the `Upgrade` header that asks for a Raft stream.
pub(crate) const UPGRADE_PROTOCOL: &str = "skiff-raft";
/// The path the upgrade request goes to.
pub const PATH_STREAM: &str = "/raft/stream";

/// Which RPC a request frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Append = 1,
    Vote = 2,
    PreVote = 3,
    /// A read-index confirmation: does the receiver still follow this leader? (`confirm`)
    ReadProbe = 4,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Append),
            2 => Some(Kind::Vote),
            3 => Some(Kind::PreVote),
            4 => Some(Kind::ReadProbe),
            _ => None,
        }
    }
}

/// Writes one frame: the length of `head` + `body`, then both, in a single write.
async fn write_frame<W: AsyncWrite + Unpin>(
    io: &mut W,
    head: Option<u8>,
    body: &[u8],
) -> std::io::Result<()> {
    let len = body.len() + usize::from(head.is_some());
    let len = u32::try_from(len).map_err(|_| too_large(len))?;
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend(head);
    frame.extend_from_slice(body);
    io.write_all(&frame).await?;
    io.flush().await
}

/// Reads one frame's content (everything after the length).
async fn read_frame<R: AsyncRead + Unpin>(io: &mut R) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_PEER_BODY {
        return Err(too_large(len));
    }
    let mut content = vec![0u8; len];
    io.read_exact(&mut content).await?;
    Ok(content)
}

fn too_large(len: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("a raft stream frame of {len} bytes exceeds the {MAX_PEER_BODY}-byte limit"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip_and_oversized_lengths_are_refused() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        write_frame(&mut a, Some(Kind::Vote as u8), b"hello")
            .await
            .expect("write");
        write_frame(&mut a, None, b"").await.expect("write");
        let first = read_frame(&mut b).await.expect("read");
        assert_eq!(Kind::from_byte(first[0]), Some(Kind::Vote));
        assert_eq!(&first[1..], b"hello");
        assert!(read_frame(&mut b).await.expect("read").is_empty());

        a.write_all(&u32::MAX.to_be_bytes()).await.expect("write");
        let err = read_frame(&mut b).await.expect_err("too large");
        assert!(err.to_string().contains("exceeds"), "{err}");
        assert_eq!(Kind::from_byte(9), None);
    }
}
