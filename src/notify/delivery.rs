//! The retry policy of notification delivery, pure and table-tested. (The records a claim hands
//! the worker and the delivery log are in [`crate::event`].)

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::event::EventOutcome;
use crate::policy::Backoff;

/// When attempts stop and how long the worker waits between them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPlan {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub backoff: Backoff,
}

impl Default for RetryPlan {
    /// 10 attempts, 10 s apart doubling to at most an hour: about 2.5 hours in all, enough to
    /// ride out a receiver's deploy or an SMTP server's restart.
    fn default() -> Self {
        RetryPlan {
            max_attempts: 10,
            backoff: Backoff::Exponential {
                initial: Duration::from_secs(10),
                multiplier: 2.0,
                max: Duration::from_secs(3600),
            },
        }
    }
}

impl RetryPlan {
    /// What follows a failed attempt number `attempt` (1-based) that ended at `now`.
    pub fn after_failure(&self, attempt: u32, now: DateTime<Utc>) -> EventOutcome {
        if attempt >= self.max_attempts {
            return EventOutcome::GaveUp;
        }
        let delay =
            chrono::Duration::from_std(self.backoff.base(attempt)).unwrap_or(chrono::Duration::MAX);
        EventOutcome::Retry { at: now + delay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_then_give_up() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let plan = RetryPlan::default();
        let secs = |s| EventOutcome::Retry { at: now + chrono::Duration::seconds(s) };
        let table = [(1, secs(10)), (2, secs(20)), (3, secs(40)), (9, secs(2560))];
        for (attempt, expected) in table {
            assert_eq!(plan.after_failure(attempt, now), expected, "attempt {attempt}");
        }
        assert_eq!(plan.after_failure(10, now), EventOutcome::GaveUp);
        let capped = RetryPlan { max_attempts: 100, ..plan };
        assert_eq!(capped.after_failure(30, now), secs(3600));
    }
}
