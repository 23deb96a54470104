//! The values below a message in `transcode`: lists, string-keyed maps and scalars, read from
//! serde_json's stream and written as `encode` writes them from a `Value` (a string directly,
//! other scalars through `encode::scalar_bare` with a `Value` that allocates nothing), and the
//! check of an object's apiVersion and kind (`Equals`).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::plan::{Scalar, Type};
use super::transcode::{One, Role};
use super::{encode, wire};

/// A repeated field's JSON array: each item with its key, or packed scalars in one record.
pub(super) struct ListVisitor<'b> {
    pub(super) number: u32,
    pub(super) ty: Type,
    pub(super) packed: bool,
    pub(super) buf: &'b mut Vec<u8>,
}

impl<'de> Visitor<'de> for ListVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let bare = self.packed && matches!(self.ty, Type::Scalar(_));
        let packed_at = bare.then(|| wire::begin(self.buf, self.number));
        loop {
            let item = One {
                number: (!bare).then_some(self.number),
                ty: self.ty,
                null_ok: false,
                role: Role::Plain,
                buf: &mut *self.buf,
            };
            if seq.next_element_seed(item)?.is_none() {
                break;
            }
        }
        if let Some(at) = packed_at {
            wire::end(self.buf, at);
        }
        Ok(())
    }
}

/// A map field's JSON object: one entry message (key 1, value 2) per key, the keys in the
/// order a `Value`'s sorted map gives them (else an error: the caller takes the `Value` path).
pub(super) struct MapVisitor<'b> {
    pub(super) number: u32,
    pub(super) ty: Type,
    pub(super) buf: &'b mut Vec<u8>,
}

impl<'de> Visitor<'de> for MapVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut previous: Option<String> = None;
        loop {
            let key = EntryKey {
                number: self.number,
                previous: &mut previous,
                buf: &mut *self.buf,
            };
            let Some(at) = map.next_key_seed(key)? else {
                return Ok(());
            };
            map.next_value_seed(One {
                number: Some(2),
                ty: self.ty,
                null_ok: false,
                role: Role::Plain,
                buf: &mut *self.buf,
            })?;
            wire::end(self.buf, at);
        }
    }
}

/// A map entry's key: starts the entry record and writes the key; its value is the record's
/// placeholder for `wire::end`.
struct EntryKey<'b> {
    number: u32,
    previous: &'b mut Option<String>,
    buf: &'b mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for EntryKey<'_> {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for EntryKey<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        match self.previous {
            Some(previous) if key <= previous.as_str() => {
                return Err(E::custom("map keys out of order"));
            }
            Some(previous) => {
                previous.clear();
                previous.push_str(key);
            }
            None => *self.previous = Some(key.to_owned()),
        }
        let at = wire::begin(self.buf, self.number);
        wire::put_bytes(self.buf, 1, key.as_bytes());
        Ok(at)
    }
}

/// A scalar, with its key unless `number` is `None` (a packed item).
pub(super) struct ScalarVisitor<'b> {
    pub(super) scalar: Scalar,
    pub(super) number: Option<u32>,
    pub(super) null_ok: bool,
    pub(super) buf: &'b mut Vec<u8>,
}

impl ScalarVisitor<'_> {
    fn put<E: de::Error>(self, json: &Value) -> Result<(), E> {
        if let Some(number) = self.number {
            wire::put_key(self.buf, number, encode::wire_type(self.scalar));
        }
        encode::scalar_bare(self.scalar, json, self.buf).map_err(E::custom)
    }
}

impl<'de> Visitor<'de> for ScalarVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "a {:?}", self.scalar)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if self.null_ok {
            return Ok(());
        }
        self.put(&Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.put(&Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.put(&Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.put(&Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.put(&Value::from(v))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        if self.scalar != Scalar::String {
            return self.put(&Value::String(text.to_owned()));
        }
        if let Some(number) = self.number {
            wire::put_key(self.buf, number, wire::LEN);
        }
        wire::put_varint(self.buf, text.len() as u64);
        self.buf.extend_from_slice(text.as_bytes());
        Ok(())
    }
}

/// A string value that must equal `.0`: whether it does.
pub(super) struct Equals<'r>(pub(super) &'r str);

impl<'de> DeserializeSeed<'de> for Equals<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Equals<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<bool, E> {
        Ok(text == self.0)
    }
}
