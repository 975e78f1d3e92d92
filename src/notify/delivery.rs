//! The records of notification delivery: what a claim hands the worker, what the worker reports
//! back, and the delivery log people read (`rota notifications list`). Plus the retry policy,
//! pure and table-tested.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::handler::SigningSecret;
use crate::policy::Backoff;
use crate::store::OutboxEvent;
use crate::text_enum::text_enum;

/// Where a notification goes. Stored as text under a `CHECK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A signed JSON `POST` to the tenant's `webhook_url`.
    Webhook,
    /// An email to the tenant's `notify_email`.
    Email,
}

/// How one delivery attempt ended. Stored as text under a `CHECK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Delivered,
    /// It failed; the event is attempted again after the backoff.
    Retrying,
    /// It failed and it was the last attempt: the worker gave up.
    Failed,
}

text_enum!(Channel, "channel", { Webhook => "webhook", Email => "email" });
text_enum!(DeliveryStatus, "status", {
    Delivered => "delivered",
    Retrying => "retrying",
    Failed => "failed",
});

/// An outbox event claimed by a worker, with what delivering it needs.
#[derive(Debug, Clone)]
pub struct ClaimedEvent {
    pub event: OutboxEvent,
    /// This claim's attempt (1 for the first); it fences the report.
    pub attempt: u32,
    pub tenant: String,
    /// The job's name now, if it still exists.
    pub job: Option<String>,
    /// The tenant's channels as they are now (a fixed URL or a new secret applies to retries).
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<SigningSecret>,
    pub notify_email: Option<String>,
    /// Channels an earlier attempt delivered already: not sent again.
    pub delivered: Vec<Channel>,
}

impl ClaimedEvent {
    pub fn claim(&self, node_id: &str) -> EventClaim {
        EventClaim { event_id: self.event.id, node_id: node_id.to_owned(), attempt: self.attempt }
    }
}

/// Which claim a report is for: the store accepts it only while the event is still claimed by
/// this node at this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventClaim {
    pub event_id: Uuid,
    pub node_id: String,
    pub attempt: u32,
}

/// One attempt on one channel, to be logged.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub channel: Channel,
    /// The URL (never with a password) or the address.
    pub target: String,
    pub status: DeliveryStatus,
    pub http_status: Option<u16>,
    /// The SMTP server's last reply (code and text).
    pub smtp_reply: Option<String>,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
    /// For `retrying`: when the next attempt is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// What becomes of a claimed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// Every channel has it (or the tenant has none): done.
    Delivered,
    /// A channel failed: attempt again at this instant (channels that got it are not resent).
    Retry { at: DateTime<Utc> },
    /// A channel failed on the last attempt.
    GaveUp,
}

/// One row of the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: Uuid,
    /// The outbox event's id: the `id` receivers deduplicate with.
    pub event_id: Uuid,
    pub event_type: String,
    pub tenant_id: Uuid,
    pub tenant: Option<String>,
    pub channel: Channel,
    pub target: String,
    pub attempt: u32,
    pub status: DeliveryStatus,
    pub http_status: Option<u16>,
    pub smtp_reply: Option<String>,
    pub error: Option<String>,
    /// The node that attempted it.
    pub node: String,
    pub at: DateTime<Utc>,
    pub duration_ms: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Which rows of the delivery log to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Deliveries of this tenant's events (by name).
    pub tenant: Option<String>,
    /// The attempts for one event.
    pub event_id: Option<Uuid>,
    /// At most this many (default 100, at most 10,000).
    pub limit: Option<u32>,
}

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

    #[test]
    fn texts_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(channel.as_str().parse::<Channel>().unwrap(), *channel);
        }
        for status in DeliveryStatus::ALL {
            assert_eq!(status.as_str().parse::<DeliveryStatus>().unwrap(), *status);
        }
        assert!("sms".parse::<Channel>().is_err());
    }
}
