//! How a loop behaves while its steps fail: it waits longer after each failure (exponential
//! backoff with a cap), and it reports a streak of failures in a few log lines (the first
//! failure, then once per period with a count, then the recovery) instead of one per iteration.
//! Both are pure and take `now` from the caller, so tests drive them on virtual time.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// First delay after a failure.
pub const RETRY_FIRST: Duration = Duration::from_millis(100);
/// Longest delay between attempts: a few seconds, so that a node notices within moments that
/// the database is back, but short of hammering it while it is away.
pub const RETRY_CAP: Duration = Duration::from_secs(3);
/// A streak of failures is logged at most once per this period (besides its first failure and
/// its end).
pub const REPEAT_LOG_PERIOD: Duration = Duration::from_secs(10);

/// Exponential backoff: `first`, twice that, and so on up to `cap`; back to `first` after a
/// success.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, cap: Duration) -> Backoff {
        let first = first.min(cap);
        Backoff { first, cap, next: first }
    }

    /// The delay before the next attempt; each call doubles the following one, up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.cap);
        delay
    }

    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// What a [`FailureLog`] says should be logged now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureNotice {
    /// The first failure of a streak: log it with its error.
    Started,
    /// The streak goes on: `failures` since the previous notice, `total` since it started.
    Continuing { failures: u64, total: u64, since: DateTime<Utc> },
    /// A success ended a streak of `total` failures that began at `since`.
    Ended { total: u64, since: DateTime<Utc> },
}

#[derive(Debug, Clone, Copy)]
struct Streak {
    since: DateTime<Utc>,
    total: u64,
    /// When the last notice was given, and the failures after it.
    noticed_at: DateTime<Utc>,
    unnoticed: u64,
}

/// Decides which failures of a loop are worth a log line: the first of a streak, then at most
/// one per `period` carrying the count, then the end of the streak.
#[derive(Debug, Clone)]
pub struct FailureLog {
    period: chrono::Duration,
    streak: Option<Streak>,
}

impl FailureLog {
    pub fn new(period: Duration) -> FailureLog {
        let period = chrono::Duration::from_std(period).unwrap_or(chrono::Duration::MAX);
        FailureLog { period, streak: None }
    }

    /// A failure at `now`; returns the notice to log, if any.
    pub fn failed(&mut self, now: DateTime<Utc>) -> Option<FailureNotice> {
        let Some(streak) = self.streak.as_mut() else {
            self.streak = Some(Streak { since: now, total: 1, noticed_at: now, unnoticed: 0 });
            return Some(FailureNotice::Started);
        };
        streak.total += 1;
        streak.unnoticed += 1;
        if now - streak.noticed_at < self.period {
            return None;
        }
        let notice = FailureNotice::Continuing {
            failures: streak.unnoticed,
            total: streak.total,
            since: streak.since,
        };
        streak.noticed_at = now;
        streak.unnoticed = 0;
        Some(notice)
    }

    /// A success; returns the end of a streak, if one was going on.
    pub fn succeeded(&mut self) -> Option<FailureNotice> {
        let streak = self.streak.take()?;
        Some(FailureNotice::Ended { total: streak.total, since: streak.since })
    }

    /// Failures in the current streak (0 when the last attempt succeeded).
    pub fn failures(&self) -> u64 {
        self.streak.map_or(0, |streak| streak.total)
    }
}

/// What a [`RepeatLog`] says to log now: `unlogged` occurrences went unlogged since the last
/// line, `total` happened in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeats {
    pub unlogged: u64,
    pub total: u64,
}

/// Decides which occurrences of a repeated event that has no success to end it (a connection
/// the SQLite pool closes after a failed transaction) are worth a log line: the first, then at
/// most one per `period`, carrying the count of those in between. The one after a quiet period
/// is logged at once. Its instants are tokio's, which the store may read (it has no clock).
#[derive(Debug, Clone)]
pub struct RepeatLog {
    period: Duration,
    last_logged: Option<tokio::time::Instant>,
    unlogged: u64,
    total: u64,
}

impl RepeatLog {
    pub fn new(period: Duration) -> RepeatLog {
        RepeatLog { period, last_logged: None, unlogged: 0, total: 0 }
    }

    /// An occurrence at `now`; returns what to log, if anything.
    pub fn occurred(&mut self, now: tokio::time::Instant) -> Option<Repeats> {
        self.total += 1;
        if self.last_logged.is_some_and(|at| now.saturating_duration_since(at) < self.period) {
            self.unlogged += 1;
            return None;
        }
        self.last_logged = Some(now);
        Some(Repeats { unlogged: std::mem::take(&mut self.unlogged), total: self.total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_starts_over_after_a_success() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<u128> = (0..6).map(|_| backoff.next_delay().as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn backoff_never_starts_above_its_cap() {
        let mut backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(1));
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
    }

    /// A loop failing every 100 ms for 25 s (as a tick loop without backoff did, writing a
    /// line each time) gives four notices: the start, two with counts, the end.
    #[test]
    fn a_streak_of_failures_is_noticed_once_per_period_with_counts() {
        let mut log = FailureLog::new(Duration::from_secs(10));
        let mut notices = Vec::new();
        for tenth in 0..250 {
            let now = at(0) + chrono::Duration::milliseconds(tenth * 100);
            notices.extend(log.failed(now));
        }
        assert_eq!(log.failures(), 250);
        notices.extend(log.succeeded());
        assert_eq!(
            notices,
            [
                FailureNotice::Started,
                FailureNotice::Continuing { failures: 100, total: 101, since: at(0) },
                FailureNotice::Continuing { failures: 100, total: 201, since: at(0) },
                FailureNotice::Ended { total: 250, since: at(0) },
            ]
        );
        assert_eq!(log.failures(), 0);
        assert_eq!(log.succeeded(), None, "no streak, nothing to end");
        assert_eq!(log.failed(at(60)), Some(FailureNotice::Started), "a new streak");
    }

    #[test]
    fn a_repeated_event_is_logged_once_per_period_with_the_count_in_between() {
        let mut log = RepeatLog::new(Duration::from_secs(10));
        let start = tokio::time::Instant::now();
        let at = |millis: u64| start + Duration::from_millis(millis);
        let logged: Vec<(u64, Option<Repeats>)> = [0, 5, 1_000, 9_999, 10_000, 12_000, 30_000]
            .into_iter()
            .map(|millis| (millis, log.occurred(at(millis))))
            .filter(|(_, repeats)| repeats.is_some())
            .collect();
        assert_eq!(
            logged,
            [
                (0, Some(Repeats { unlogged: 0, total: 1 })),
                (10_000, Some(Repeats { unlogged: 3, total: 5 })),
                // After a quiet period, at once.
                (30_000, Some(Repeats { unlogged: 1, total: 7 })),
            ]
        );
    }
}
