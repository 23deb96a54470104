//! Log entries to the bytes of a `/containerLogs` answer, as the kubelet writes them: the
//! last `tailLines` lines, entries before `since` left out, an RFC 3339 time (nine
//! fractional digits) before each line with `timestamps`, cut at `limitBytes`. Pure.
//!
//! One deviation: `tailLines` counts the lines the guest wrote, so a line stored in several
//! partial entries counts once (the kubelet counts the file's entries).

use super::options::LogOptions;
use skiff_runtime_wasm::logs::{LogEntry, format_time};
use std::time::SystemTime;

/// The index of the first entry of the last `lines` lines of `entries` (all of them when
/// `lines` is `None`).
pub fn tail_start(entries: &[LogEntry], lines: Option<u64>) -> usize {
    let Some(lines) = lines else { return 0 };
    if lines == 0 {
        return entries.len();
    }
    let mut starts = 0;
    for i in (0..entries.len()).rev() {
        let starts_a_line = i == 0 || !entries[i - 1].partial;
        if starts_a_line {
            starts += 1;
            if starts == lines {
                return i;
            }
        }
    }
    0
}

/// Renders entries one by one into answer bytes.
#[derive(Debug, Clone)]
pub struct Renderer {
    timestamps: bool,
    since: Option<SystemTime>,
    /// Bytes still allowed (`limitBytes`).
    remaining: Option<u64>,
    /// The previous entry ended a line, so the next one starts one (and gets its time).
    at_line_start: bool,
}

impl Renderer {
    pub fn new(options: &LogOptions) -> Renderer {
        Renderer {
            timestamps: options.timestamps,
            since: options.since,
            remaining: options.limit_bytes,
            at_line_start: true,
        }
    }

    /// The byte limit is reached: nothing more will be written.
    pub fn is_done(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Appends what `entry` shows to `out`, cut at the byte limit.
    pub fn push(&mut self, entry: &LogEntry, out: &mut Vec<u8>) {
        let starts_line = std::mem::replace(&mut self.at_line_start, !entry.partial);
        if self.is_done() || self.since.is_some_and(|since| entry.time < since) {
            return;
        }
        let before = out.len();
        if self.timestamps && starts_line {
            out.extend_from_slice(format_time(entry.time).as_bytes());
            out.push(b' ');
        }
        entry.write_text(out);
        if let Some(remaining) = &mut self.remaining {
            let written = (out.len() - before) as u64;
            if written >= *remaining {
                out.truncate(before + usize::try_from(*remaining).unwrap_or(usize::MAX));
                *remaining = 0;
            } else {
                *remaining -= written;
            }
        }
    }

    /// Renders every entry of `entries` into a new buffer.
    pub fn render(&mut self, entries: &[LogEntry]) -> Vec<u8> {
        let mut out = Vec::new();
        for entry in entries {
            self.push(entry, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use skiff_runtime_wasm::logs::LogStream;
    use std::time::{Duration, UNIX_EPOCH};

    /// Entries at seconds 1, 2, 3, ...: `"a\n"` is a full line, `"a"` a partial one.
    fn entries(texts: &[&str]) -> Vec<LogEntry> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| LogEntry {
                time: UNIX_EPOCH + Duration::from_secs(i as u64 + 1),
                stream: LogStream::Stdout,
                partial: !t.ends_with('\n'),
                content: Bytes::copy_from_slice(t.trim_end_matches('\n').as_bytes()),
            })
            .collect()
    }

    fn shown(texts: &[&str], options: LogOptions) -> String {
        let all = entries(texts);
        let from = tail_start(&all, options.tail_lines);
        String::from_utf8(Renderer::new(&options).render(&all[from..])).unwrap()
    }

    #[test]
    fn options_shape_the_answer() {
        let log = ["a\n", "b", "c\n", "d\n"];
        let since = |s| Some(UNIX_EPOCH + Duration::from_secs(s));
        let cases = [
            (LogOptions::default(), "a\nbc\nd\n"),
            (
                LogOptions {
                    tail_lines: Some(0),
                    ..LogOptions::default()
                },
                "",
            ),
            (
                LogOptions {
                    tail_lines: Some(1),
                    ..LogOptions::default()
                },
                "d\n",
            ),
            (
                LogOptions {
                    tail_lines: Some(2),
                    ..LogOptions::default()
                },
                "bc\nd\n",
            ),
            (
                LogOptions {
                    tail_lines: Some(9),
                    ..LogOptions::default()
                },
                "a\nbc\nd\n",
            ),
            (
                LogOptions {
                    since: since(3),
                    ..LogOptions::default()
                },
                "c\nd\n",
            ),
            (
                LogOptions {
                    limit_bytes: Some(4),
                    ..LogOptions::default()
                },
                "a\nbc",
            ),
            (
                LogOptions {
                    timestamps: true,
                    tail_lines: Some(2),
                    ..LogOptions::default()
                },
                "1970-01-01T00:00:02.000000000Z bc\n1970-01-01T00:00:04.000000000Z d\n",
            ),
            (
                LogOptions {
                    timestamps: true,
                    limit_bytes: Some(12),
                    ..LogOptions::default()
                },
                "1970-01-01T0",
            ),
        ];
        for (options, want) in cases {
            assert_eq!(shown(&log, options.clone()), want, "{options:?}");
        }
    }

    #[test]
    fn a_partial_last_line_counts_as_a_line() {
        let log = ["a\n", "b\n", "c"];
        let options = LogOptions {
            tail_lines: Some(1),
            ..LogOptions::default()
        };
        assert_eq!(shown(&log, options), "c");
    }

    #[test]
    fn the_limit_holds_across_pushes() {
        let all = entries(&["abc\n", "def\n"]);
        let mut renderer = Renderer::new(&LogOptions {
            limit_bytes: Some(6),
            ..LogOptions::default()
        });
        assert_eq!(renderer.render(&all[..1]), b"abc\n");
        assert!(!renderer.is_done());
        assert_eq!(renderer.render(&all[1..]), b"de");
        assert!(renderer.is_done());
        assert_eq!(renderer.render(&all), b"");
    }
}
