//! A session driven by a client made of this crate's own frame codec, over an in-memory
//! pipe: streams open, data flows both ways, PINGs are echoed, bad frames end the session
//! with a GOAWAY, and a stream whose reader lags stops the session reading.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::super::frame::{self, Frame, goaway, rst};
use super::super::headers::{HeaderDecoder, HeaderEncoder, Headers};
use super::{SessionError, Stream, serve};

/// The client end: writes frames, reads them back.
struct Client {
    io: DuplexStream,
    encoder: HeaderEncoder,
    decoder: HeaderDecoder,
    buffer: BytesMut,
}

impl Client {
    async fn send(&mut self, frame: Frame) {
        let mut out = BytesMut::new();
        frame::encode(&frame, &mut out, &mut self.encoder).unwrap();
        self.io.write_all(&out).await.unwrap();
    }

    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = frame::decode(&mut self.buffer, &mut self.decoder).unwrap() {
                return Some(frame);
            }
            let read =
                tokio::time::timeout(Duration::from_secs(5), self.io.read_buf(&mut self.buffer));
            if read.await.unwrap().unwrap() == 0 {
                return None;
            }
        }
    }

    async fn open(&mut self, stream: u32, port: &str) {
        let headers = Headers(vec![("port".into(), port.into())]);
        let (associated, priority, fin, unidirectional) = (0, 0, false, false);
        self.send(Frame::SynStream {
            stream,
            associated,
            priority,
            fin,
            unidirectional,
            headers,
        })
        .await;
    }
}

type Served = tokio::task::JoinHandle<Result<(), SessionError>>;

fn start(pipe: usize) -> (Client, mpsc::Receiver<Stream>, CancellationToken, Served) {
    let (near, far) = tokio::io::duplex(pipe);
    let (accepted, streams) = mpsc::channel(8);
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let served = tokio::spawn(async move {
        let (input, output) = tokio::io::split(far);
        serve(input, output, accepted, &stop).await
    });
    let client = Client {
        io: near,
        encoder: HeaderEncoder::new().unwrap(),
        decoder: HeaderDecoder::new(),
        buffer: BytesMut::new(),
    };
    (client, streams, shutdown, served)
}

#[tokio::test]
async fn a_stream_carries_data_both_ways() {
    let (mut client, mut streams, shutdown, served) = start(64 << 10);
    client.open(1, "8080").await;
    let mut stream = streams.recv().await.unwrap();
    assert_eq!((stream.id, stream.headers.get("port")), (1, Some("8080")));
    stream.out.accept().await.unwrap();
    assert!(matches!(
        client.next().await,
        Some(Frame::SynReply {
            stream: 1,
            fin: false,
            ..
        })
    ));
    let data = Bytes::from_static(b"hello");
    client
        .send(Frame::Data {
            stream: 1,
            fin: true,
            data,
        })
        .await;
    assert_eq!(
        stream.data.recv().await.unwrap(),
        Bytes::from_static(b"hello")
    );
    assert_eq!(stream.data.recv().await, None, "FIN ends the data");
    stream.out.send(Bytes::from_static(b"world")).await.unwrap();
    stream.out.finish().await.unwrap();
    let back = client.next().await.unwrap();
    assert_eq!(
        back,
        Frame::Data {
            stream: 1,
            fin: false,
            data: Bytes::from_static(b"world")
        }
    );
    assert_eq!(
        client.next().await.unwrap(),
        Frame::Data {
            stream: 1,
            fin: true,
            data: Bytes::new()
        }
    );
    client.send(Frame::Ping { id: 7 }).await;
    assert_eq!(client.next().await.unwrap(), Frame::Ping { id: 7 });
    shutdown.cancel();
    let goodbye = client.next().await.unwrap();
    assert_eq!(
        goodbye,
        Frame::GoAway {
            last_good: 1,
            status: goaway::OK
        }
    );
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn streams_with_ids_a_client_may_not_use_are_reset() {
    let (mut client, _streams, _shutdown, _served) = start(64 << 10);
    client.open(2, "80").await;
    let status = rst::PROTOCOL_ERROR;
    assert_eq!(
        client.next().await.unwrap(),
        Frame::RstStream { stream: 2, status }
    );
    client.open(5, "80").await;
    client.open(3, "80").await;
    assert_eq!(
        client.next().await.unwrap(),
        Frame::RstStream { stream: 3, status }
    );
}

#[tokio::test]
async fn garbage_ends_the_session_with_a_protocol_error() {
    let (mut client, _streams, _shutdown, served) = start(64 << 10);
    // A control frame of version 2.
    client
        .io
        .write_all(&[0x80, 0x02, 0x00, 0x06, 0, 0, 0, 4, 0, 0, 0, 1])
        .await
        .unwrap();
    let status = goaway::PROTOCOL_ERROR;
    assert_eq!(
        client.next().await.unwrap(),
        Frame::GoAway {
            last_good: 0,
            status
        }
    );
    let ended = served.await.unwrap();
    assert!(matches!(ended, Err(SessionError::Protocol(_))), "{ended:?}");
}

#[tokio::test]
async fn a_lagging_stream_stops_the_session_reading() {
    let (mut client, mut streams, _shutdown, _served) = start(4 << 10);
    client.open(1, "80").await;
    let mut stream = streams.recv().await.unwrap();
    let chunk = Bytes::from(vec![7u8; 1024]);
    let flood = async {
        for _ in 0..64 {
            let data = chunk.clone();
            client
                .send(Frame::Data {
                    stream: 1,
                    fin: false,
                    data,
                })
                .await;
        }
    };
    // The stream's queue (4 frames) and the pipe (4 KiB) fill, then the client blocks.
    let blocked = tokio::time::timeout(Duration::from_millis(300), flood).await;
    assert!(
        blocked.is_err(),
        "64 KiB went in while nobody read the stream"
    );
    let mut taken = 0;
    while let Ok(Some(data)) =
        tokio::time::timeout(Duration::from_millis(100), stream.data.recv()).await
    {
        taken += data.len();
    }
    assert!(
        taken < 24 << 10,
        "at most the queue, a read and the pipe were held: {taken}"
    );
}

#[tokio::test]
async fn window_is_granted_back_as_data_is_taken_in() {
    let (mut client, mut streams, _shutdown, _served) = start(64 << 10);
    client.open(1, "80").await;
    let mut stream = streams.recv().await.unwrap();
    stream.out.accept().await.unwrap();
    assert!(matches!(
        client.next().await,
        Some(Frame::SynReply { stream: 1, .. })
    ));
    let reading = tokio::spawn(async move {
        let mut taken = 0;
        while taken < 40 << 10 {
            taken += stream.data.recv().await.map_or(0, |d| d.len());
        }
        taken
    });
    for _ in 0..5 {
        let data = Bytes::from(vec![1u8; 8 << 10]);
        client
            .send(Frame::Data {
                stream: 1,
                fin: false,
                data,
            })
            .await;
    }
    let delta = 32 << 10;
    assert_eq!(
        client.next().await.unwrap(),
        Frame::WindowUpdate { stream: 1, delta }
    );
    assert_eq!(reading.await.unwrap(), 40 << 10);
}
