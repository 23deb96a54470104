//! The pin check against a generated CA, and a handshake with a certificate no root trusts.

use super::*;
use rustls::pki_types::PrivateKeyDer;
use rustls::{ClientConnection, Connection, ServerConfig, ServerConnection};

fn self_signed() -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let cert = rcgen::generate_simple_self_signed(vec!["joined.example".into()]).unwrap();
    let der = cert.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    (cert.cert.pem(), der, key)
}

#[test]
fn the_pin_is_the_sha256_of_the_first_certificate() {
    let (pem, der, _) = self_signed();
    let pin = fingerprint(&der);
    assert_eq!(pin.len(), 64);
    assert!(
        pin.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert_eq!(check_pin(&pem, &pin), Ok(pin.clone()));
    let (other_pem, other_der, _) = self_signed();
    assert_eq!(
        check_pin(&other_pem, &pin),
        Err(PinMismatch::OtherCa {
            presented: fingerprint(&other_der)
        })
    );
    assert_eq!(
        check_pin("not a certificate", &pin),
        Err(PinMismatch::NotPem)
    );
    assert_eq!(first_cert(&format!("{pem}{other_pem}")), Some(der));
}

#[test]
fn the_fetch_config_completes_a_handshake_with_an_untrusted_certificate() {
    let (_, der, key) = self_signed();
    let server_config = ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let client_config = cacerts_fetch_config(&[b"http/1.1"]).unwrap();
    assert_eq!(client_config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    let name = ServerName::try_from("anything.example").unwrap();
    let client = ClientConnection::new(Arc::new(client_config), name).unwrap();
    let server = ServerConnection::new(Arc::new(server_config)).unwrap();
    let (mut client, mut server) = (Connection::Client(client), Connection::Server(server));
    for _ in 0..10 {
        if !client.is_handshaking() && !server.is_handshaking() {
            break;
        }
        transfer(&mut client, &mut server);
        transfer(&mut server, &mut client);
    }
    assert!(!client.is_handshaking(), "the handshake completed");
    let presented = client.peer_certificates().unwrap();
    assert_eq!(presented[0], der, "the client saw the server's certificate");
}

/// Moves what `from` has to send into `to` and lets `to` process it.
fn transfer(from: &mut Connection, to: &mut Connection) {
    let mut bytes = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut bytes).unwrap();
    }
    let mut reader = &bytes[..];
    while !reader.is_empty() {
        to.read_tls(&mut reader).unwrap();
        to.process_new_packets().unwrap();
    }
}
