//! Latency summaries (count, p50, p99, max) from samples in microseconds,
//! by nearest rank over a sorted vector.

use serde::{Deserialize, Serialize};

/// A latency summary in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Summary {
    /// Summarises samples given in microseconds.
    pub fn from_micros(mut samples: Vec<u32>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let ms = |us: u32| f64::from(us) / 1000.0;
        Self {
            count: samples.len() as u64,
            p50_ms: ms(percentile(&samples, 0.50)),
            p99_ms: ms(percentile(&samples, 0.99)),
            max_ms: ms(samples[samples.len() - 1]),
        }
    }
}

/// Nearest-rank percentile of sorted, non-empty samples.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    let n = sorted.len();
    // p is in 0..=1 and n a vector length, so the rank fits usize.
    let rank = (p * n as f64).ceil() as usize;
    sorted[rank.clamp(1, n) - 1]
}

/// Microseconds of a duration, saturating at `u32::MAX` (71 minutes).
pub fn micros(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&s, 0.5), 50);
        assert_eq!(percentile(&s, 0.99), 99);
        assert_eq!(percentile(&s, 1.0), 100);
        assert_eq!(percentile(&[7], 0.99), 7);
        let sum = Summary::from_micros(vec![3000, 1000, 2000]);
        assert_eq!(sum.count, 3);
        assert_eq!(sum.p50_ms, 2.0);
        assert_eq!(sum.max_ms, 3.0);
        assert_eq!(Summary::from_micros(Vec::new()), Summary::default());
    }
}
