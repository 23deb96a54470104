//! JSON patch (RFC 6902: add, remove, replace, move, copy, test) with RFC 6901 pointers.
//! Decoding failures are `BadRequest`; operations that do not apply are `Invalid`, as
//! kube-apiserver answers them.

use serde_json::Value;

use super::PatchError;
use super::pointer::{add, get, parse_pointer, remove, show};

/// kube-apiserver's cap on operations in one JSON patch.
pub const MAX_OPERATIONS: usize = 10_000;

/// Cap on the JSON nodes `copy` may add in one patch (other operations add at most the
/// body's own size): without it, a few hundred bytes of repeated `copy` of the root double the object each time.
/// kube-apiserver bounds the same thing in bytes (`AccumulatedCopySizeLimit`).
pub const MAX_COPIED_NODES: usize = 1 << 20;

/// One decoded operation.
#[derive(Clone, Debug, PartialEq)]
enum Op {
    Add(Vec<String>, Value),
    Remove(Vec<String>),
    Replace(Vec<String>, Value),
    Move {
        from: Vec<String>,
        path: Vec<String>,
    },
    Copy {
        from: Vec<String>,
        path: Vec<String>,
    },
    Test(Vec<String>, Value),
}

/// Applies the JSON patch document `patch` (already parsed) to `doc`.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let ops = decode(patch)?;
    let mut copied = 0usize;
    for (i, op) in ops.into_iter().enumerate() {
        apply_op(doc, op, &mut copied)
            .map_err(|m| PatchError::invalid(format!("operation {i}: {m}")))?;
    }
    Ok(())
}

fn decode(patch: &Value) -> Result<Vec<Op>, PatchError> {
    let Value::Array(items) = patch else {
        return Err(PatchError::bad(
            "a JSON patch must be an array of operations",
        ));
    };
    if items.len() > MAX_OPERATIONS {
        return Err(PatchError::bad(format!(
            "the JSON patch has {} operations, more than the limit of {MAX_OPERATIONS}",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            decode_op(item).map_err(|m| PatchError::bad(format!("operation {i}: {m}")))
        })
        .collect()
}

fn decode_op(item: &Value) -> Result<Op, String> {
    let Value::Object(obj) = item else {
        return Err("an operation must be an object".into());
    };
    let op = obj
        .get("op")
        .and_then(Value::as_str)
        .ok_or("missing \"op\"")?;
    let pointer = |name: &str| -> Result<Vec<String>, String> {
        let s = obj
            .get(name)
            .and_then(Value::as_str)
            .ok_or(format!("missing \"{name}\""))?;
        parse_pointer(s)
    };
    let value = || {
        obj.get("value")
            .cloned()
            .ok_or_else(|| "missing \"value\"".to_owned())
    };
    Ok(match op {
        "add" => Op::Add(pointer("path")?, value()?),
        "remove" => Op::Remove(pointer("path")?),
        "replace" => Op::Replace(pointer("path")?, value()?),
        "test" => Op::Test(pointer("path")?, value()?),
        "move" => Op::Move {
            from: pointer("from")?,
            path: pointer("path")?,
        },
        "copy" => Op::Copy {
            from: pointer("from")?,
            path: pointer("path")?,
        },
        other => return Err(format!("unknown op {other:?}")),
    })
}

/// Counts `v`'s nodes, stopping once past `limit`.
fn nodes(v: &Value, limit: usize) -> usize {
    let mut count = 1;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        for c in children {
            count += 1;
            if count > limit {
                return count;
            }
            stack.push(c);
        }
    }
    count
}

fn charge(copied: &mut usize, v: &Value) -> Result<(), String> {
    *copied += nodes(v, MAX_COPIED_NODES);
    if *copied > MAX_COPIED_NODES {
        return Err(format!(
            "the patch copies more than {MAX_COPIED_NODES} JSON values"
        ));
    }
    Ok(())
}

fn apply_op(doc: &mut Value, op: Op, copied: &mut usize) -> Result<(), String> {
    match op {
        Op::Add(path, value) => add(doc, &path, value),
        Op::Remove(path) => remove(doc, &path).map(drop),
        Op::Replace(path, value) => {
            if get(doc, &path).is_none() {
                return Err(format!(
                    "replace operation does not apply: doc is missing key: {}",
                    show(&path)
                ));
            }
            match path.is_empty() {
                true => *doc = value,
                false => {
                    remove(doc, &path)?;
                    add(doc, &path, value)?;
                }
            }
            Ok(())
        }
        Op::Move { from, path } => {
            if path.len() > from.len() && path.starts_with(&from) {
                return Err(format!(
                    "cannot move {} into its own child {}",
                    show(&from),
                    show(&path)
                ));
            }
            let value = remove(doc, &from)?;
            add(doc, &path, value)
        }
        Op::Copy { from, path } => {
            let value = get(doc, &from)
                .cloned()
                .ok_or_else(|| format!("copy from a missing path: {}", show(&from)))?;
            charge(copied, &value)?;
            add(doc, &path, value)
        }
        Op::Test(path, value) => match get(doc, &path) {
            Some(found) if json_equal(found, &value) => Ok(()),
            _ => Err(format!("testing value {} failed: test failed", show(&path))),
        },
    }
}

/// RFC 6902 equality: numbers compare by value (`1` equals `1.0`), objects ignore key order.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
