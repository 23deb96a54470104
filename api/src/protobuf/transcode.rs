//! JSON bytes -> message bytes with no `serde_json::Value` in between: serde_json's streaming
//! deserializer is driven by the message plans (a `DeserializeSeed` per message, field, list,
//! map entry and scalar), each key's value written as its field's bytes as it is read. JSON
//! keys come in text order and fields go out in number order (as `encode` and Go write
//! them), so a message's fields are written where they are read and, when the keys came out
//! of order, put in number order afterwards (`order`). Messages whose JSON is not their
//! message shape (`special`) or which embed an `inline` struct are read into a small `Value`
//! and written by `encode`, scalars other than strings through `encode::scalar_bare`, so the
//! bytes are `encode`'s. Anything `encode` would refuse is an error here too; so are map
//! keys out of order and repeated keys (a `Value` would have sorted or merged them), for
//! which the caller falls back to the `Value` path.

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::ProtoError;
use super::order::Fields;
use super::plan::{FieldPlan, MessagePlan, Scalar, Shape, Type, plans};
use super::transcode_values::Equals;
use super::{encode, wire};

/// What a message is besides its fields.
#[derive(Clone, Copy)]
pub(super) enum Role<'r> {
    Plain,
    /// A stored object: it must name `type_meta` (apiVersion, kind) when that is given, and
    /// its `metadata.resourceVersion` is `revision`.
    Object {
        type_meta: Option<(&'r str, &'r str)>,
        revision: u64,
    },
    /// An object's `metadata`: its `resourceVersion` is this, whatever the JSON says.
    Meta(u64),
}

/// Appends the message `plan` for the JSON text `json` (an object in `role`) to `buf`.
pub(super) fn message(
    plan: usize,
    json: &[u8],
    role: Role<'_>,
    buf: &mut Vec<u8>,
) -> Result<(), ProtoError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let seed = MessageSeed {
        plan,
        number: None,
        null_ok: false,
        role,
        buf,
    };
    seed.deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| ProtoError::field("", e.to_string()))
}

fn custom<E: de::Error>(e: ProtoError) -> E {
    E::custom(e)
}

/// One message: written as field `number` (key and length first), or bare at the top.
struct MessageSeed<'b, 'r> {
    plan: usize,
    number: Option<u32>,
    /// A null writes nothing (a field's value) instead of being an error (a list item).
    null_ok: bool,
    role: Role<'r>,
    buf: &'b mut Vec<u8>,
}

