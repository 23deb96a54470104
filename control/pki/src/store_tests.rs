//! Tests for `store`: first start, reload, SAN changes, corrupt and partial directories, joins.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

fn sans(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn first_start_creates_everything_and_reload_returns_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let first = PkiStore::load_or_init(dir.path(), &sans(&["10.0.0.1"])).unwrap();
    let p = &first.paths;
    for (path, want) in [
        (&p.ca_cert, 0o644),
        (&p.ca_key, 0o600),
        (&p.server_cert, 0o644),
        (&p.server_key, 0o600),
        (&p.token, 0o600),
        (&p.admin_token, 0o600),
        (&p.dir, 0o700),
    ] {
        assert_eq!(mode(path), want, "{}", path.display());
    }
    assert_eq!(
        first.join_token.ca_fingerprint(),
        Some(first.ca.fingerprint())
    );
    assert_eq!(
        fs::read_to_string(&p.token).unwrap().trim(),
        first.join_token.to_string()
    );

    let again = PkiStore::load_or_init(dir.path(), &sans(&["10.0.0.1"])).unwrap();
    assert_eq!(again.ca.fingerprint(), first.ca.fingerprint());
    assert_eq!(again.join_token, first.join_token);
    assert_eq!(again.admin_token, first.admin_token);
    assert_eq!(
        again.serving.cert_pem, first.serving.cert_pem,
        "unchanged SANs keep the cert"
    );
}

#[test]
fn changed_sans_reissue_the_serving_cert_and_keep_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let first = PkiStore::load_or_init(dir.path(), &sans(&["10.0.0.1", "a.example"])).unwrap();
    let ca_before = fs::read(&first.paths.ca_cert).unwrap();
    let key_before = fs::read(&first.paths.ca_key).unwrap();

    let added =
        PkiStore::load_or_init(dir.path(), &sans(&["10.0.0.1", "a.example", "10.0.0.2"])).unwrap();
    assert_ne!(added.serving.cert_pem, first.serving.cert_pem);
    let removed = PkiStore::load_or_init(dir.path(), &sans(&["10.0.0.2"])).unwrap();
    assert_ne!(
        removed.serving.cert_pem, added.serving.cert_pem,
        "a dropped SAN re-issues too"
    );

    assert_eq!(fs::read(&first.paths.ca_cert).unwrap(), ca_before);
    assert_eq!(fs::read(&first.paths.ca_key).unwrap(), key_before);
    assert_eq!(removed.ca.fingerprint(), first.ca.fingerprint());
    assert_eq!(removed.join_token, first.join_token);
}

#[test]
fn mismatched_serving_pair_is_reissued() {
    let dir = tempfile::tempdir().unwrap();
    let first = PkiStore::load_or_init(dir.path(), &[]).unwrap();
    let other = first.ca.issue_serving_cert(&[]).unwrap();
    fs::write(&first.paths.server_key, &other.key_pem).unwrap();
    let again = PkiStore::load_or_init(dir.path(), &[]).unwrap();
    assert_ne!(again.serving.cert_pem, first.serving.cert_pem);
    tls::server_config(&again.serving).unwrap();
}

#[test]
fn corrupt_ca_cert_is_an_error_naming_the_file_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let first = PkiStore::load_or_init(dir.path(), &[]).unwrap();
    let garbage = b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n".to_vec();
    fs::write(&first.paths.ca_cert, &garbage).unwrap();
    let err = PkiStore::load_or_init(dir.path(), &[]).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&first.paths.ca_cert.display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("not PEM"), "{msg}");
    assert_eq!(fs::read(&first.paths.ca_cert).unwrap(), garbage);
}

#[test]
fn ca_key_from_another_ca_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let first = PkiStore::load_or_init(dir.path(), &[]).unwrap();
    let other = ClusterCa::generate().unwrap();
    fs::write(&first.paths.ca_key, other.key_pem()).unwrap();
    let err = PkiStore::load_or_init(dir.path(), &[]).unwrap_err();
    assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("ca.key: the key does not belong to the certificate in"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&first.paths.ca_key).unwrap(),
        other.key_pem()
    );
}

#[test]
fn partial_directory_is_refused_not_regenerated() {
    let dir = tempfile::tempdir().unwrap();
    let first = PkiStore::load_or_init(dir.path(), &[]).unwrap();
    fs::remove_file(&first.paths.ca_cert).unwrap();
    fs::remove_file(&first.paths.ca_key).unwrap();
    let err = PkiStore::load_or_init(dir.path(), &[]).unwrap_err();
    assert!(matches!(err, PkiError::Partial { .. }), "{err}");
    assert!(err.to_string().contains("ca.crt: missing, but"), "{err}");
    assert!(!first.paths.ca_cert.exists() && !first.paths.ca_key.exists());

    let dir = tempfile::tempdir().unwrap();
    let first = PkiStore::load_or_init(dir.path(), &[]).unwrap();
    fs::remove_file(&first.paths.ca_key).unwrap();
    let err = PkiStore::load_or_init(dir.path(), &[]).unwrap_err();
    assert!(err.to_string().contains("ca.key: missing, but"), "{err}");
}

#[test]
fn token_pinning_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = PkiStore::load_or_init(dir.path(), &[]).unwrap();
    let other = ClusterCa::generate().unwrap();
    let foreign = JoinToken::generate(&other).to_string();
    fs::write(&first.paths.token, &foreign).unwrap();
    let err = PkiStore::load_or_init(dir.path(), &[]).unwrap_err();
    assert!(matches!(err, PkiError::TokenPinsOtherCa { .. }), "{err}");
    assert_eq!(fs::read_to_string(&first.paths.token).unwrap(), foreign);
}

#[test]
fn joined_replica_installs_the_cluster_ca_and_token() {
    let leader = tempfile::tempdir().unwrap();
    let leader = PkiStore::load_or_init(leader.path(), &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let joined = Pki::install_joined(
        dir.path(),
        leader.ca.cert_pem(),
        leader.ca.key_pem(),
        &leader.join_token,
        &sans(&["10.0.0.9"]),
    )
    .unwrap();
    assert_eq!(joined.ca.fingerprint(), leader.ca.fingerprint());
    assert_eq!(joined.join_token, leader.join_token);
    assert_ne!(joined.serving.cert_pem, leader.serving.cert_pem);
    // Joining again is a no-op.
    let token = &leader.join_token;
    Pki::install_joined(
        dir.path(),
        leader.ca.cert_pem(),
        leader.ca.key_pem(),
        token,
        &[],
    )
    .unwrap();

    let other = ClusterCa::generate().unwrap();
    let other_token = JoinToken::generate(&other);
    let err = Pki::install_joined(
        dir.path(),
        other.cert_pem(),
        other.key_pem(),
        &other_token,
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::DifferentCa { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("a different cluster CA already exists here"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&joined.paths.ca_cert).unwrap(),
        leader.ca.cert_pem()
    );

    let err =
        Pki::install_joined(dir.path(), other.cert_pem(), other.key_pem(), token, &[]).unwrap_err();
    assert!(matches!(err, PkiError::ReceivedCaNotPinned { .. }), "{err}");
}
