//! Events for tenants, typed, and the records of their delivery. A leaf module: the store
//! writes and reads these records (the outbox and the delivery log) and the notification worker
//! ([`crate::notify`]) delivers them; neither imports the other for them.
//!
//! An event is stored as its type (`outbox.type`, under a `CHECK`) and its data (JSON); on the
//! wire (webhook bodies, `--json` listings) it is `"type": "...", "data": {...}` as before.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::handler::SigningSecret;
use crate::run::RunStatus;
use crate::text_enum::text_enum;

/// Something that happened to a tenant's jobs, with its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Event {
    /// Rota disabled a job after consecutive failed occurrences (or a failure on probation).
    #[serde(rename = "job.auto_disabled")]
    JobAutoDisabled(JobAutoDisabled),
    /// A person enabled a disabled job again.
    #[serde(rename = "job.re_enabled")]
    JobReEnabled(JobReEnabled),
    /// An occurrence failed (its last attempt did), for tenants that opted in.
    #[serde(rename = "run.failed")]
    RunFailed(RunFailed),
    /// A claim found the tenant's ready runs held back by its rate limit (at most once per
    /// window), for tenants that opted in.
    #[serde(rename = "tenant.throttled")]
    TenantThrottled(TenantThrottled),
}

/// The data of [`Event::JobAutoDisabled`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobAutoDisabled {
    pub job: String,
    /// Always `auto` (kept for receivers written against earlier versions).
    pub reason: String,
    pub consecutive_failures: i32,
    /// Whether the job was on probation (re-enabled, its next failure disables it again).
    pub probation: bool,
    pub last_error: Option<String>,
    /// The run whose failure disabled it.
    pub run_id: Uuid,
}

/// The data of [`Event::JobReEnabled`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobReEnabled {
    pub job: String,
    pub operator: String,
    pub probation: bool,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// The data of [`Event::RunFailed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFailed {
    pub job: String,
    pub run_id: Uuid,
    pub status: RunStatus,
    pub attempt: i32,
    pub trigger: String,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub exit_code: Option<i32>,
    pub http_status: Option<i32>,
}

/// The data of [`Event::TenantThrottled`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantThrottled {
    pub tenant: String,
    pub rate_limit: ThrottledLimit,
    /// When the window that filled up ends.
    pub window_ends_at: Option<DateTime<Utc>>,
}

/// The rate limit a [`TenantThrottled`] event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottledLimit {
    pub count: i32,
    pub window_ms: i64,
}

/// The type of an [`Event`], as stored in `outbox.type` (under a `CHECK`) and sent in the
/// `Rota-Event-Type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    JobAutoDisabled,
    JobReEnabled,
    RunFailed,
    TenantThrottled,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::JobAutoDisabled(_) => EventKind::JobAutoDisabled,
            Event::JobReEnabled(_) => EventKind::JobReEnabled,
            Event::RunFailed(_) => EventKind::RunFailed,
            Event::TenantThrottled(_) => EventKind::TenantThrottled,
        }
    }

    /// The event's data as stored and sent (`data`).
    pub fn data(&self) -> serde_json::Value {
        let value = match self {
            Event::JobAutoDisabled(data) => serde_json::to_value(data),
            Event::JobReEnabled(data) => serde_json::to_value(data),
            Event::RunFailed(data) => serde_json::to_value(data),
            Event::TenantThrottled(data) => serde_json::to_value(data),
        };
        value.unwrap_or_default()
    }

    /// The event stored as `kind` with `data`; an error names what does not fit.
    pub fn from_parts(kind: &str, data: serde_json::Value) -> Result<Event> {
        let kind: EventKind = kind.parse()?;
        let invalid = |error: serde_json::Error| {
            Error::invalid("outbox.data", kind, format!("does not fit the event type: {error}"))
        };
        Ok(match kind {
            EventKind::JobAutoDisabled => {
                Event::JobAutoDisabled(serde_json::from_value(data).map_err(invalid)?)
            }
            EventKind::JobReEnabled => {
                Event::JobReEnabled(serde_json::from_value(data).map_err(invalid)?)
            }
            EventKind::RunFailed => {
                Event::RunFailed(serde_json::from_value(data).map_err(invalid)?)
            }
            EventKind::TenantThrottled => {
                Event::TenantThrottled(serde_json::from_value(data).map_err(invalid)?)
            }
        })
    }

    /// The job the event is about, by the name it had then.
    pub fn job_name(&self) -> Option<&str> {
        match self {
            Event::JobAutoDisabled(data) => Some(&data.job),
            Event::JobReEnabled(data) => Some(&data.job),
            Event::RunFailed(data) => Some(&data.job),
            Event::TenantThrottled(_) => None,
        }
    }
}

text_enum!(EventKind, "event type", {
    JobAutoDisabled => "job.auto_disabled",
    JobReEnabled => "job.re_enabled",
    RunFailed => "run.failed",
    TenantThrottled => "tenant.throttled",
});

/// An event for a tenant, written to the outbox in the same transaction as the change it
/// reports. The notification worker delivers it; its id is the stable id receivers deduplicate
/// with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub id: Uuid,
    /// `"type"` and `"data"`.
    #[serde(flatten)]
    pub event: Event,
    pub tenant_id: Uuid,
    pub job_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn event_types_round_trip_and_unknown_ones_are_named() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), *kind);
        }
        let error = "job.exploded".parse::<EventKind>().unwrap_err().to_string();
        assert!(error.contains("job.exploded") && error.contains("run.failed"), "{error}");
    }

    #[test]
    fn stored_data_that_does_not_fit_its_type_is_an_error_naming_the_column() {
        let event = Event::TenantThrottled(TenantThrottled {
            tenant: "acme".into(),
            rate_limit: ThrottledLimit { count: 5, window_ms: 60_000 },
            window_ends_at: None,
        });
        let stored = event.data();
        assert_eq!(Event::from_parts("tenant.throttled", stored.clone()).unwrap(), event);
        let error = Event::from_parts("run.failed", stored).unwrap_err().to_string();
        assert!(error.contains("outbox.data"), "{error}");
    }

    #[test]
    fn an_outbox_event_serializes_with_type_and_data_as_before() {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let event = OutboxEvent {
            id: Uuid::from_u128(1),
            event: Event::JobReEnabled(JobReEnabled {
                job: "nightly".into(),
                operator: "alice".into(),
                probation: true,
                next_run_at: None,
            }),
            tenant_id: Uuid::from_u128(2),
            job_id: Some(Uuid::from_u128(3)),
            occurred_at: at,
            created_at: at,
            delivered_at: None,
        };
        let value = serde_json::to_value(&event).unwrap();
        assert_eq!(value["type"], "job.re_enabled");
        assert_eq!(value["data"]["operator"], "alice");
        let back: OutboxEvent = serde_json::from_value(value).unwrap();
        assert_eq!(back, event);
    }
}
