//! RFC 6901 JSON pointers for JSON patch: parsing and escaping, array indices, and
//! getting, adding and removing the value a pointer names.

use serde_json::Value;

/// RFC 6901: `""` is the whole document, otherwise `/`-separated tokens with `~1` for `/`
/// and `~0` for `~`.
pub fn parse_pointer(s: &str) -> Result<Vec<String>, String> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = s.strip_prefix('/') else {
        return Err(format!("path {s:?} does not start with \"/\""));
    };
    rest.split('/')
        .map(|token| {
            let mut out = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, false) => out.push(c),
                    (_, true) => match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(format!("path {s:?} has a bad \"~\" escape")),
                    },
                }
            }
            Ok(out)
        })
        .collect()
}

pub(crate) fn show(path: &[String]) -> String {
    path.iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// An array index token: digits without a leading zero.
fn index(token: &str, len: usize, allow_end: bool) -> Result<usize, String> {
    if token == "-" && allow_end {
        return Ok(len);
    }
    let valid = !token.is_empty()
        && token.bytes().all(|b| b.is_ascii_digit())
        && (token == "0" || !token.starts_with('0'));
    let i: usize = if valid {
        token
            .parse()
            .map_err(|_| format!("index {token:?} is too large"))?
    } else {
        return Err(format!("{token:?} is not an array index"));
    };
    let limit = if allow_end {
        len
    } else {
        len.saturating_sub(1)
    };
    if i > limit || (!allow_end && len == 0) {
        return Err(format!("index {i} is out of bounds (length {len})"));
    }
    Ok(i)
}

pub(crate) fn get<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, token| match v {
        Value::Object(m) => m.get(token),
        Value::Array(a) => index(token, a.len(), false).ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

fn parent_mut<'a>(doc: &'a mut Value, path: &[String]) -> Result<&'a mut Value, String> {
    let Some((_, parents)) = path.split_last() else {
        return Ok(doc);
    };
    let mut v = doc;
    for token in parents {
        v = match v {
            Value::Object(m) => m.get_mut(token),
            Value::Array(a) => {
                let i = index(token, a.len(), false)?;
                a.get_mut(i)
            }
            _ => None,
        }
        .ok_or_else(|| format!("doc is missing path: {}", show(path)))?;
    }
    Ok(v)
}

pub(crate) fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some(last) = path.last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, path)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            let i = index(last, a.len(), true)?;
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!("doc is missing path: {}", show(path))),
    }
}

pub(crate) fn remove(doc: &mut Value, path: &[String]) -> Result<Value, String> {
    let Some(last) = path.last() else {
        return Err("cannot remove the whole document".into());
    };
    let missing = || format!("doc is missing path: {}", show(path));
    match parent_mut(doc, path)? {
        Value::Object(m) => m.remove(last).ok_or_else(missing),
        Value::Array(a) => {
            let i = index(last, a.len(), false)?;
            Ok(a.remove(i))
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_parse_and_print_with_escapes() {
        let cases: [(&str, Option<&[&str]>); 6] = [
            ("", Some(&[])),
            ("/", Some(&[""])),
            ("/a~1b/c~0d", Some(&["a/b", "c~d"])),
            ("/a/0", Some(&["a", "0"])),
            ("a", None),
            ("/a~", None),
        ];
        for (text, want) in cases {
            let got = parse_pointer(text).ok();
            let want: Option<Vec<String>> = want.map(|w| w.iter().map(|s| s.to_string()).collect());
            assert_eq!(got, want, "{text:?}");
            if let Some(tokens) = got {
                assert_eq!(show(&tokens), text, "{text:?} prints back");
            }
        }
    }
}
