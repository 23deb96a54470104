//! Go's `time.Duration` text (`1h2m3.5s`, `250ms`), which `metav1.Duration` is in JSON and a
//! count of nanoseconds in protobuf.

const MICRO: i64 = 1_000;
const MILLI: i64 = 1_000_000;
const SECOND: i64 = 1_000_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// Go's `Duration.String()`.
pub(super) fn format(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    let unit = |u: i64| u.unsigned_abs();
    if n < unit(SECOND) {
        let (scale, suffix) = if n < unit(MICRO) {
            (1, "ns")
        } else if n < unit(MILLI) {
            (unit(MICRO), "µs")
        } else {
            (unit(MILLI), "ms")
        };
        return format!("{sign}{}{suffix}", fraction(n, scale));
    }
    let hours = n / unit(HOUR);
    let minutes = (n % unit(HOUR)) / unit(MINUTE);
    let seconds = fraction(n % unit(MINUTE), unit(SECOND));
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, m) => format!("{sign}{m}m{seconds}s"),
        (h, m) => format!("{sign}{h}h{m}m{seconds}s"),
    }
}

/// `n / scale` with the remainder as decimals and no trailing zeros (`1.5`, `2`).
fn fraction(n: u64, scale: u64) -> String {
    let whole = n / scale;
    let rest = n % scale;
    if rest == 0 {
        return whole.to_string();
    }
    let digits = scale.ilog10() as usize;
    let decimals = format!("{rest:0digits$}");
    format!("{whole}.{}", decimals.trim_end_matches('0'))
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units (ns, us, µs, ms, s,
/// m, h), optionally signed. None for anything else or an overflow.
pub(super) fn parse(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => MICRO,
            "ms" => MILLI,
            "s" => SECOND,
            "m" => MINUTE,
            "h" => HOUR,
            _ => return None,
        };
        total = total.checked_add(scaled(number, scale)?)?;
        rest = tail;
    }
    Some(if negative { -total } else { total })
}

/// `1.5` of `scale` nanoseconds, truncated to whole nanoseconds.
fn scaled(number: &str, scale: i64) -> Option<i64> {
    let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && decimals.is_empty() {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut value = whole.checked_mul(scale)?;
    let mut place = scale;
    for digit in decimals.chars() {
        place /= 10;
        value = value.checked_add(i64::from(digit.to_digit(10)?) * place)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_read_and_write_as_go_does() {
        let table: &[(&str, i64)] = &[
            ("0s", 0),
            ("1ns", 1),
            ("1.5µs", 1_500),
            ("250ms", 250 * MILLI),
            ("1s", SECOND),
            ("1.5s", SECOND + 500 * MILLI),
            ("2m0s", 2 * MINUTE),
            ("1h0m0s", HOUR),
            ("1h2m3.5s", HOUR + 2 * MINUTE + 3 * SECOND + 500 * MILLI),
            ("-5s", -5 * SECOND),
        ];
        for (text, nanos) in table {
            assert_eq!(format(*nanos), *text, "format {nanos}");
            assert_eq!(parse(text), Some(*nanos), "parse {text}");
        }
        assert_eq!(parse("90m"), Some(90 * MINUTE));
        assert_eq!(parse("1h30m"), Some(HOUR + 30 * MINUTE));
        for bad in ["", "5", "1x", "h", ".s", "9999999999999h"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
