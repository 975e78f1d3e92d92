//! Waiting for the database at start-up: attempts with exponential backoff until one succeeds,
//! one fails in a way waiting cannot heal, or the wait is over. The clock measures the wait;
//! each failed attempt is logged with its cause.

use std::future::Future;
use std::time::Duration;

use tracing::{info, warn};

use super::RuntimeError;
use crate::clock::Clock;
use crate::error::Error;

/// The pause after the first failed attempt; each later pause doubles, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(5);
/// Bounds on one attempt: a server that accepts the connection and never answers must not use
/// up the whole wait in one attempt, nor be given up on too early.
const MIN_ATTEMPT: Duration = Duration::from_secs(1);
const MAX_ATTEMPT: Duration = Duration::from_secs(10);

/// Why one attempt to reach the database failed.
#[derive(Debug)]
pub(super) enum AttemptError {
    /// Waiting may heal it (the server is down or starting, the database not created yet);
    /// the text is the real cause, for the log and the final error.
    Transient(String),
    /// Waiting cannot heal it (a bad URL, a refused login): the wait ends at once.
    Permanent(Error),
}

/// The pauses between attempts: 250 ms, 500 ms, 1 s, 2 s, 4 s, then 5 s each.
#[derive(Debug, Clone)]
pub(super) struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: FIRST_DELAY }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = self.next;
        self.next = (delay * 2).min(MAX_DELAY);
        Some(delay)
    }
}

/// Calls `attempt` (with the time it may take) until it succeeds, fails permanently, or `bound`
/// has passed on `clock`; the last transient cause is in the error. A zero bound makes one
/// attempt.
pub(super) async fn retry_until<T, F, Fut>(
    clock: &dyn Clock,
    bound: Duration,
    mut attempt: F,
) -> Result<T, RuntimeError>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    let started = clock.now();
    let deadline = chrono::Duration::from_std(bound)
        .ok()
        .and_then(|bound| started.checked_add_signed(bound))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
    let left = || (deadline - clock.now()).to_std().unwrap_or(Duration::ZERO);
    let mut delays = Backoff::default();
    let mut attempts = 0_u32;
    loop {
        attempts += 1;
        let cause = match attempt(left().clamp(MIN_ATTEMPT, MAX_ATTEMPT)).await {
            Ok(value) => {
                if attempts > 1 {
                    info!(attempts, "the database answered");
                }
                return Ok(value);
            }
            Err(AttemptError::Permanent(error)) => return Err(error.into()),
            Err(AttemptError::Transient(cause)) => cause,
        };
        let remaining = left();
        if remaining.is_zero() {
            return Err(RuntimeError::DatabaseUnavailable { waited: bound, attempts, cause });
        }
        let delay = delays.next().unwrap_or(MAX_DELAY).min(remaining);
        warn!(
            attempt = attempts,
            %cause,
            retry_in_ms = delay.as_millis() as u64,
            left_s = remaining.as_secs(),
            "the database does not answer yet; waiting for it"
        );
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn pauses_double_up_to_the_cap() {
        let delays: Vec<u64> =
            Backoff::default().take(8).map(|delay| delay.as_millis() as u64).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    }

    fn clock() -> ManualClock {
        ManualClock::new(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap())
    }

    /// Each attempt takes a second of the clock's time, as a refused connection to a slow
    /// resolver might; the pauses are virtual (paused tokio time).
    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_until_the_bound_and_the_last_cause_is_kept() {
        let clock = clock();
        let attempts = AtomicU32::new(0);
        let result: Result<(), _> = retry_until(&clock, Duration::from_secs(5), |_| {
            let number = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            clock.advance(chrono::Duration::seconds(1));
            async move { Err(AttemptError::Transient(format!("connection refused ({number})"))) }
        })
        .await;
        match result {
            Err(RuntimeError::DatabaseUnavailable { waited, attempts: made, cause }) => {
                assert_eq!(waited, Duration::from_secs(5));
                assert_eq!(made, 5, "one attempt per second of the clock");
                assert_eq!(cause, "connection refused (5)");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_failure_ends_the_wait_at_once() {
        let clock = clock();
        let attempts = AtomicU32::new(0);
        let result: Result<(), _> = retry_until(&clock, Duration::from_secs(60), |_| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Err(AttemptError::Permanent(Error::invalid("url", "x", "bad"))) }
        })
        .await;
        assert!(matches!(result, Err(RuntimeError::Core(Error::Invalid { .. }))), "{result:?}");
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_database_answering_later_ends_the_wait_with_its_value() {
        let clock = clock();
        let attempts = AtomicU32::new(0);
        let result = retry_until(&clock, Duration::from_secs(60), |limit| {
            let number = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(limit >= MIN_ATTEMPT && limit <= MAX_ATTEMPT, "{limit:?}");
            async move {
                if number < 4 {
                    Err(AttemptError::Transient("the database system is starting up".into()))
                } else {
                    Ok(number)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_bound_makes_one_attempt() {
        let clock = clock();
        let attempts = AtomicU32::new(0);
        let result: Result<(), _> = retry_until(&clock, Duration::ZERO, |_| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async { Err(AttemptError::Transient("connection refused".into())) }
        })
        .await;
        assert!(matches!(result, Err(RuntimeError::DatabaseUnavailable { attempts: 1, .. })));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