impl MessageSeed<'_, '_> {
    /// The message from a `Value`, by `encode`.
    fn write_through_value(self, json: &Value) -> Result<(), ProtoError> {
        if json.is_null() && self.null_ok {
            return Ok(());
        }
        if !matches!(self.role, Role::Plain) {
            return Err(ProtoError::field(
                "",
                "an object or metadata of a special shape",
            ));
        }
        let at = self.number.map(|n| wire::begin(self.buf, n));
        encode::message(plans(), self.plan, json, self.buf)?;
        if let Some(at) = at {
            wire::end(self.buf, at);
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let msg = plans().get(self.plan);
        if msg.special.is_some() || msg.has_inline {
            let json = Value::deserialize(d)?;
            return self.write_through_value(&json).map_err(custom);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if self.null_ok {
            return Ok(());
        }
        Err(E::custom("expected an object"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let msg = plans().get(self.plan);
        let at = self.number.map(|n| wire::begin(self.buf, n));
        let mut fields = Fields::default();
        let mut named = 0u8;
        while let Some(key) = map.next_key_seed(KeySeed {
            msg,
            role: self.role,
        })? {
            match key {
                Key::Field(field) => {
                    let start = self.buf.len();
                    let role = match self.role {
                        Role::Object { revision, .. } if field.name == "metadata" => {
                            Role::Meta(revision)
                        }
                        _ => Role::Plain,
                    };
                    let buf = &mut *self.buf;
                    map.next_value_seed(FieldSeed { field, role, buf })?;
                    fields.wrote(field.number, start, self.buf.len());
                }
                Key::TypeMeta(want, bit) if map.next_value_seed(Equals(want))? => named |= bit,
                Key::TypeMeta(..) => return Err(de::Error::custom("another apiVersion or kind")),
                Key::Skip => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match self.role {
            Role::Object {
                type_meta: Some(_), ..
            } if named != 3 => return Err(de::Error::custom("no apiVersion or kind")),
            Role::Meta(revision) => write_revision(msg, revision, &mut fields, self.buf),
            _ => {}
        }
        fields.order(self.buf).map_err(custom)?;
        if let Some(at) = at {
            wire::end(self.buf, at);
        }
        Ok(())
    }
}

/// `metadata.resourceVersion`, which stored objects leave out.
fn write_revision(msg: &MessagePlan, revision: u64, fields: &mut Fields, buf: &mut Vec<u8>) {
    if let Some(field) = msg.by_name("resourceVersion") {
        let start = buf.len();
        wire::put_bytes(buf, field.number, revision.to_string().as_bytes());
        fields.wrote(field.number, start, buf.len());
    }
}

enum Key<'r> {
    Field(&'static FieldPlan),
    /// `apiVersion` (1) or `kind` (2) of an object, which must be this.
    TypeMeta(&'r str, u8),
    Skip,
}

struct KeySeed<'r> {
    msg: &'static MessagePlan,
    role: Role<'r>,
}

impl<'de, 'r> DeserializeSeed<'de> for KeySeed<'r> {
    type Value = Key<'r>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key<'r>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, 'r> Visitor<'de> for KeySeed<'r> {
    type Value = Key<'r>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key<'r>, E> {
        if let Some(field) = self.msg.by_name(name) {
            return Ok(match self.role {
                Role::Meta(_) if name == "resourceVersion" => Key::Skip,
                _ => Key::Field(field),
            });
        }
        Ok(match (self.role, name) {
            (
                Role::Object {
                    type_meta: Some((api_version, _)),
                    ..
                },
                "apiVersion",
            ) => Key::TypeMeta(api_version, 1),
            (
                Role::Object {
                    type_meta: Some((_, kind)),
                    ..
                },
                "kind",
            ) => Key::TypeMeta(kind, 2),
            _ => Key::Skip,
        })
    }
}

/// One key's value: a single value, a list or a map.
struct FieldSeed<'b, 'r> {
    field: &'static FieldPlan,
    role: Role<'r>,
    buf: &'b mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let (number, ty, buf) = (self.field.number, self.field.ty, self.buf);
        match self.field.shape {
            Shape::Single => One {
                number: Some(number),
                ty,
                null_ok: true,
                role: self.role,
                buf,
            }
            .deserialize(d),
            Shape::List { packed } => d.deserialize_any(super::transcode_values::ListVisitor {
                number,
                ty,
                packed,
                buf,
            }),
            Shape::Map {
                key: Scalar::String,
            } => d.deserialize_any(super::transcode_values::MapVisitor { number, ty, buf }),
            Shape::Map { .. } => Err(de::Error::custom("a map whose keys are not strings")),
        }
    }
}

/// One value of field `number` (bare when `None`: a packed list's item).
pub(super) struct One<'b, 'r> {
    pub(super) number: Option<u32>,
    pub(super) ty: Type,
    pub(super) null_ok: bool,
    pub(super) role: Role<'r>,
    pub(super) buf: &'b mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for One<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.ty {
            Type::Message(plan) => MessageSeed {
                plan,
                number: self.number,
                null_ok: self.null_ok,
                role: self.role,
                buf: self.buf,
            }
            .deserialize(d),
            Type::Scalar(scalar) => d.deserialize_any(super::transcode_values::ScalarVisitor {
                scalar,
                number: self.number,
                null_ok: self.null_ok,
                buf: self.buf,
            }),
        }
    }
}
