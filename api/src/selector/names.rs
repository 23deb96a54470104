//! Kubernetes' rules for label keys (qualified names with an optional DNS-subdomain prefix)
//! and label values (at most 63 characters, alphanumeric at both ends).

use super::SelectorError;

const NAME_MAX: usize = 63;
const PREFIX_MAX: usize = 253;

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, or why not.
fn name_part(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("the name part must be non-empty".into());
    }
    if s.len() > NAME_MAX {
        return Err(format!(
            "the name part must be no more than {NAME_MAX} characters"
        ));
    }
    let ok_inner = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ok_ends = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if !(ok_inner && ok_ends) {
        return Err(
            "the name part must consist of alphanumeric characters, '-', '_' or '.', \
                    and must start and end with an alphanumeric character"
                .into(),
        );
    }
    Ok(())
}

/// A DNS-1123 subdomain: lower-case labels of `[a-z0-9-]` separated by dots.
fn dns_subdomain(s: &str) -> Result<(), String> {
    let bad = || {
        "the prefix part must be a lowercase RFC 1123 subdomain: lower case alphanumeric \
         characters, '-' or '.', starting and ending with an alphanumeric character"
            .to_owned()
    };
    if s.is_empty() || s.len() > PREFIX_MAX {
        return Err(format!(
            "the prefix part must be 1 to {PREFIX_MAX} characters"
        ));
    }
    for label in s.split('.') {
        let chars_ok = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ends_ok = !label.is_empty() && !label.starts_with('-') && !label.ends_with('-');
        if !(chars_ok && ends_ok) {
            return Err(bad());
        }
    }
    Ok(())
}

/// A label key: `name` or `prefix/name`.
pub(crate) fn check_key(key: &str) -> Result<(), SelectorError> {
    let result = match key.split_once('/') {
        Some((prefix, name)) => dns_subdomain(prefix).and_then(|()| name_part(name)),
        None => name_part(key),
    };
    result.map_err(|reason| SelectorError::InvalidKey {
        key: key.to_owned(),
        reason,
    })
}

/// A label value: empty, or a name part.
pub(crate) fn check_value(value: &str) -> Result<(), SelectorError> {
    if value.is_empty() {
        return Ok(());
    }
    name_part(value).map_err(|reason| SelectorError::InvalidValue {
        value: value.to_owned(),
        reason: reason.replace("the name part", "a label value"),
    })
}
