//! Notifications as people see them: the outbox's events, the delivery log of every attempt on
//! every channel, and their retention. Delivering is the worker's job ([`crate::notify`]).

use super::{check_limit, retention_cutoff, Rota, MAX_LOG_ENTRIES, PRUNE_BATCH};
use crate::error::Result;
use crate::store::Store;

pub use crate::event::{Delivery, DeliveryFilter, OutboxEvent};

impl<S: Store> Rota<S> {
    /// The outbox's events (`job.auto_disabled`, `job.re_enabled`, `run.failed`,
    /// `tenant.throttled`), oldest first.
    pub async fn outbox_events(&self, limit: u32) -> Result<Vec<OutboxEvent>> {
        self.store.list_outbox(limit).await
    }

    /// The notification delivery log, newest first: every attempt on every channel.
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        if let Some(limit) = filter.limit {
            check_limit("limit", limit, MAX_LOG_ENTRIES)?;
        }
        self.store.list_deliveries(filter).await
    }

    /// Deletes notification events settled (delivered or given up on) more than
    /// `older_than_days` ago and the delivery log of that age, except the attempts of events
    /// still being delivered; returns (events, deliveries) deleted.
    pub async fn prune_notifications(&self, older_than_days: u32) -> Result<(u64, u64)> {
        let before = retention_cutoff(older_than_days, self.now())?;
        self.require_admin().await?;
        self.store.prune_notifications(before, PRUNE_BATCH).await
    }
}
