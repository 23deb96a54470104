//! Frames by table: known wire bytes, round trips through one session's header streams, and
//! malformed input refused without a panic.

use bytes::{Bytes, BytesMut};

use super::super::headers::{HeaderDecoder, HeaderEncoder, Headers};
use super::{Frame, FrameError, MAX_FRAME, decode, encode};

fn encoded(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode(frame, &mut out, &mut HeaderEncoder::new().unwrap()).unwrap();
    out.to_vec()
}

fn decoded(bytes: &[u8]) -> Result<Option<Frame>, FrameError> {
    decode(&mut BytesMut::from(bytes), &mut HeaderDecoder::new())
}

#[test]
fn frames_without_header_blocks_have_the_drafts_bytes() {
    let cases: [(Frame, &[u8]); 6] = [
        (
            Frame::Data {
                stream: 1,
                fin: true,
                data: Bytes::from_static(b"hi"),
            },
            &[0, 0, 0, 1, 0x01, 0, 0, 2, b'h', b'i'],
        ),
        (
            Frame::Ping { id: 1 },
            &[0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1],
        ),
        (
            Frame::RstStream {
                stream: 3,
                status: 5,
            },
            &[0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 5],
        ),
        (
            Frame::GoAway {
                last_good: 7,
                status: 1,
            },
            &[0x80, 3, 0, 7, 0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 1],
        ),
        (
            Frame::WindowUpdate {
                stream: 1,
                delta: 0x8000,
            },
            &[0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0x80, 0],
        ),
        (
            Frame::Settings {
                entries: vec![(1, 7, 65536)],
            },
            &[
                0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 1, 1, 0, 0, 7, 0, 1, 0, 0,
            ],
        ),
    ];
    for (frame, wire) in cases {
        assert_eq!(encoded(&frame), wire, "{frame:?}");
        assert_eq!(decoded(wire), Ok(Some(frame)));
    }
}

#[test]
fn frames_with_header_blocks_round_trip_in_order() {
    let headers = |port: &str| {
        Headers(vec![
            ("streamtype".into(), "data".into()),
            ("port".into(), port.into()),
        ])
    };
    let frames = [
        Frame::SynStream {
            stream: 1,
            associated: 0,
            priority: 2,
            fin: false,
            unidirectional: false,
            headers: headers("80"),
        },
        Frame::SynReply {
            stream: 1,
            fin: false,
            headers: Headers::default(),
        },
        Frame::Headers {
            stream: 1,
            fin: true,
            headers: headers("81"),
        },
        Frame::SynStream {
            stream: 3,
            associated: 1,
            priority: 7,
            fin: true,
            unidirectional: true,
            headers: headers("82"),
        },
    ];
    let (mut encoder, mut decoder) = (HeaderEncoder::new().unwrap(), HeaderDecoder::new());
    let mut wire = BytesMut::new();
    for frame in &frames {
        encode(frame, &mut wire, &mut encoder).unwrap();
    }
    for frame in frames {
        assert_eq!(decode(&mut wire, &mut decoder), Ok(Some(frame)));
    }
    assert!(wire.is_empty());
}

#[test]
fn a_partial_frame_waits_for_the_rest() {
    let wire = encoded(&Frame::Data {
        stream: 5,
        fin: false,
        data: Bytes::from_static(b"abcdef"),
    });
    let mut decoder = HeaderDecoder::new();
    let mut buffer = BytesMut::from(&wire[..7]);
    assert_eq!(decode(&mut buffer, &mut decoder), Ok(None));
    buffer.extend_from_slice(&wire[7..12]);
    assert_eq!(decode(&mut buffer, &mut decoder), Ok(None));
    buffer.extend_from_slice(&wire[12..]);
    let whole = decode(&mut buffer, &mut decoder).unwrap().unwrap();
    assert_eq!(
        whole,
        Frame::Data {
            stream: 5,
            fin: false,
            data: Bytes::from_static(b"abcdef")
        }
    );
}

#[test]
fn malformed_frame_heads_are_errors_not_panics() {
    let too_long = u8::try_from((MAX_FRAME >> 16) + 1).unwrap();
    let length = usize::from(too_long) << 16;
    let cases: [(&str, &[u8], FrameError); 3] = [
        (
            "version 2",
            &[0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1],
            FrameError::Version(2),
        ),
        (
            "too long",
            &[0, 0, 0, 1, 0, too_long, 0, 0],
            FrameError::TooLong { length },
        ),
        (
            "DATA on stream 0",
            &[0, 0, 0, 0, 0, 0, 0, 0],
            FrameError::StreamZero { kind: "DATA" },
        ),
    ];
    for (what, wire, want) in cases {
        assert_eq!(decoded(wire), Err(want), "{what}");
    }
}

#[test]
fn malformed_frame_bodies_are_errors_not_panics() {
    let malformed = |kind, length| FrameError::Malformed { kind, length };
    let cases: [(&str, &[u8], FrameError); 5] = [
        (
            "short PING",
            &[0x80, 3, 0, 6, 0, 0, 0, 3, 0, 0, 1],
            malformed("PING", 3),
        ),
        (
            "RST on stream 0",
            &[0x80, 3, 0, 3, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1],
            FrameError::StreamZero { kind: "RST_STREAM" },
        ),
        (
            "SETTINGS count lies",
            &[0x80, 3, 0, 4, 0, 0, 0, 4, 0, 0, 0, 9],
            malformed("SETTINGS", 4),
        ),
        (
            "short SYN_STREAM",
            &[0x80, 3, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1],
            malformed("SYN_STREAM", 4),
        ),
        (
            "GOAWAY of 4 bytes",
            &[0x80, 3, 0, 7, 0, 0, 0, 4, 0, 0, 0, 1],
            malformed("GOAWAY", 4),
        ),
    ];
    for (what, wire, want) in cases {
        assert_eq!(decoded(wire), Err(want), "{what}");
    }
    let garbage_headers = [
        0x80, 3, 0, 1, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4,
    ];
    assert!(matches!(
        decoded(&garbage_headers),
        Err(FrameError::Headers(_))
    ));
}

#[test]
fn unknown_control_frames_are_skipped() {
    let credential = [0x80, 3, 0, 10, 0, 0, 0, 2, 9, 9];
    assert_eq!(decoded(&credential), Ok(Some(Frame::Unknown { kind: 10 })));
}

#[test]
fn random_bytes_never_panic_the_decoder() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(16);
    let mut errors = 0;
    for round in 0..20_000 {
        let length = rng.random_range(0..64);
        let mut bytes: Vec<u8> = (0..length).map(|_| rng.random()).collect();
        // Half the rounds look like SPDY/3 control frames, to reach the frame bodies.
        if round % 2 == 0 && bytes.len() >= 8 {
            bytes[0] = 0x80;
            bytes[1] = 3;
            bytes[2] = 0;
            bytes[3] = rng.random_range(1..11);
            bytes[5] = 0;
            bytes[6] = 0;
            bytes[7] = u8::try_from(bytes.len() - 8).unwrap();
        }
        let mut buffer = BytesMut::from(&bytes[..]);
        let mut decoder = HeaderDecoder::new();
        while let Ok(Some(_)) = decode(&mut buffer, &mut decoder) {}
        errors += usize::from(decode(&mut buffer, &mut decoder).is_err());
    }
    assert!(errors > 1000, "most random frames are refused: {errors}");
}
