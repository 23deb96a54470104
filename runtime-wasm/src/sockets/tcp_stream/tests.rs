//! skiff's TCP streams against a real loopback peer: partial reads, EOF, write after
//! shutdown, backpressure, and 8 MiB each way with a checksum and the byte counters.

use super::*;
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasmtime_wasi_io::streams::OutputStream;

const BOUND: Duration = Duration::from_secs(30);

/// A connected pair: skiff's streams on one end, a plain tokio stream on the other.
async fn pair() -> (TcpIn, TcpOut, TcpStream, Arc<UsageCounters>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (ours, theirs) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let usage = Arc::new(UsageCounters::default());
    let conn = Conn::new(ours.unwrap(), usage.clone());
    (TcpIn(conn.clone()), TcpOut(conn), theirs.unwrap().0, usage)
}

/// Reads until `want` bytes came, waiting on the pollable whenever nothing is there.
async fn read_all(input: &mut TcpIn, want: usize, chunk: usize) -> Vec<u8> {
    let mut got = Vec::with_capacity(want);
    while got.len() < want {
        let bytes = input.read(chunk).unwrap();
        assert!(bytes.len() <= chunk.min(MAX_READ));
        if bytes.is_empty() {
            input.ready().await;
        }
        got.extend_from_slice(&bytes);
    }
    got
}

/// Writes all of `data` as a guest does: check-write, write within the permit, wait.
async fn write_all(output: &mut TcpOut, data: &[u8]) {
    let mut rest = data;
    while !rest.is_empty() {
        let permit = output.check_write().unwrap();
        if permit == 0 {
            output.ready().await;
            continue;
        }
        let n = permit.min(rest.len());
        output.write(Bytes::copy_from_slice(&rest[..n])).unwrap();
        rest = &rest[n..];
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn reads_are_partial_and_never_block() {
    tokio::time::timeout(BOUND, async {
        let (mut input, _output, mut peer, usage) = pair().await;
        assert!(input.read(100).unwrap().is_empty(), "nothing sent yet");
        peer.write_all(b"0123456789").await.unwrap();
        input.ready().await;
        let first = read_all(&mut input, 4, 4).await;
        assert_eq!(first, b"0123");
        assert_eq!(&input.read(100).unwrap()[..], b"456789");
        assert!(input.read(100).unwrap().is_empty());
        assert!(input.read(0).unwrap().is_empty());
        assert_eq!(usage.snapshot().rx_bytes, 10);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn end_of_stream_is_closed_after_the_data() {
    tokio::time::timeout(BOUND, async {
        let (mut input, _output, mut peer, _) = pair().await;
        peer.write_all(b"last words").await.unwrap();
        peer.shutdown().await.unwrap();
        assert_eq!(read_all(&mut input, 10, 64).await, b"last words");
        loop {
            match input.read(64) {
                Ok(b) if b.is_empty() => input.ready().await,
                Ok(b) => panic!("data after the end: {b:?}"),
                Err(StreamError::Closed) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert!(matches!(input.read(64), Err(StreamError::Closed)));
        // The pollable of a closed stream is ready at once.
        input.ready().await;
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn write_after_shutdown_is_closed_and_the_peer_sees_the_end() {
    tokio::time::timeout(BOUND, async {
        let (_input, mut output, mut peer, usage) = pair().await;
        write_all(&mut output, b"bye").await;
        output.0.shutdown_write();
        assert!(matches!(output.check_write(), Err(StreamError::Closed)));
        assert!(matches!(
            output.write(Bytes::from_static(b"x")),
            Err(StreamError::Closed)
        ));
        assert!(matches!(output.flush(), Err(StreamError::Closed)));
        let mut seen = Vec::new();
        peer.read_to_end(&mut seen).await.unwrap();
        assert_eq!(seen, b"bye");
        assert_eq!(usage.snapshot().tx_bytes, 3);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_full_socket_holds_back_the_permit_until_it_drains() {
    tokio::time::timeout(BOUND, async {
        let (_input, mut output, mut peer, _) = pair().await;
        // Nobody reads: the kernel's buffers fill, then one write is left in flight.
        let mut written = Vec::new();
        let mut round = 0u8;
        while output.check_write().unwrap() > 0 {
            let chunk = pattern(WRITE_PERMIT, round);
            output.write(Bytes::from(chunk.clone())).unwrap();
            written.extend_from_slice(&chunk);
            round = round.wrapping_add(1);
        }
        let too_much = output.write(Bytes::from_static(b"unpermitted"));
        assert!(matches!(too_much, Err(StreamError::Trap(_))));
        let mut seen = vec![0u8; written.len()];
        let (read, ()) = tokio::join!(peer.read_exact(&mut seen), output.ready());
        read.unwrap();
        assert!(seen == written, "bytes arrived out of order or changed");
        assert_eq!(output.check_write().unwrap(), WRITE_PERMIT);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_mebibytes_each_way_arrive_intact_and_counted() {
    tokio::time::timeout(BOUND, async {
        const LEN: usize = 8 << 20;
        let (mut input, mut output, peer, usage) = pair().await;
        let (mut peer_read, mut peer_write) = peer.into_split();
        let outgoing = pattern(LEN, 7);
        let incoming = pattern(LEN, 99);
        let expect_in = Sha256::digest(&incoming);
        let expect_out = Sha256::digest(&outgoing);
        let sender = tokio::spawn(async move { peer_write.write_all(&incoming).await });
        let receiver = tokio::spawn(async move {
            let mut seen = vec![0u8; LEN];
            peer_read.read_exact(&mut seen).await.map(|_| seen)
        });
        let (got, ()) = tokio::join!(
            read_all(&mut input, LEN, 1 << 20),
            write_all(&mut output, &outgoing)
        );
        assert_eq!(got.len(), LEN);
        assert_eq!(Sha256::digest(&got), expect_in);
        sender.await.unwrap().unwrap();
        let seen = receiver.await.unwrap().unwrap();
        assert_eq!(Sha256::digest(&seen), expect_out);
        let counted = usage.snapshot();
        assert_eq!(
            (counted.rx_bytes, counted.tx_bytes),
            (LEN as u64, LEN as u64)
        );
    })
    .await
    .unwrap();
}
