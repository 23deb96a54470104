//! The stored form of a log: one line per entry in the CRI format the kubelet reads,
//! `<RFC3339Nano> <stdout|stderr> <F|P> <content>\n`. `F` ends a line the guest ended with a
//! newline (not stored); `P` is a part of a line that a later entry continues (a write that
//! did not end with a newline). Times are UTC with nine fractional digits.

use bytes::Bytes;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which of the guest's streams an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    fn tag(self) -> &'static [u8] {
        match self {
            LogStream::Stdout => b"stdout",
            LogStream::Stderr => b"stderr",
        }
    }
}

/// One stored entry: a whole line, or (`partial`) a piece of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When the runtime received the bytes.
    pub time: SystemTime,
    pub stream: LogStream,
    /// `true`: the line goes on in the next entry of the stream (no newline here).
    pub partial: bool,
    /// The bytes without the line's newline.
    pub content: Bytes,
}

impl LogEntry {
    /// The bytes as the guest wrote them: the content, and the newline of a whole line.
    pub fn write_text(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.content);
        if !self.partial {
            out.push(b'\n');
        }
    }
}

/// `t` as RFC 3339 in UTC with nine fractional digits (the kubelet's `RFC3339NanoFixed`).
pub fn format_time(t: SystemTime) -> String {
    let nanos = t
        .duration_since(UNIX_EPOCH)
        .map(|d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
        .unwrap_or(0);
    let stamp = jiff::Timestamp::from_nanosecond(nanos).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!("{stamp:.9}")
}

/// Parses an RFC 3339 time (any offset, any number of fractional digits).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let stamp: jiff::Timestamp = text.parse().ok()?;
    let nanos = u64::try_from(stamp.as_nanosecond()).ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// Appends the entries of one write of `bytes` to `stream` at `time`: a full entry per
/// newline-ended line, and a partial one for what follows the last newline.
pub(super) fn encode(out: &mut Vec<u8>, time: SystemTime, stream: LogStream, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let stamp = format_time(time);
    let mut rest = bytes;
    while !rest.is_empty() {
        let (line, partial, next) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], false, &rest[i + 1..]),
            None => (rest, true, &rest[rest.len()..]),
        };
        out.extend_from_slice(stamp.as_bytes());
        out.push(b' ');
        out.extend_from_slice(stream.tag());
        out.extend_from_slice(if partial { b" P " } else { b" F " });
        out.extend_from_slice(line);
        out.push(b'\n');
        rest = next;
    }
}

/// Parses one stored line (without its newline); `None` if it is not an entry.
pub fn parse_line(line: &[u8]) -> Option<LogEntry> {
    let mut fields = line.splitn(4, |b| *b == b' ');
    let time = parse_time(std::str::from_utf8(fields.next()?).ok()?)?;
    let stream = match fields.next()? {
        b"stdout" => LogStream::Stdout,
        b"stderr" => LogStream::Stderr,
        _ => return None,
    };
    let partial = match fields.next()? {
        b"F" => false,
        b"P" => true,
        _ => return None,
    };
    let content = Bytes::copy_from_slice(fields.next().unwrap_or_default());
    Some(LogEntry {
        time,
        stream,
        partial,
        content,
    })
}

/// Parses the whole lines at the start of `bytes` into `out`; returns how many bytes they
/// took (an unfinished last line is left for the caller). Lines that are not entries are
/// skipped with a warning.
pub fn parse_into(bytes: &[u8], out: &mut Vec<LogEntry>) -> usize {
    let mut used = 0;
    while let Some(end) = bytes[used..].iter().position(|b| *b == b'\n') {
        let line = &bytes[used..used + end];
        match parse_line(line) {
            Some(entry) => out.push(entry),
            None => tracing::warn!(
                line = %String::from_utf8_lossy(line),
                "skipping a log line that is not a CRI log entry"
            ),
        }
        used += end + 1;
    }
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        UNIX_EPOCH + Duration::new(secs, nanos)
    }

    fn entries(bytes: &[u8]) -> Vec<LogEntry> {
        let mut out = Vec::new();
        assert_eq!(parse_into(bytes, &mut out), bytes.len());
        out
    }

    #[test]
    fn times_are_fixed_width_utc_and_read_back() {
        let t = at(1_764_936_540, 5_000);
        assert_eq!(format_time(t), "2025-12-05T12:09:00.000005000Z");
        assert_eq!(parse_time("2025-12-05T12:09:00.000005Z"), Some(t));
        assert_eq!(parse_time("2025-12-05T13:09:00.000005+01:00"), Some(t));
        assert_eq!(
            parse_time("2025-12-05T12:09:00Z"),
            Some(at(1_764_936_540, 0))
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn writes_become_full_and_partial_entries() {
        let t = at(1_764_936_540, 0);
        let cases: &[(&[u8], &str)] = &[
            (b"a\n", "T stdout F a\n"),
            (b"a\nb\n", "T stdout F a\nT stdout F b\n"),
            (b"a\nbc", "T stdout F a\nT stdout P bc\n"),
            (b"\n", "T stdout F \n"),
            (b"", ""),
            (b"no newline", "T stdout P no newline\n"),
        ];
        for (written, stored) in cases {
            let mut out = Vec::new();
            encode(&mut out, t, LogStream::Stdout, written);
            let want = stored.replace('T', "2025-12-05T12:09:00.000000000Z");
            assert_eq!(String::from_utf8(out.clone()).unwrap(), want);
            let mut text = Vec::new();
            for e in entries(&out) {
                assert_eq!(e.time, t);
                e.write_text(&mut text);
            }
            assert_eq!(&text, written, "the guest's bytes come back");
        }
    }

    #[test]
    fn a_line_split_across_writes_reads_back_whole() {
        let mut out = Vec::new();
        encode(&mut out, at(1, 0), LogStream::Stderr, b"hel");
        encode(&mut out, at(2, 0), LogStream::Stderr, b"lo\nwor");
        encode(&mut out, at(3, 0), LogStream::Stderr, b"ld\n");
        let parsed = entries(&out);
        let shape: Vec<_> = parsed
            .iter()
            .map(|e| (e.partial, e.content.as_ref(), e.stream))
            .collect();
        assert_eq!(
            shape,
            [
                (true, &b"hel"[..], LogStream::Stderr),
                (false, b"lo", LogStream::Stderr),
                (true, b"wor", LogStream::Stderr),
                (false, b"ld", LogStream::Stderr),
            ]
        );
    }

    #[test]
    fn bad_lines_are_skipped_and_an_unfinished_one_is_left() {
        let text = b"garbage\n2025-12-05T12:09:00Z stdout F ok\n2025-12-05T12:09:00Z std";
        let mut out = Vec::new();
        let used = parse_into(text, &mut out);
        assert_eq!(used, text.len() - b"2025-12-05T12:09:00Z std".len());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].content.as_ref(), b"ok");
        assert_eq!(parse_line(b"2025-12-05T12:09:00Z stdin F x"), None);
        assert_eq!(parse_line(b"2025-12-05T12:09:00Z stdout X x"), None);
    }
}
