//! What the engine counts for `/metrics` and for tests: plain counters, the fire lateness
//! histogram, and the occurrences its ticks recorded as not run, by reason.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::plan::{NotRunReason, NotRunTally};
use crate::run::RunStatus;

/// Counters the engine keeps for `/metrics` and for tests.
#[derive(Debug, Default)]
pub struct EngineStats {
    pub ticks: AtomicU64,
    pub enqueued: AtomicU64,
    pub claimed: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub fenced_out: AtomicU64,
    pub recovered: AtomicU64,
    pub running: AtomicU64,
    /// Record-and-claim cycles the dispatcher completed (its runs per cycle are
    /// `claimed / cycles`: the batch each cycle carries; a cycle is one transaction, or two at
    /// once when it records beside its claim).
    pub cycles: AtomicU64,
    /// Of those, the cycles that recorded their results in a transaction beside the claim's
    /// instead of in the same one (a queue burning down, on Postgres).
    pub side_by_side_cycles: AtomicU64,
    /// Runs the cycles' claims asked for (the free worker slots at each, at most the claim
    /// batch): `claimed / claim_asked` is how full claims come back.
    pub claim_asked: AtomicU64,
    /// How late scheduled runs started: start minus the instant they were due (`not_before`:
    /// the scheduled instant plus the job's jitter offset).
    pub fire_lateness: Histogram,
    /// Occurrences this node's ticks recorded as skipped or missed, by status and reason.
    not_run: Mutex<HashMap<(RunStatus, NotRunReason), u64>>,
}

impl EngineStats {
    pub(crate) fn add_not_run(&self, tally: &NotRunTally) {
        if tally.is_empty() {
            return;
        }
        let mut not_run = self.not_run.lock().unwrap_or_else(|poison| poison.into_inner());
        for (key, count) in tally {
            *not_run.entry(*key).or_default() += count;
        }
    }

    /// Occurrences recorded as not run, as (status, reason, count), in a stable order.
    pub fn not_run(&self) -> Vec<(RunStatus, NotRunReason, u64)> {
        let not_run = self.not_run.lock().unwrap_or_else(|poison| poison.into_inner());
        let mut counts: Vec<_> =
            not_run.iter().map(|((status, reason), count)| (*status, *reason, *count)).collect();
        counts.sort_by_key(|(status, reason, _)| (status.as_str(), reason.as_str()));
        counts
    }
}

/// Upper bounds of the lateness buckets, in seconds: from a few milliseconds (a healthy idle
/// engine) to minutes (the misfire threshold is one).
pub const LATENESS_BUCKETS: [f64; 14] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

/// A Prometheus-style histogram of durations with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at most each bound (not cumulative; summed when read).
    buckets: [AtomicU64; LATENESS_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// A histogram as read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// (upper bound in seconds, observations at most that), cumulative.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Histogram {
    pub fn observe(&self, value: Duration) {
        let seconds = value.as_secs_f64();
        if let Some(index) = LATENESS_BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(value.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let buckets = LATENESS_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(bound, count)| {
                cumulative += count.load(Ordering::Relaxed);
                (*bound, cumulative)
            })
            .collect();
        HistogramSnapshot {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_count_everything() {
        let histogram = Histogram::default();
        for millis in [1, 4, 30, 2_000, 400_000] {
            histogram.observe(Duration::from_millis(millis));
        }
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 5);
        assert_eq!(snapshot.buckets[0], (0.005, 2));
        assert_eq!(snapshot.buckets[3], (0.05, 3));
        assert_eq!(snapshot.buckets[8], (2.5, 4));
        // Beyond the last bound: only in the count (Prometheus's +Inf bucket).
        assert_eq!(snapshot.buckets.last(), Some(&(300.0, 4)));
        assert!((snapshot.sum_seconds - 402.035).abs() < 1e-9);
    }
}
