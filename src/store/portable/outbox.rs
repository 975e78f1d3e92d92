//! The outbox, and the events written with the changes they report (shared SQL; see `super`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, This};
use crate::error::Result;
use crate::event::{
    ClaimedEvent, Delivery, DeliveryFilter, DeliveryRecord, Event, EventClaim, EventOutcome,
    OutboxEvent, RunFailed, TenantThrottled, ThrottledLimit,
};
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::{codec, sql, OutboxStore, RunResult};

impl OutboxStore for This {
    async fn outbox_backlog(&self) -> Result<u64> {
        let count: i64 = sqlx::query_scalar(sql::OUTBOX_BACKLOG).fetch_one(self.reader()).await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn prune_notifications(&self, before: DateTime<Utc>, batch: u32) -> Result<(u64, u64)> {
        let batch = batch.max(1);
        let mut deleted = [0u64; 2];
        for (statement, total) in
            [sql::PRUNE_OUTBOX, sql::PRUNE_DELIVERIES].into_iter().zip(&mut deleted)
        {
            loop {
                let rows = sqlx::query(statement)
                    .bind(codec::ms(before))
                    .bind(i64::from(batch))
                    .execute(self.writer())
                    .await?
                    .rows_affected();
                *total += rows;
                if rows < u64::from(batch) {
                    break;
                }
            }
        }
        Ok((deleted[0], deleted[1]))
    }

    async fn list_outbox(&self, limit: u32) -> Result<Vec<OutboxEvent>> {
        let rows = sqlx::query(sql::LIST_OUTBOX)
            .bind(codec::bounded_limit(Some(limit), codec::DEFAULT_RUN_LIMIT))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(codec::outbox_event).collect()
    }

    async fn claim_events(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<ClaimedEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar(Self::PENDING_EVENTS)
            .bind(codec::ms(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let claim = format!("{}{}", sql::CLAIM_EVENTS, codec::placeholders(3, ids.len()));
        let mut query = sqlx::query(&claim).bind(node_id).bind(codec::expiry_ms(now, lease));
        for id in &ids {
            query = query.bind(*id);
        }
        query.execute(&mut *tx).await?;
        let read = format!("{}{}", sql::CLAIMED_EVENTS, codec::placeholders(1, ids.len()));
        let mut query = sqlx::query(&read);
        for id in &ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        let mut events = rows.iter().map(codec::claimed_event).collect::<Result<Vec<_>>>()?;
        // In the order they were due.
        events.sort_by_key(|claimed| ids.iter().position(|id| *id == claimed.event.id));
        Ok(events)
    }

    async fn finish_event(
        &self,
        claim: &EventClaim,
        deliveries: &[DeliveryRecord],
        outcome: EventOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let attempt = codec::to_i32("attempt", claim.attempt)?;
        let mut tx = self.begin_write().await?;
        // Logged whatever becomes of the claim: the attempts happened.
        for delivery in deliveries {
            sqlx::query(sql::INSERT_DELIVERY)
                .bind(codec::new_id(delivery.at))
                .bind(claim.event_id)
                .bind(delivery.channel.as_str())
                .bind(&delivery.target)
                .bind(attempt)
                .bind(delivery.status.as_str())
                .bind(delivery.http_status.map(i32::from))
                .bind(delivery.smtp_reply.as_deref().map(codec::bound_error))
                .bind(delivery.error.as_deref().map(codec::bound_error))
                .bind(&claim.node_id)
                .bind(codec::ms(delivery.at))
                .bind(delivery.duration_ms)
                .bind(codec::opt_ms(delivery.next_attempt_at))
                .execute(&mut *tx)
                .await?;
        }
        let now_ms = codec::ms(now);
        let (delivered_at, failed_at, next_attempt_at) = match outcome {
            EventOutcome::Delivered => (Some(now_ms), None, None),
            EventOutcome::GaveUp => (None, Some(now_ms), None),
            EventOutcome::Retry { at } => (None, None, Some(codec::ms(at))),
        };
        let finished = sqlx::query(sql::FINISH_EVENT)
            .bind(claim.event_id)
            .bind(&claim.node_id)
            .bind(attempt)
            .bind(delivered_at)
            .bind(failed_at)
            .bind(next_attempt_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(finished == 1)
    }

    async fn list_deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        let limit = codec::bounded_limit(filter.limit, codec::DEFAULT_RUN_LIMIT);
        let mut query = sqlx::QueryBuilder::<Db>::new(sql::SELECT_DELIVERIES);
        query.push(" WHERE 1 = 1");
        if let Some(tenant) = &filter.tenant {
            query.push(" AND t.name = ").push_bind(tenant.as_str());
        }
        if let Some(event_id) = filter.event_id {
            query.push(" AND d.event_id = ").push_bind(event_id);
        }
        query.push(" ORDER BY d.at DESC, d.id DESC LIMIT ").push_bind(limit);
        let rows = query.build().fetch_all(self.reader()).await?;
        rows.iter().map(codec::delivery).collect()
    }
}

impl This {
    /// Writes `event` to the outbox in the transaction of the change it reports; its id (the
    /// one receivers deduplicate with) is made at `occurred_at`.
    pub(crate) async fn write_event(
        tx: &mut sqlx::Transaction<'static, Db>,
        event: &Event,
        tenant_id: Uuid,
        job_id: Option<Uuid>,
        occurred_at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(sql::INSERT_OUTBOX)
            .bind(codec::new_id(occurred_at))
            .bind(event.kind().as_str())
            .bind(tenant_id)
            .bind(job_id)
            .bind(codec::ms(occurred_at))
            .bind(sqlx::types::Json(event.data()))
            .bind(codec::ms(occurred_at))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Writes many events (each with its tenant and job) to the outbox in the transaction of
    /// the change they report, in batches of [`codec::INSERT_BATCH`] rows per statement.
    pub(crate) async fn write_events(
        tx: &mut sqlx::Transaction<'static, Db>,
        events: Vec<(Event, Uuid, Option<Uuid>)>,
        occurred_at: DateTime<Utc>,
    ) -> Result<()> {
        let at = codec::ms(occurred_at);
        let mut events = events.into_iter().peekable();
        while events.peek().is_some() {
            let batch: Vec<_> = events.by_ref().take(codec::INSERT_BATCH).collect();
            let mut insert = sqlx::QueryBuilder::<Db>::new(sql::INSERT_OUTBOX_HEAD);
            insert.push_values(batch, |mut row, (event, tenant_id, job_id)| {
                row.push_bind(codec::new_id(occurred_at))
                    .push_bind(event.kind().as_str())
                    .push_bind(tenant_id)
                    .push_bind(job_id)
                    .push_bind(at)
                    .push_bind(sqlx::types::Json(event.data()))
                    .push_bind(at)
                    .push_bind(at);
            });
            insert.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// A `run.failed` outbox event for a failed occurrence, if its tenant opted in.
    pub(crate) async fn write_run_failed(
        tx: &mut sqlx::Transaction<'static, Db>,
        job_id: Uuid,
        result: &RunResult,
    ) -> Result<()> {
        let Some(row) = sqlx::query(sql::RUN_FAILED_EVENT)
            .bind(result.run_id)
            .bind(job_id)
            .fetch_optional(&mut **tx)
            .await?
        else {
            return Ok(());
        };
        let event = Event::RunFailed(RunFailed {
            job: row.text("name")?,
            run_id: result.run_id,
            status: result.status,
            attempt: row.int("attempt")?,
            trigger: row.text("trigger")?,
            scheduled_at: DateTime::from_timestamp_millis(row.bigint("scheduled_at")?),
            error: result.error.as_deref().map(codec::bound_error),
            exit_code: result.exit_code,
            http_status: result.http_status,
        });
        let tenant_id = row.uuid("tenant_id")?;
        Self::write_event(tx, &event, tenant_id, Some(job_id), result.finished_at).await
    }

    /// After a claim that started runs, in its transaction: a `tenant.throttled` event for
    /// each of `tenants` that opted in and whose ready runs its rate limit now holds back,
    /// at most once per window (see `sql::MARK_THROTTLED`).
    pub(crate) async fn write_throttled(
        tx: &mut sqlx::Transaction<'static, Db>,
        now: DateTime<Utc>,
        tenants: &[Uuid],
    ) -> Result<()> {
        if tenants.is_empty() {
            return Ok(());
        }
        let statement = format!(
            "{}{}{}",
            sql::MARK_THROTTLED,
            codec::placeholders(2, tenants.len()),
            sql::MARK_THROTTLED_RETURNING
        );
        let mut query = sqlx::query(&statement).bind(codec::ms(now));
        for id in tenants {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&mut **tx).await?;
        for row in &rows {
            let window_ms = row.bigint("rate_limit_window_ms")?;
            let event = Event::TenantThrottled(TenantThrottled {
                tenant: row.text("name")?,
                rate_limit: ThrottledLimit { count: row.int("rate_limit_count")?, window_ms },
                window_ends_at: DateTime::from_timestamp_millis(codec::ms(now) + window_ms),
            });
            Self::write_event(tx, &event, row.uuid("id")?, None, now).await?;
        }
        Ok(())
    }
}
