//! Field selectors (`?fieldSelector=metadata.name=web,status.phase!=Running`): parsing with
//! apimachinery's `\` escapes, matching by dotted path on the JSON object, printing.

use std::fmt;

use serde_json::Value;

use super::SelectorError;

/// One `field=value` or `field!=value` term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRequirement {
    /// Dotted path, e.g. `metadata.name`, `involvedObject.uid`.
    pub field: String,
    /// `true` for `!=`.
    pub negated: bool,
    pub value: String,
}

impl FieldRequirement {
    /// Whether `obj`'s value at the path equals (or, negated, differs from) the value. A
    /// missing field, `null`, an object or a list reads as `""`.
    pub fn matches(&self, obj: &Value) -> bool {
        let found = self.field.split('.').try_fold(obj, |v, part| v.get(part));
        let text = match found {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        (text == self.value) != self.negated
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negated { "!=" } else { "=" };
        write!(f, "{}{op}{}", self.field, escape(&self.value))
    }
}

/// A parsed field selector: the AND of its terms. The default matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// Parses `a=b,c!=d` (`==` is `=`). Blank text matches everything.
    pub fn parse(text: &str) -> Result<FieldSelector, SelectorError> {
        let mut requirements = Vec::new();
        if text.trim().is_empty() {
            return Ok(FieldSelector { requirements });
        }
        for term in split_unescaped(text, ',') {
            requirements.push(parse_term(term)?);
        }
        Ok(FieldSelector { requirements })
    }

    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.requirements.iter().all(|r| r.matches(obj))
    }

    /// The value `field` must equal, when the selector pins it (`metadata.name=X`): the API
    /// server narrows a list to one object with it.
    pub fn single_value(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && !r.negated)
            .map(|r| r.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Splits `text` at each `sep` not escaped by a `\`.
fn split_unescaped(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in text.char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, c) if c == sep => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_term(term: &str) -> Result<FieldRequirement, SelectorError> {
    let syntax = || {
        SelectorError::Syntax(format!(
            "invalid field selector term {term:?}: expected field=value or field!=value"
        ))
    };
    let mut escaped = false;
    for (i, c) in term.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        let rest = &term[i..];
        let op_len = match c {
            '\\' => {
                escaped = true;
                continue;
            }
            '!' if rest.starts_with("!=") => 2,
            '=' if rest.starts_with("==") => 2,
            '=' => 1,
            _ => continue,
        };
        let field = term[..i].trim();
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if field.is_empty() || !field.chars().all(valid) {
            return Err(syntax());
        }
        return Ok(FieldRequirement {
            field: field.to_owned(),
            negated: c == '!',
            value: unescape(term[i + op_len..].trim())?,
        });
    }
    Err(syntax())
}

/// Undoes [`escape`]: `\\`, `\,` and `\=`; any other escape is an error.
fn unescape(value: &str) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(e @ ('\\' | ',' | '=')) => out.push(e),
            _ => {
                return Err(SelectorError::Syntax(format!(
                    "invalid escape sequence in field selector value {value:?}"
                )));
            }
        }
    }
    Ok(out)
}

/// Escapes `\`, `,` and `=` so a value survives [`FieldSelector::parse`].
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
