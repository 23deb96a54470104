//! Resource quantities (`100m`, `128Mi`, `1Gi`, `0.5`, `1e3`): parsing to a number, for
//! validating container resources and comparing requests with limits.

use serde_json::Value;

/// The message kube-apiserver gives for a malformed quantity.
pub const QUANTITY_MSG: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// The value of a quantity string, or `None` when it is not one.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let unsigned = number.strip_prefix(['+', '-']).unwrap_or(number);
    let valid_number = !unsigned.is_empty()
        && unsigned != "."
        && unsigned.matches('.').count() <= 1
        && unsigned.bytes().all(|c| c.is_ascii_digit() || c == b'.');
    if !valid_number {
        return None;
    }
    let mantissa: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp => {
            let digits = exp.strip_prefix(['e', 'E'])?;
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty() || !unsigned.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let e: i32 = digits.parse().ok()?;
            10f64.powi(e)
        }
    };
    let v = mantissa * factor;
    v.is_finite().then_some(v)
}

/// A quantity as JSON: a string (`"100m"`) or a bare number (`1`, `0.5`).
pub fn quantity_value(v: &Value) -> Option<f64> {
    match v {
        Value::String(s) => parse_quantity(s),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// The quantity in thousandths, rounded up (`"100m"` -> 100, `"1"` -> 1000).
pub fn quantity_millis(v: &Value) -> Option<i128> {
    let q = quantity_value(v)?;
    // Rounding up to milli-units is what kube-apiserver does when it defaults resource lists.
    Some((q * 1000.0).ceil() as i128)
}
