//! Upgrade negotiation by table: kubectl's two handshakes, and the refusals.

use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};

use super::{Framing, Transport, negotiate, switching};

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

const SPDY: [(&str, &str); 3] = [
    ("connection", "Upgrade"),
    ("upgrade", "SPDY/3.1"),
    ("x-stream-protocol-version", "portforward.k8s.io"),
];

const WEBSOCKET: [(&str, &str); 5] = [
    ("connection", "Upgrade"),
    ("upgrade", "websocket"),
    ("sec-websocket-version", "13"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("sec-websocket-protocol", "SPDY/3.1+portforward.k8s.io"),
];

#[test]
fn kubectls_handshakes_are_accepted() {
    assert_eq!(
        negotiate(Version::HTTP_11, &Method::POST, &headers(&SPDY)),
        Ok(Transport::Spdy)
    );
    let websocket = negotiate(Version::HTTP_11, &Method::GET, &headers(&WEBSOCKET));
    // RFC 6455's own example key and answer.
    let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned();
    assert_eq!(
        websocket,
        Ok(Transport::WebSocket {
            accept: accept.clone()
        })
    );
    let answer = switching(&Transport::WebSocket { accept });
    assert_eq!(answer.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        answer.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(
        answer.headers()["sec-websocket-protocol"],
        "SPDY/3.1+portforward.k8s.io"
    );
    let answer = switching(&Transport::Spdy);
    assert_eq!(answer.headers()["upgrade"], "SPDY/3.1");
    assert_eq!(
        answer.headers()["x-stream-protocol-version"],
        "portforward.k8s.io"
    );
}

/// The headers of `from` but `skip`.
fn without(skip: &str, from: &[(&'static str, &'static str)]) -> HeaderMap {
    let kept: Vec<_> = from.iter().copied().filter(|(n, _)| *n != skip).collect();
    headers(&kept)
}

/// HTTP version, method, headers; the status and words of the refusal.
type Case = (Version, Method, HeaderMap, u16, &'static str);

fn check_refusals(cases: Vec<Case>) {
    for (version, method, given, code, words) in cases {
        let refused = negotiate(version, &method, &given).unwrap_err();
        assert_eq!(refused.code, code, "{given:?}");
        let message = &refused.message;
        assert!(message.contains(words), "{message}: wanted {words:?}");
    }
}

#[test]
fn wrong_spdy_handshakes_are_refused_in_kubes_words() {
    let other_protocol = headers(&[
        ("connection", "Upgrade"),
        ("upgrade", "SPDY/3.1"),
        ("x-stream-protocol-version", "v4.channel.k8s.io"),
    ]);
    let missing = "missing upgrade headers";
    let post = Method::POST;
    check_refusals(vec![
        (Version::HTTP_2, post.clone(), headers(&SPDY), 400, missing),
        (
            Version::HTTP_11,
            post.clone(),
            without("connection", &SPDY),
            400,
            missing,
        ),
        (
            Version::HTTP_11,
            post.clone(),
            without("upgrade", &SPDY),
            400,
            missing,
        ),
        (
            Version::HTTP_11,
            post.clone(),
            without("x-stream-protocol-version", &SPDY),
            400,
            "X-Stream-Protocol-Version is required",
        ),
        (
            Version::HTTP_11,
            post,
            other_protocol,
            403,
            "client supports [v4.channel.k8s.io], server accepts [portforward.k8s.io]",
        ),
    ]);
}

#[test]
fn wrong_websocket_handshakes_are_refused_in_kubes_words() {
    let no_protocol = without("sec-websocket-protocol", &WEBSOCKET);
    let no_key = without("sec-websocket-key", &WEBSOCKET);
    check_refusals(vec![
        (
            Version::HTTP_11,
            Method::POST,
            headers(&WEBSOCKET),
            400,
            "must be a GET",
        ),
        (
            Version::HTTP_11,
            Method::GET,
            no_protocol,
            400,
            "no tunneling spdy protocols provided",
        ),
        (
            Version::HTTP_11,
            Method::GET,
            no_key,
            400,
            "Sec-WebSocket-Key is required",
        ),
    ]);
}

#[test]
fn channel_protocols_are_chosen_from_the_clients_offer_unless_spdy_is_offered() {
    let offer = |protocols: &'static str| {
        let mut given = without("sec-websocket-protocol", &WEBSOCKET);
        given.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(protocols),
        );
        negotiate(Version::HTTP_11, &Method::GET, &given)
    };
    let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned();
    let cases: [(&str, Option<&str>); 5] = [
        ("v4.channel.k8s.io", Some("v4.channel.k8s.io")),
        // The Python client's and older clients' offers: the first the server speaks.
        (
            "v4.base64.channel.k8s.io, v4.channel.k8s.io",
            Some("v4.base64.channel.k8s.io"),
        ),
        ("x.k8s.io, channel.k8s.io", Some("channel.k8s.io")),
        ("portforward.k8s.io", Some("portforward.k8s.io")),
        ("v5.channel.k8s.io", None),
    ];
    for (offered, chosen) in cases {
        let expected = chosen.map(|protocol| Transport::Channel {
            accept: accept.clone(),
            protocol: Framing::PROTOCOLS
                .iter()
                .map(|(p, _)| *p)
                .find(|p| *p == protocol)
                .unwrap_or_default(),
        });
        assert_eq!(offer(offered).ok(), expected, "{offered}");
    }
    let both = offer("v4.channel.k8s.io, SPDY/3.1+portforward.k8s.io");
    assert_eq!(both, Ok(Transport::WebSocket { accept }));
}
