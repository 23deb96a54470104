//! Kubernetes resource quantities (`250m`, `1.5`, `128Mi`, `1G`, `12345n`) read as numbers,
//! and printed as kubectl top prints them (`250m`, `128Mi`).

/// A quantity in base units (cores, bytes); `None` when it does not parse.
pub fn parse(quantity: &str) -> Option<f64> {
    let split = quantity
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(quantity.len());
    let (number, suffix) = quantity.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number * scale)
}

/// Cores as kubectl top's `CPU(cores)` column: millicores.
pub fn millicores(cores: f64) -> String {
    format!("{}m", (cores * 1000.0).round() as i64)
}

/// Bytes as kubectl top's `MEMORY(bytes)` column: mebibytes.
pub fn mebibytes(bytes: f64) -> String {
    format!("{}Mi", (bytes / (1024.0 * 1024.0)).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_and_print() {
        assert_eq!(parse("250m"), Some(0.25));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("128Mi"), Some(134_217_728.0));
        assert_eq!(parse("1500000n").map(millicores).as_deref(), Some("2m"));
        assert_eq!(parse("64Mi").map(mebibytes).as_deref(), Some("64Mi"));
        assert_eq!(parse("12Xi"), None);
        assert_eq!(parse("abc"), None);
    }
}
