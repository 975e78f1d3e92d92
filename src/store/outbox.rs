//! The outbox: events for tenants, claimed and delivered by the notification worker.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::event::{
    ClaimedEvent, Delivery, DeliveryFilter, DeliveryRecord, EventClaim, EventOutcome, OutboxEvent,
};

store_concern! {
    /// The outbox: events for tenants, claimed and delivered by the notification worker.
    pub trait OutboxStore {
        /// Claims up to `limit` outbox events that are due (new, or whose backoff has passed) for
        /// `node_id`, oldest due first, skipping events another node is claiming (Postgres `SKIP
        /// LOCKED`; SQLite's single writer): each claim counts an attempt and moves the event's
        /// next attempt to the end of the `lease`, so it is due again only if this node never
        /// reports back. Returns each with its tenant's channels.
        fn claim_events(&self, node_id: &str, now: DateTime<Utc>, limit: u32, lease: Duration) -> Result<Vec<ClaimedEvent>>;

        /// Logs the delivery attempts of a claimed event and, if the claim is still this node's
        /// (the same attempt), marks the event delivered, due again at the retry instant, or given
        /// up, in one transaction. Returns whether the claim was still this node's.
        fn finish_event(&self, claim: &EventClaim, deliveries: &[DeliveryRecord], outcome: EventOutcome, now: DateTime<Utc>) -> Result<bool>;

        /// The delivery log, newest first.
        fn list_deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>>;

        /// How many events are neither delivered nor given up on (the notification backlog).
        fn outbox_backlog(&self) -> Result<u64>;

        /// The outbox's events, oldest first.
        fn list_outbox(&self, limit: u32) -> Result<Vec<OutboxEvent>>;

        /// Deletes outbox events settled (delivered, or given up on) before `before`, and delivery
        /// attempts logged before `before` except those of events still being delivered; in
        /// batches of `batch`. Returns (events, deliveries) deleted.
        fn prune_notifications(&self, before: DateTime<Utc>, batch: u32) -> Result<(u64, u64)>;
    }
}
