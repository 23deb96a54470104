//! Kubernetes resource quantities (`500m`, `1.5`, `128Mi`, `1e3`) as thousandths of a unit,
//! rounded up, which is what limits and the downward API need.

/// A quantity in thousandths of its unit (millicores for cpu, millibytes for memory).
pub fn parse_milli(text: &str) -> Option<i128> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (numerator, denominator) = parse_decimal(number)?;
    let (num_mult, den_mult) = suffix_factor(suffix)?;
    let num = numerator.checked_mul(num_mult)?.checked_mul(1000)?;
    let den = denominator.checked_mul(den_mult)?;
    Some(div_ceil(num, den))
}

/// `-1.25` to (-125, 100).
fn parse_decimal(number: &str) -> Option<(i128, i128)> {
    let (sign, digits) = match number.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, number.strip_prefix('+').unwrap_or(number)),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 18 {
        return None;
    }
    let all: String = format!("{whole}{frac}");
    if !all.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i128 = all.parse().ok()?;
    let denominator = 10i128.checked_pow(u32::try_from(frac.len()).ok()?)?;
    Some((sign * value, denominator))
}

/// (numerator, denominator) a suffix multiplies by.
fn suffix_factor(suffix: &str) -> Option<(i128, i128)> {
    let binary = |power: u32| Some((1i128 << (10 * power), 1));
    let decimal = |power: u32| Some((10i128.pow(power), 1));
    match suffix {
        "" => decimal(0),
        "n" => Some((1, 1_000_000_000)),
        "u" => Some((1, 1_000_000)),
        "m" => Some((1, 1000)),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(1),
        "Mi" => binary(2),
        "Gi" => binary(3),
        "Ti" => binary(4),
        "Pi" => binary(5),
        "Ei" => binary(6),
        exp => {
            let power: i32 = exp.strip_prefix(['e', 'E'])?.parse().ok()?;
            let scale = 10i128.checked_pow(power.unsigned_abs())?;
            Some(if power >= 0 { (scale, 1) } else { (1, scale) })
        }
    }
}

fn div_ceil(num: i128, den: i128) -> i128 {
    let q = num / den;
    if num % den != 0 && (num > 0) == (den > 0) {
        q + 1
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::parse_milli;

    #[test]
    fn quantities_parse_to_thousandths() {
        let table: &[(&str, Option<i128>)] = &[
            ("1", Some(1000)),
            ("500m", Some(500)),
            ("1.5", Some(1500)),
            ("0.1", Some(100)),
            ("128Mi", Some(128 * 1024 * 1024 * 1000)),
            ("1Gi", Some(1000 << 30)),
            ("2k", Some(2_000_000)),
            ("1e3", Some(1_000_000)),
            ("1E-3", Some(1)),
            ("100n", Some(1)),
            ("250u", Some(1)),
            ("", None),
            ("Mi", None),
            ("1Zi", None),
            ("1.2.3", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_milli(text), *want, "{text:?}");
        }
    }
}
