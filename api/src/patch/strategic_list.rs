//! Strategic merge patch on lists: merging keyed lists element by element (with `$patch:
//! delete|replace` elements), merging scalar sets, and the ordering rules — patch order,
//! then `$setElementOrder`, with server-only elements kept where the live list had them.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::PatchError;
use super::schema::{ListStrategy, Shape};
use super::strategic::{DIRECTIVE, merge_map};

/// What identifies an element: its merge key's value, or the element itself.
fn ident(v: &Value, strategy: ListStrategy) -> Option<&Value> {
    match strategy {
        ListStrategy::MergeByKey(key) => v.get(key),
        _ => Some(v),
    }
}

/// Merges the patch list `patch` into `list`.
pub(crate) fn merge_list(
    list: &mut Vec<Value>,
    patch: Vec<Value>,
    strategy: ListStrategy,
    child: Shape,
) -> Result<(), PatchError> {
    match strategy {
        ListStrategy::Replace => {
            *list = patch
                .into_iter()
                .filter(|e| e.get(DIRECTIVE).is_none())
                .collect();
            Ok(())
        }
        ListStrategy::MergeSet => {
            if patch.iter().any(|v| v.is_object() || v.is_array()) {
                return Err(PatchError::bad(
                    "a list merged as a set of scalars cannot take objects or lists",
                ));
            }
            let before = list.clone();
            list.extend(patch.iter().cloned());
            let mut seen = HashSet::with_capacity(list.len());
            list.retain(|v| seen.insert(v.to_string()));
            order_by_patch(list, &before, &patch, strategy);
            Ok(())
        }
        ListStrategy::MergeByKey(key) => merge_keyed(list, patch, key, child),
    }
}

fn merge_keyed(
    list: &mut Vec<Value>,
    patch: Vec<Value>,
    key: &'static str,
    child: Shape,
) -> Result<(), PatchError> {
    let strategy = ListStrategy::MergeByKey(key);
    let plain = apply_element_directives(list, patch, key)?;
    let before = list.clone();
    let mut at: HashMap<String, usize> = HashMap::new();
    for (i, e) in list.iter().enumerate() {
        if let Some(id) = e.get(key) {
            at.entry(id.to_string()).or_insert(i);
        }
    }
    let mut patch_order = Vec::with_capacity(plain.len());
    for element in plain {
        let value = element.get(key).cloned().ok_or_else(|| {
            PatchError::bad(format!(
                "a list element does not contain its merge key {key:?}"
            ))
        })?;
        match at.get(&value.to_string()).and_then(|i| list.get_mut(*i)) {
            Some(Value::Object(live)) => merge_map(live, element, child)?,
            _ => {
                let mut fresh = Map::new();
                merge_map(&mut fresh, element, child)?;
                at.insert(value.to_string(), list.len());
                list.push(Value::Object(fresh));
            }
        }
        patch_order.push(Value::Object(Map::from_iter([(key.to_owned(), value)])));
    }
    order_by_patch(list, &before, &patch_order, strategy);
    Ok(())
}

/// The `$patch` directives of a keyed list's patch elements: `delete` removes the element
/// with that key, `replace` empties the list first. Returns the elements left to merge.
fn apply_element_directives(
    list: &mut Vec<Value>,
    patch: Vec<Value>,
    key: &'static str,
) -> Result<Vec<Map<String, Value>>, PatchError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for element in patch {
        let Value::Object(element) = element else {
            return Err(PatchError::bad(format!(
                "the list merged by {key:?} takes objects, not {element}"
            )));
        };
        match element.get(DIRECTIVE).map(|d| d.as_str()) {
            None => plain.push(element),
            Some(Some("delete")) => {
                let value = element.get(key).ok_or_else(|| {
                    PatchError::bad(format!(
                        "a $patch: delete element needs its merge key {key:?}"
                    ))
                })?;
                list.retain(|e| e.get(key) != Some(value));
            }
            Some(Some("replace")) => replace = true,
            Some(Some("merge")) => {}
            Some(_) => {
                return Err(PatchError::bad(format!(
                    "unknown $patch directive in list element {element:?}"
                )));
            }
        }
    }
    if replace {
        list.clear();
    }
    Ok(plain)
}

/// Elements named in `patch` come in patch order; the others keep their places from `before`.
fn order_by_patch(
    list: &mut Vec<Value>,
    before: &[Value],
    patch: &[Value],
    strategy: ListStrategy,
) {
    let wanted: Vec<&Value> = patch.iter().filter_map(|p| ident(p, strategy)).collect();
    interleave(list, before, &wanted, strategy);
}

/// `$setElementOrder`: elements it names come in its order, the others keep their places
/// from `before` (the list before this patch). `patch` is the patch list, which must follow
/// the same order.
pub(crate) fn reorder(
    list: &mut Vec<Value>,
    before: &[Value],
    patch: &[Value],
    order: &Value,
    strategy: ListStrategy,
) -> Result<(), PatchError> {
    let Value::Array(order) = order else {
        return Err(PatchError::bad("$setElementOrder must be a list"));
    };
    let wanted: Vec<&Value> = order
        .iter()
        .map(|o| {
            ident(o, strategy).ok_or_else(|| {
                PatchError::bad(format!(
                    "a $setElementOrder element lacks its merge key: {o}"
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let mut next = 0;
    for p in patch.iter().filter(|p| p.get(DIRECTIVE).is_none()) {
        let Some(id) = ident(p, strategy) else {
            continue;
        };
        match wanted.iter().skip(next).position(|w| *w == id) {
            Some(i) => next += i + 1,
            None => {
                return Err(PatchError::bad(
                    "the order of the patch list does not match its $setElementOrder list",
                ));
            }
        }
    }
    interleave(list, before, &wanted, strategy);
    Ok(())
}

/// Splits `list` into the elements `wanted` names (sorted by `wanted`) and the rest (kept in
/// order), then merges the two, taking a server-only element first only when `before` puts
/// it ahead of the next wanted one (apimachinery's `mergeSortedSlice`).
fn interleave(list: &mut Vec<Value>, before: &[Value], wanted: &[&Value], strategy: ListStrategy) {
    // Positions by serialised identity, so big lists cost O(n log n), not O(n²).
    let mut wanted_at = HashMap::new();
    for (i, w) in wanted.iter().enumerate() {
        wanted_at.entry(w.to_string()).or_insert(i);
    }
    let mut before_at = HashMap::new();
    for (i, b) in before.iter().enumerate() {
        if let Some(id) = ident(b, strategy) {
            before_at.entry(id.to_string()).or_insert(i);
        }
    }
    let find = |map: &HashMap<String, usize>, v: &Value| {
        ident(v, strategy).and_then(|id| map.get(&id.to_string()).copied())
    };
    let (mut named, rest): (Vec<Value>, Vec<Value>) = std::mem::take(list)
        .into_iter()
        .partition(|v| find(&wanted_at, v).is_some());
    named.sort_by_cached_key(|v| find(&wanted_at, v));
    let named_place: Vec<Option<usize>> = named.iter().map(|v| find(&before_at, v)).collect();
    let rest_place: Vec<Option<usize>> = rest.iter().map(|v| find(&before_at, v)).collect();
    let mut named = named.into_iter().zip(named_place).peekable();
    let mut rest = rest.into_iter().zip(rest_place).peekable();
    loop {
        let take_rest = match (rest.peek(), named.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some((_, r)), Some((_, n))) => matches!((r, n), (Some(r), Some(n)) if r < n),
        };
        let next = if take_rest { rest.next() } else { named.next() };
        list.extend(next.map(|(v, _)| v));
    }
}
