//! The kubelet's stream checks and pairing, by table.

use std::time::Duration;

use tokio::time::Instant;

use super::super::spdy::Headers;
use super::{Added, Kind, Pairs, StreamRequest, classify};

fn headers(pairs: &[(&str, &str)]) -> Headers {
    Headers(
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_ascii_lowercase(), (*v).to_owned()))
            .collect(),
    )
}

fn request(id: &str, kind: Kind, port: u16) -> StreamRequest {
    StreamRequest {
        request_id: id.to_owned(),
        kind,
        port,
    }
}

/// Headers, stream id, and what they make.
type Case = (
    &'static [(&'static str, &'static str)],
    u32,
    Result<StreamRequest, &'static str>,
);

#[test]
fn stream_headers_are_checked_in_the_kubelets_words() {
    let cases: [Case; 9] = [
        (
            &[("port", "8080"), ("streamType", "data"), ("requestID", "4")],
            3,
            Ok(request("4", Kind::Data, 8080)),
        ),
        (
            &[("port", "80"), ("streamType", "error"), ("requestID", "0")],
            1,
            Ok(request("0", Kind::Error, 80)),
        ),
        // Clients without request ids: the kubelet's derivation from the stream id.
        (
            &[("port", "80"), ("streamType", "error")],
            5,
            Ok(request("5", Kind::Error, 80)),
        ),
        (
            &[("port", "80"), ("streamType", "data")],
            7,
            Ok(request("5", Kind::Data, 80)),
        ),
        (
            &[("streamType", "data")],
            1,
            Err("\"port\" header is required"),
        ),
        (
            &[("port", "http"), ("streamType", "data")],
            1,
            Err("unable to parse \"http\" as a port: invalid digit found in string"),
        ),
        (
            &[("port", "0"), ("streamType", "data")],
            1,
            Err("port \"0\" must be > 0"),
        ),
        (
            &[("port", "80")],
            1,
            Err("\"streamType\" header is required"),
        ),
        (
            &[("port", "80"), ("streamType", "stdin")],
            1,
            Err("invalid stream type \"stdin\""),
        ),
    ];
    for (given, stream_id, want) in cases {
        let got = classify(&headers(given), stream_id);
        assert_eq!(got, want.map_err(str::to_owned), "{given:?}");
    }
}

#[test]
fn halves_pair_by_request_id_in_either_order() {
    let now = Instant::now();
    let mut pairs = Pairs::new();
    assert_eq!(
        pairs.add(request("0", Kind::Error, 80), "e0", now),
        Added::Waiting
    );
    assert_eq!(
        pairs.add(request("1", Kind::Data, 80), "d1", now),
        Added::Waiting
    );
    assert_eq!(
        pairs.add(request("0", Kind::Data, 80), "d0", now),
        Added::Complete {
            data: "d0",
            error: "e0",
            port: 80
        }
    );
    assert_eq!(
        pairs.add(request("1", Kind::Error, 80), "e1", now),
        Added::Complete {
            data: "d1",
            error: "e1",
            port: 80
        }
    );
    assert_eq!(pairs.len(), 0);
}

#[test]
fn a_second_half_of_the_same_type_is_refused_and_the_first_kept() {
    let now = Instant::now();
    let mut pairs = Pairs::new();
    assert_eq!(
        pairs.add(request("2", Kind::Data, 80), "d", now),
        Added::Waiting
    );
    assert_eq!(
        pairs.add(request("2", Kind::Data, 80), "d again", now),
        Added::Duplicate {
            stream: "d again",
            message: "error processing stream for request 2: data stream already assigned".into()
        }
    );
    assert_eq!(
        pairs.add(request("2", Kind::Error, 80), "e", now),
        Added::Complete {
            data: "d",
            error: "e",
            port: 80
        }
    );
}

#[test]
fn halves_waiting_too_long_expire() {
    let start = Instant::now();
    let mut pairs = Pairs::new();
    pairs.add(request("old", Kind::Error, 80), "e-old", start);
    let later = start + Duration::from_secs(20);
    pairs.add(request("new", Kind::Data, 80), "d-new", later);
    let timeout = Duration::from_secs(30);
    assert!(
        pairs
            .expire(start + Duration::from_secs(29), timeout)
            .is_empty()
    );
    let expired = pairs.expire(start + Duration::from_secs(31), timeout);
    assert_eq!(expired, vec![("old".to_owned(), Kind::Error, "e-old")]);
    assert_eq!(pairs.len(), 1);
}
