//! The two targets and the one kind of request both get: a JSON POST per
//! operation — a put of one key, or a linearizable get of one key.
//!
//! etcd 3.4 is driven through its gRPC-JSON gateway (`/v3/kv/put`,
//! `/v3/kv/range`; 3.4 also serves `/v3beta/`, checked against 3.4.23), whose
//! keys and values are base64 in JSON. skiff is driven through `/kv/v1/put`
//! and `/kv/v1/range`, whose keys and values are UTF-8 strings. Both store the
//! same key and the same 256-byte value; only the encoding differs.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

/// Which store a run drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Etcd,
    Skiff,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Etcd => "etcd",
            Kind::Skiff => "skiff",
        }
    }

    pub fn put_path(self) -> &'static str {
        match self {
            Kind::Etcd => "/v3/kv/put",
            Kind::Skiff => "/kv/v1/put",
        }
    }

    pub fn range_path(self) -> &'static str {
        match self {
            Kind::Etcd => "/v3/kv/range",
            Kind::Skiff => "/kv/v1/range",
        }
    }

    /// The path answered with 200 once a replica serves.
    pub fn ready_path(self) -> &'static str {
        match self {
            Kind::Etcd => "/health",
            Kind::Skiff => "/readyz",
        }
    }

    /// `{"key":..,"value":..}`; `key` and `value` are ASCII (see [`value`]).
    pub fn put_body(self, key: &str, value: &str) -> Bytes {
        let body = match self {
            Kind::Etcd => format!(
                r#"{{"key":"{}","value":"{}"}}"#,
                B64.encode(key),
                B64.encode(value)
            ),
            Kind::Skiff => format!(r#"{{"key":"{key}","value":"{value}"}}"#),
        };
        Bytes::from(body)
    }

    /// `{"key":..}`: a linearizable read on both (etcd's default, skiff's
    /// default without `"serializable":true`).
    pub fn range_body(self, key: &str) -> Bytes {
        let body = match self {
            Kind::Etcd => format!(r#"{{"key":"{}"}}"#, B64.encode(key)),
            Kind::Skiff => format!(r#"{{"key":"{key}"}}"#),
        };
        Bytes::from(body)
    }

    /// A 200 put answer names a revision (etcd inside its `header`).
    pub fn put_ok(self, body: &[u8]) -> bool {
        contains(body, b"revision")
    }

    /// A 200 range answer that found the key has a key-value with a
    /// `mod_revision` (etcd and skiff both leave `kvs` out or empty when
    /// nothing matched).
    pub fn range_found(self, body: &[u8]) -> bool {
        contains(body, b"\"mod_revision\"")
    }
}

/// The key client `client` writes on its `seq`th put: each client has its own
/// `keys_per_client` keys, overwritten in turn. Same length for every op.
pub fn write_key(client: usize, seq: u64, keys_per_client: u64) -> String {
    format!("bench/w/c{client:04}/k{:06}", seq % keys_per_client.max(1))
}

/// The `i`th of the keys written before a read run.
pub fn read_key(i: u64) -> String {
    format!("bench/r/k{i:08}")
}

/// A `size`-byte ASCII value: the sequence number, then letters that vary
/// with the client, so no two consecutive values are equal.
pub fn value(client: usize, seq: u64, size: usize) -> String {
    let mut v = format!("{seq:016}");
    let base = b'a' + (client % 26) as u8;
    v.extend((0..size.saturating_sub(16)).map(|i| (base + (i % 7) as u8) as char));
    v.truncate(size);
    v
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_same_key_and_value() {
        let v = value(3, 42, 256);
        assert_eq!(v.len(), 256);
        let k = write_key(3, 42, 1000);
        let skiff = Kind::Skiff.put_body(&k, &v);
        let etcd = Kind::Etcd.put_body(&k, &v);
        let s: serde_json::Value = serde_json::from_slice(&skiff).unwrap();
        let e: serde_json::Value = serde_json::from_slice(&etcd).unwrap();
        assert_eq!(s["value"].as_str().unwrap(), v);
        let ev = B64.decode(e["value"].as_str().unwrap()).unwrap();
        assert_eq!(ev, v.as_bytes());
        assert_eq!(
            B64.decode(e["key"].as_str().unwrap()).unwrap(),
            k.as_bytes()
        );
    }

    #[test]
    fn answers_are_recognised() {
        let etcd_put =
            br#"{"header":{"cluster_id":"1","member_id":"2","revision":"3","raft_term":"2"}}"#;
        assert!(Kind::Etcd.put_ok(etcd_put));
        assert!(Kind::Skiff.put_ok(br#"{"revision":7}"#));
        let etcd_range = br#"{"header":{"revision":"3"},"kvs":[{"key":"Zm9v","mod_revision":"3","value":"YmFy"}],"count":"1"}"#;
        assert!(Kind::Etcd.range_found(etcd_range));
        assert!(!Kind::Etcd.range_found(br#"{"header":{"revision":"3"}}"#));
        assert!(Kind::Skiff.range_found(br#"{"revision":3,"kvs":[{"key":"k","mod_revision":3}]}"#));
        assert!(!Kind::Skiff.range_found(br#"{"revision":3,"kvs":[]}"#));
    }
}
