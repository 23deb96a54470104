//! Durations as Kubernetes users write them in flags and annotations: `90` (seconds), `30s`,
//! `5m`, `2h`, `1h30m`. One parser for every caller; each words its own error.

/// `text` as whole seconds: a plain number as it is, or `h`/`m`/`s` parts adding up to more
/// than zero. `None` for anything else (or an overflow).
pub fn parse_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(seconds);
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let value: u64 = number.parse().ok()?;
        total = value.checked_mul(unit).and_then(|v| total.checked_add(v))?;
        number.clear();
    }
    (number.is_empty() && total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::parse_seconds;

    #[test]
    fn durations_by_table() {
        let cases = [
            ("90", Some(90)),
            ("0", Some(0)),
            (" 30s ", Some(30)),
            ("5m", Some(300)),
            ("1h30m", Some(5400)),
            ("2h", Some(7200)),
            ("0s", None),
            ("10", Some(10)),
            ("1d", None),
            ("m", None),
            ("5m3", None),
            ("", None),
            ("99999999999999999999h", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_seconds(text), want, "{text:?}");
        }
    }
}
