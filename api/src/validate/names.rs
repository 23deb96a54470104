//! Name formats, with kube-apiserver's messages: DNS-1123 subdomains and labels, DNS-1035
//! labels, qualified names (label and annotation keys), label values, ConfigMap/Secret keys,
//! port names (IANA service names) and environment variable names.

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

fn max_len(s: &str, max: usize) -> Option<String> {
    (s.len() > max).then(|| format!("must be no more than {max} characters"))
}

fn lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn label_like(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && lower_alnum(b[0])
        && lower_alnum(b[b.len() - 1])
        && b.iter().all(|&c| lower_alnum(c) || c == b'-')
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn qualified_like(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut out: Vec<String> = max_len(s, 63).into_iter().collect();
    if !label_like(s) {
        out.push(DNS1123_LABEL_MSG.to_owned());
    }
    out
}

pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut out: Vec<String> = max_len(s, 253).into_iter().collect();
    if !s.split('.').all(label_like) {
        out.push(DNS1123_SUBDOMAIN_MSG.to_owned());
    }
    out
}

pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut out: Vec<String> = max_len(s, 63).into_iter().collect();
    if !(label_like(s) && s.as_bytes()[0].is_ascii_lowercase()) {
        out.push(DNS1035_LABEL_MSG.to_owned());
    }
    out
}

/// A label or annotation key: an optional DNS-1123 subdomain prefix and `/`, then a name.
pub fn qualified_name(s: &str) -> Vec<String> {
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                return vec!["prefix part must be non-empty".to_owned()];
            }
            let errs: Vec<String> = dns1123_subdomain(prefix)
                .into_iter()
                .map(|m| format!("prefix part {m}"))
                .collect();
            if !errs.is_empty() {
                return errs;
            }
            name
        }
        _ => {
            return vec![format!(
                "a qualified name {QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            )];
        }
    };
    if name.is_empty() {
        return vec!["name part must be non-empty".to_owned()];
    }
    let mut out: Vec<String> = max_len(name, 63)
        .map(|m| format!("name part {m}"))
        .into_iter()
        .collect();
    if !qualified_like(name) {
        out.push(format!("name part {QUALIFIED_NAME_MSG}"));
    }
    out
}

pub fn label_value(s: &str) -> Vec<String> {
    let mut out: Vec<String> = max_len(s, 63).into_iter().collect();
    if !s.is_empty() && !qualified_like(s) {
        out.push(LABEL_VALUE_MSG.to_owned());
    }
    out
}

/// A key of a ConfigMap's or Secret's data.
pub fn config_key(s: &str) -> Vec<String> {
    let mut out: Vec<String> = max_len(s, 253).into_iter().collect();
    if s.is_empty()
        || !s
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    {
        out.push(CONFIG_KEY_MSG.to_owned());
    }
    if s == "." {
        out.push("must not be '.'".to_owned());
    } else if s == ".." {
        out.push("must not be '..'".to_owned());
    } else if s.starts_with("..") {
        out.push("must not start with '..'".to_owned());
    }
    out
}

/// A named port: an IANA service name (`http`, `metrics-1`).
pub fn port_name(s: &str) -> Vec<String> {
    let mut out: Vec<String> = max_len(s, 15).into_iter().collect();
    if !s
        .bytes()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
    {
        out.push(
            "must contain only alphanumeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if s.contains("--") {
        out.push("must not contain consecutive hyphens".to_owned());
    }
    if !s.bytes().any(|c| c.is_ascii_lowercase()) {
        out.push("must contain at least one letter (a-z)".to_owned());
    }
    if s.starts_with('-') || s.ends_with('-') {
        out.push("must not begin or end with a hyphen".to_owned());
    }
    out
}

/// An environment variable name (the relaxed rule of Kubernetes 1.32+).
pub fn env_var_name(s: &str) -> Vec<String> {
    if s.is_empty() || !s.bytes().all(|c| (b' '..=b'~').contains(&c) && c != b'=') {
        vec!["a valid environment variable name must consist only of printable ASCII characters other than '='".to_owned()]
    } else {
        Vec::new()
    }
}
