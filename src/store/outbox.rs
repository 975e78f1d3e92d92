//! The outbox: events for tenants, claimed and delivered by the notification worker.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;

/// An event for a tenant, written to the outbox in the same transaction as the change it
/// reports. The notification worker ([`crate::notify`]) delivers it; its id is the stable id
/// receivers deduplicate with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub id: Uuid,
    /// `job.auto_disabled`, `job.re_enabled`, `run.failed` or `tenant.throttled`.
    #[serde(rename = "type")]
    pub kind: String,
    pub tenant_id: Uuid,
    pub job_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The outbox event written when Rota disables a job after failures.
pub const EVENT_JOB_AUTO_DISABLED: &str = "job.auto_disabled";
/// The outbox event written when a person enables a disabled job again.
pub const EVENT_JOB_RE_ENABLED: &str = "job.re_enabled";
/// The outbox event written when an occurrence failed (its last attempt did), for tenants that
/// opted in ([`TenantSettings::notify_run_failed`]).
pub const EVENT_RUN_FAILED: &str = "run.failed";
/// The outbox event written when a claim finds a tenant's ready runs held back by its rate
/// limit, at most once per window, for tenants that opted in
/// ([`TenantSettings::notify_throttled`]).
pub const EVENT_TENANT_THROTTLED: &str = "tenant.throttled";

store_concern! {
    /// The outbox: events for tenants, claimed and delivered by the notification worker.
    pub trait OutboxStore {
        /// Claims up to `limit` outbox events that are due (new, or whose backoff has passed) for
        /// `node_id`, oldest due first, skipping events another node is claiming (Postgres `SKIP
        /// LOCKED`; SQLite's single writer): each claim counts an attempt and moves the event's
        /// next attempt to the end of the `lease`, so it is due again only if this node never
        /// reports back. Returns each with its tenant's channels.
        fn claim_events(&self, node_id: &str, now: DateTime<Utc>, limit: u32, lease: Duration) -> Result<Vec<crate::notify::ClaimedEvent>>;

        /// Logs the delivery attempts of a claimed event and, if the claim is still this node's
        /// (the same attempt), marks the event delivered, due again at the retry instant, or given
        /// up, in one transaction. Returns whether the claim was still this node's.
        fn finish_event(&self, claim: &crate::notify::EventClaim, deliveries: &[crate::notify::DeliveryRecord], outcome: crate::notify::EventOutcome, now: DateTime<Utc>) -> Result<bool>;

        /// The delivery log, newest first.
        fn list_deliveries(&self, filter: &crate::notify::DeliveryFilter) -> Result<Vec<crate::notify::Delivery>>;

        /// The outbox's events, oldest first.
        fn list_outbox(&self, limit: u32) -> Result<Vec<OutboxEvent>>;

        /// Deletes outbox events settled (delivered, or given up on) before `before`, and delivery
        /// attempts logged before `before` except those of events still being delivered; in
        /// batches of `batch`. Returns (events, deliveries) deleted.
        fn prune_notifications(&self, before: DateTime<Utc>, batch: u32) -> Result<(u64, u64)>;
    }
}
