//! A stored object read for the watch cache without decoding it whole: the part selectors read
//! ([`read_selector_view`]), and its JSON with `resourceVersion` set ([`with_resource_version`]),
//! spliced into the stored bytes.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// The part of the JSON object in `bytes` that label and field selectors can read: every
/// string, number and boolean reached through objects alone, read without building the lists.
/// A selector's path never passes through a list (`Value::get` of a name in a list is `None`),
/// and a missing field, `null`, an object and a list all read as `""`, so dropping lists and
/// nulls changes no match, and labels (an object of strings) stay whole. `None` if `bytes` is
/// not JSON.
pub(crate) fn read_selector_view(bytes: &[u8]) -> Option<Value> {
    let view: View = serde_json::from_slice(bytes).ok()?;
    Some(view.0.unwrap_or(Value::Null))
}

/// `stored` (an object as `objects::encode` wrote it) with `metadata.resourceVersion` set to
/// `revision`, byte for byte what encoding the decoded object with it set gives: keys stay
/// sorted, and every value other than `metadata` is copied as it is. `None` if `stored` is not a
/// JSON object.
pub(crate) fn with_resource_version(stored: &[u8], revision: u64) -> Option<Vec<u8>> {
    let mut top: BTreeMap<String, &RawValue> = serde_json::from_slice(stored).ok()?;
    let Some(metadata) = top.get("metadata") else {
        return Some(stored.to_vec());
    };
    let Ok(mut fields) = serde_json::from_str::<BTreeMap<String, &RawValue>>(metadata.get()) else {
        // `metadata` is not an object: nothing to set, as `objects::set_resource_version`.
        return Some(stored.to_vec());
    };
    let version = RawValue::from_string(format!("\"{revision}\"")).ok()?;
    fields.insert("resourceVersion".to_owned(), &version);
    let metadata = RawValue::from_string(serde_json::to_string(&fields).ok()?).ok()?;
    top.insert("metadata".to_owned(), &metadata);
    let mut out = Vec::with_capacity(stored.len() + 32);
    serde_json::to_writer(&mut out, &top).ok()?;
    Some(out)
}

/// A value as the selector view keeps it: `None` for a list or `null`, which the view drops.
struct View(Option<Value>);

impl<'de> Deserialize<'de> for View {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ViewVisitor)
    }
}

struct ViewVisitor;

impl<'de> Visitor<'de> for ViewVisitor {
    type Value = View;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<View, E> {
        Ok(View(Some(Value::Bool(v))))
    }

    fn visit_i64<E>(self, v: i64) -> Result<View, E> {
        Ok(View(Some(Value::Number(v.into()))))
    }

    fn visit_u64<E>(self, v: u64) -> Result<View, E> {
        Ok(View(Some(Value::Number(v.into()))))
    }

    fn visit_f64<E>(self, v: f64) -> Result<View, E> {
        Ok(View(Number::from_f64(v).map(Value::Number)))
    }

    fn visit_str<E>(self, v: &str) -> Result<View, E> {
        Ok(View(Some(Value::String(v.to_owned()))))
    }

    fn visit_string<E>(self, v: String) -> Result<View, E> {
        Ok(View(Some(Value::String(v))))
    }

    fn visit_unit<E>(self) -> Result<View, E> {
        Ok(View(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<View, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(View(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<View, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if let View(Some(value)) = map.next_value()? {
                fields.insert(key, value);
            }
        }
        Ok(View(Some(Value::Object(fields))))
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
