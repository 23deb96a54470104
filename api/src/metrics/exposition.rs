//! Prometheus' text exposition format (0.0.4) for the hand-rendered metric families of the
//! API server, the controller manager and the agent: a cumulative [`Histogram`], family
//! headers, and label values escaped as the format requires.
//!
//! Hand-rendered rather than through `prometheus-client`: that crate writes OpenMetrics text
//! only, and every component already appends its families to one 0.0.4 page (the scheduler's
//! and store's among them); two formats on one page would not parse as either.

use std::fmt::Write;

/// The content type of a page in this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// kube-apiserver's `apiserver_request_duration_seconds` buckets.
pub const REQUEST_DURATION_BOUNDS: [f64; 25] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 120.0, 180.0,
];

/// client-go workqueue's `workqueue_*_duration_seconds` buckets: `ExponentialBuckets(10e-9, 10,
/// 10)`.
pub const WORKQUEUE_DURATION_BOUNDS: [f64; 10] =
    [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];

/// The kubelet's `kubelet_pod_start_duration_seconds` buckets.
pub const POD_START_BOUNDS: [f64; 19] = [
    0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 20.0, 30.0, 45.0, 60.0, 120.0, 180.0, 240.0,
    300.0, 360.0, 480.0,
];

/// A cumulative histogram over fixed upper bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Observations at or below each bound (cumulative, as rendered).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        for (bound, count) in self.bounds.iter().zip(&mut self.counts) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of `name` with `labels` (already
    /// rendered as `a="b",c="d"`, or empty).
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Writes a family's `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Renders `pairs` as `a="b",c="d"`, each value escaped.
pub fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{name}=\"{}\"", escape(value));
    }
    out
}

/// A label value as the format requires: backslash, double quote and newline escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_with_inf_sum_and_count() {
        let mut h = Histogram::new(&[0.1, 1.0]);
        for v in [0.05, 0.5, 5.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "verb=\"GET\"");
        let expected = "x_seconds_bucket{verb=\"GET\",le=\"0.1\"} 1\n\
             x_seconds_bucket{verb=\"GET\",le=\"1\"} 2\n\
             x_seconds_bucket{verb=\"GET\",le=\"+Inf\"} 3\n\
             x_seconds_sum{verb=\"GET\"} 5.55\n\
             x_seconds_count{verb=\"GET\"} 3\n";
        assert_eq!(out, expected);
        let mut bare = String::new();
        Histogram::new(&[1.0]).render(&mut bare, "y", "");
        assert_eq!(
            bare,
            "y_bucket{le=\"1\"} 0\ny_bucket{le=\"+Inf\"} 0\ny_sum 0\ny_count 0\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        for (value, rendered) in [
            ("plain", "k=\"plain\""),
            ("a\"b", "k=\"a\\\"b\""),
            ("a\\b", "k=\"a\\\\b\""),
            ("a\nb", "k=\"a\\nb\""),
        ] {
            assert_eq!(labels(&[("k", value)]), rendered, "{value:?}");
        }
        assert_eq!(labels(&[("a", "1"), ("b", "2")]), "a=\"1\",b=\"2\"");
    }
}
