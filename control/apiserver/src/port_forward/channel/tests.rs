//! The channel protocol's framing, channel demux and ports, by table.

use bytes::Bytes;
use tokio_tungstenite::tungstenite::Message;

use super::{FrameError, Framing, channel_port, port_prefix, requested_ports};

#[test]
fn the_port_prefix_is_two_bytes_little_endian_on_its_channel() {
    let cases: [(Framing, u8, u16, Message); 4] = [
        (Framing::Binary, 0, 80, Message::binary(vec![0, 80, 0])),
        (
            Framing::Binary,
            3,
            8080,
            Message::binary(vec![3, 0x90, 0x1f]),
        ),
        (Framing::Base64, 0, 80, Message::text("0UAA=")),
        (Framing::Base64, 1, 443, Message::text("1uwE=")),
    ];
    for (framing, channel, port, expected) in cases {
        let encoded = framing.encode(channel, &port_prefix(port));
        assert_eq!(
            encoded, expected,
            "{framing:?} channel {channel} port {port}"
        );
    }
}

#[test]
fn client_messages_are_demultiplexed_by_channel() {
    type Case = (
        Framing,
        Message,
        Result<Option<(u8, &'static [u8])>, FrameError>,
    );
    let cases: Vec<Case> = vec![
        (
            Framing::Binary,
            Message::binary(b"\x00GET /".to_vec()),
            Ok(Some((0, b"GET /"))),
        ),
        (
            Framing::Binary,
            Message::binary(b"\x02hi".to_vec()),
            Ok(Some((2, b"hi"))),
        ),
        // A channel byte alone, or nothing, carries no data.
        (Framing::Binary, Message::binary(vec![0]), Ok(None)),
        (Framing::Binary, Message::binary(Vec::new()), Ok(None)),
        (
            Framing::Base64,
            Message::text("0aGk="),
            Ok(Some((0, b"hi"))),
        ),
        (Framing::Base64, Message::text("2"), Ok(None)),
        (
            Framing::Base64,
            Message::text("xaGk="),
            Err(FrameError::BadChannel('x')),
        ),
        (
            Framing::Binary,
            Message::text("0aGk="),
            Err(FrameError::WrongKind("text", Framing::Binary)),
        ),
        (
            Framing::Base64,
            Message::binary(vec![0, 1]),
            Err(FrameError::WrongKind("binary", Framing::Base64)),
        ),
        (Framing::Binary, Message::Ping(Bytes::new()), Ok(None)),
    ];
    for (framing, message, expected) in cases {
        let shown = format!("{framing:?} {message:?}");
        let decoded = framing.decode(message);
        let expected = expected.map(|o| o.map(|(c, d)| (c, Bytes::from_static(d))));
        assert_eq!(decoded, expected, "{shown}");
    }
    assert!(matches!(
        Framing::Base64.decode(Message::text("0!!")),
        Err(FrameError::BadBase64(_))
    ));
}

#[test]
fn channels_belong_to_ports_data_even_error_odd() {
    let cases = [
        (0, (0, true)),
        (1, (0, false)),
        (2, (1, true)),
        (5, (2, false)),
    ];
    for (channel, expected) in cases {
        assert_eq!(channel_port(channel), expected, "channel {channel}");
    }
}

#[test]
fn ports_come_from_the_query_or_are_refused() {
    let ok: [(&str, Vec<u16>); 4] = [
        ("ports=80", vec![80]),
        ("ports=80&ports=8080", vec![80, 8080]),
        ("ports=80%2C8080", vec![80, 8080]),
        ("port=443&pretty=true", vec![443]),
    ];
    for (query, expected) in ok {
        assert_eq!(
            requested_ports(Some(query), Framing::Binary).ok(),
            Some(expected),
            "{query}"
        );
    }
    let refused = [
        (None, "query parameter \"ports\" is required"),
        (Some("ports="), "cannot be empty"),
        (Some("ports=http"), "unable to parse \"http\" as a port"),
        (Some("ports=70000"), "unable to parse \"70000\" as a port"),
        (Some("ports=0"), "port \"0\" must be > 0"),
        (Some("ports=1,2,3,4,5,6"), "at most 5 ports"),
    ];
    for (query, words) in refused {
        let error = requested_ports(query, Framing::Base64).expect_err(words);
        assert_eq!(error.code, 400, "{query:?}");
        let message = &error.message;
        assert!(message.contains(words), "{query:?}: {message}");
    }
}

#[test]
fn subprotocols_name_their_framing() {
    assert_eq!(Framing::of("v4.channel.k8s.io"), Framing::Binary);
    assert_eq!(Framing::of("v4.base64.channel.k8s.io"), Framing::Base64);
    assert_eq!(Framing::of("base64.channel.k8s.io"), Framing::Base64);
    assert_eq!(Framing::of("portforward.k8s.io"), Framing::Binary);
}
