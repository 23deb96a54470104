//! What the codec needs to know of each message, worked out once per process from the
//! descriptor pool: its fields by number (the wire's order) and by JSON name (the object's
//! keys), each field's type as the wire writes it, and which messages have a JSON shape of
//! their own (`special`). Converting an object then reads tables instead of asking the
//! descriptors, and builds no intermediate message.

use std::collections::HashMap;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};

use super::descriptors::pool;
use super::special::Special;

/// Go structs embedded with `json:",inline"` (message, field): in JSON their fields are the
/// parent's, in protobuf one nested message. Taken from the vendored packages' `types.go`
/// (only core/v1 has any).
pub(super) const INLINE: &[(&str, &str)] = &[
    ("k8s.io.api.core.v1.Volume", "volumeSource"),
    (
        "k8s.io.api.core.v1.PersistentVolumeSpec",
        "persistentVolumeSource",
    ),
    ("k8s.io.api.core.v1.Probe", "handler"),
    (
        "k8s.io.api.core.v1.EphemeralContainer",
        "ephemeralContainerCommon",
    ),
    (
        "k8s.io.api.core.v1.SecretProjection",
        "localObjectReference",
    ),
    (
        "k8s.io.api.core.v1.ConfigMapVolumeSource",
        "localObjectReference",
    ),
    (
        "k8s.io.api.core.v1.ConfigMapProjection",
        "localObjectReference",
    ),
    (
        "k8s.io.api.core.v1.ConfigMapKeySelector",
        "localObjectReference",
    ),
    (
        "k8s.io.api.core.v1.SecretKeySelector",
        "localObjectReference",
    ),
    (
        "k8s.io.api.core.v1.ConfigMapEnvSource",
        "localObjectReference",
    ),
    ("k8s.io.api.core.v1.SecretEnvSource", "localObjectReference"),
];

/// A scalar as the wire carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scalar {
    Bool,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Float,
    Double,
    String,
    Bytes,
    /// Kubernetes messages have none; refused when written, a number when read.
    Enum,
}

/// A field's value type: a scalar, or a message (its index in `Plans::messages`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Type {
    Scalar(Scalar),
    Message(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    Single,
    /// Repeated; `packed` scalars share one length-delimited record.
    List {
        packed: bool,
    },
    /// A map: entries are messages with the key as field 1 and the value as field 2.
    Map {
        key: Scalar,
    },
}

#[derive(Debug)]
pub(super) struct FieldPlan {
    pub(super) number: u32,
    /// The field's name, which in Kubernetes' protos is its JSON name.
    pub(super) name: String,
    pub(super) ty: Type,
    pub(super) shape: Shape,
    /// An embedded Go struct (`INLINE`): its fields are the parent's in JSON.
    pub(super) inline: bool,
}

#[derive(Debug)]
pub(super) struct MessagePlan {
    pub(super) special: Option<Special>,
    /// One of its fields is `inline` (its JSON keys are shared with this message's).
    pub(super) has_inline: bool,
    /// Sorted by number.
    pub(super) fields: Vec<FieldPlan>,
    /// Index in `fields` by name. Hashed (Fx: a few multiplies for a short key) because
    /// every key of every object written goes through it: a binary search over the names
    /// was a third of a Pod's encoding, most of it in string comparisons.
    by_name: FxHashMap<String, usize>,
}

impl MessagePlan {
    pub(super) fn by_name(&self, name: &str) -> Option<&FieldPlan> {
        self.fields.get(*self.by_name.get(name)?)
    }

    pub(super) fn by_number(&self, number: u32) -> Option<&FieldPlan> {
        let at = self
            .fields
            .binary_search_by_key(&number, |f| f.number)
            .ok()?;
        self.fields.get(at)
    }
}

#[derive(Debug)]
pub(super) struct Plans {
    pub(super) messages: Vec<MessagePlan>,
    index: HashMap<String, usize>,
}

impl Plans {
    /// The plan of the message named `full_name`.
    pub(super) fn find(&self, full_name: &str) -> Option<usize> {
        self.index.get(full_name).copied()
    }

    pub(super) fn get(&self, at: usize) -> &MessagePlan {
        &self.messages[at]
    }
}

/// Every message of the pool, planned on first use.
pub(super) fn plans() -> &'static Plans {
    static PLANS: OnceLock<Plans> = OnceLock::new();
    PLANS.get_or_init(build)
}

fn build() -> Plans {
    let all: Vec<MessageDescriptor> = pool().all_messages().collect();
    let index: HashMap<String, usize> = all
        .iter()
        .enumerate()
        .map(|(i, m)| (m.full_name().to_owned(), i))
        .collect();
    let messages = all.iter().map(|m| plan_message(m, &index)).collect();
    Plans { messages, index }
}

fn plan_message(desc: &MessageDescriptor, index: &HashMap<String, usize>) -> MessagePlan {
    let mut fields: Vec<FieldPlan> = desc.fields().map(|f| plan_field(&f, index)).collect();
    fields.sort_by_key(|f| f.number);
    let by_name: FxHashMap<String, usize> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.clone(), i))
        .collect();
    MessagePlan {
        special: Special::of(desc),
        has_inline: fields.iter().any(|f| f.inline),
        fields,
        by_name,
    }
}

fn plan_field(field: &FieldDescriptor, index: &HashMap<String, usize>) -> FieldPlan {
    let shape = if field.is_map() {
        let key = match field.kind() {
            Kind::Message(entry) => scalar(&entry.map_entry_key_field().kind()),
            _ => None,
        };
        Shape::Map {
            key: key.unwrap_or(Scalar::String),
        }
    } else if field.cardinality() == Cardinality::Repeated {
        Shape::List {
            packed: field.is_packed(),
        }
    } else {
        Shape::Single
    };
    let kind = match (shape, field.kind()) {
        (Shape::Map { .. }, Kind::Message(entry)) => entry.map_entry_value_field().kind(),
        (_, kind) => kind,
    };
    let ty = match (&kind, scalar(&kind)) {
        (Kind::Message(m), _) => Type::Message(index.get(m.full_name()).copied().unwrap_or(0)),
        (_, Some(s)) => Type::Scalar(s),
        (_, None) => Type::Scalar(Scalar::Enum),
    };
    let parent = field.parent_message();
    FieldPlan {
        number: field.number(),
        name: field.name().to_owned(),
        ty,
        shape,
        inline: INLINE
            .iter()
            .any(|(m, n)| *n == field.name() && *m == parent.full_name()),
    }
}

fn scalar(kind: &Kind) -> Option<Scalar> {
    Some(match kind {
        Kind::Bool => Scalar::Bool,
        Kind::Int32 => Scalar::Int32,
        Kind::Int64 => Scalar::Int64,
        Kind::Uint32 => Scalar::Uint32,
        Kind::Uint64 => Scalar::Uint64,
        Kind::Sint32 => Scalar::Sint32,
        Kind::Sint64 => Scalar::Sint64,
        Kind::Fixed32 => Scalar::Fixed32,
        Kind::Fixed64 => Scalar::Fixed64,
        Kind::Sfixed32 => Scalar::Sfixed32,
        Kind::Sfixed64 => Scalar::Sfixed64,
        Kind::Float => Scalar::Float,
        Kind::Double => Scalar::Double,
        Kind::String => Scalar::String,
        Kind::Bytes => Scalar::Bytes,
        Kind::Enum(_) => Scalar::Enum,
        Kind::Message(_) => return None,
    })
}
