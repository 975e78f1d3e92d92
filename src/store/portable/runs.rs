//! Runs as people see them (shared SQL; see `super`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, This};
use crate::audit::{AuditAction, NewAuditEntry};
use crate::error::{Error, Result};
use crate::job::JobDefinition;
use crate::run::{Run, Trigger};
use crate::store::dialect::Dialect;
use crate::store::{codec, sql, BackfillReport, JobStore, RunFilter, RunStore};

impl RunStore for This {
    async fn enqueue_manual(
        &self,
        job_id: Uuid,
        payload: Option<&serde_json::Value>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Run> {
        let job = self.job(job_id).await?;
        let mut tx = self.begin_write().await?;
        // The occurrence key is (job, scheduled_at, attempt). Scheduled occurrences fall on
        // whole seconds (cron has no finer unit, and zone offsets are whole seconds), so a
        // manual run never takes a whole second: it could take the key of a scheduled
        // occurrence that the tick has not enqueued yet, and that occurrence would be lost.
        // A millisecond already taken (by another manual run) moves on by one millisecond.
        let mut scheduled_at = codec::ms(now);
        for _ in 0..codec::MANUAL_SLOT_ATTEMPTS {
            if scheduled_at.rem_euclid(1000) == 0 {
                scheduled_at += 1;
            }
            let id = codec::new_id(now);
            let inserted = sqlx::query(sql::INSERT_RUN)
                .bind(id)
                .bind(job_id)
                .bind(job.tenant_id)
                .bind(scheduled_at)
                .bind(Trigger::Manual.as_str())
                .bind(payload.map(sqlx::types::Json))
                .bind(codec::ms(now))
                .execute(&mut *tx)
                .await
                .map_err(|error| {
                    if codec::is_foreign_key_violation(&error) {
                        codec::not_found("job", job_id)
                    } else {
                        Error::from(error)
                    }
                })?
                .rows_affected();
            if inserted == 1 {
                let row = sqlx::query(sql::RUN_BY_ID).bind(id).fetch_one(&mut *tx).await?;
                let run = codec::run(&row)?;
                let after = serde_json::json!({
                    "run_id": run.id,
                    "scheduled_at": run.scheduled_at,
                    "payload": payload,
                });
                let entry = NewAuditEntry::job_operation(
                    AuditAction::JobTriggered,
                    operator,
                    now,
                    &job,
                    after,
                );
                Self::write_audit(&mut tx, entry).await?;
                tx.commit().await?;
                return Ok(run);
            }
            scheduled_at += 1;
        }
        Err(Error::invalid(
            "scheduled_at",
            now,
            "too many manual runs of this job were queued in the same second",
        ))
    }

    async fn enqueue_test(
        &self,
        tenant_id: Uuid,
        definition: &JobDefinition,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Run> {
        let id = codec::new_id(now);
        let mut tx = self.begin_write().await?;
        sqlx::query(sql::INSERT_TEST_RUN)
            .bind(id)
            .bind(tenant_id)
            .bind(sqlx::types::Json(definition))
            .bind(sqlx::types::Json(&definition.payload))
            .bind(codec::ms(now))
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(sql::RUN_BY_ID).bind(id).fetch_one(&mut *tx).await?;
        let run = codec::run(&row)?;
        let entry =
            NewAuditEntry::test_run(operator, now, tenant_id, &run.tenant, definition, run.id);
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(run)
    }

    async fn run(&self, id: Uuid) -> Result<Run> {
        let row = sqlx::query(sql::RUN_BY_ID)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| codec::not_found("run", id))?;
        codec::run(&row)
    }

    async fn backfill(
        &self,
        job_id: Uuid,
        occurrences: &[DateTime<Utc>],
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<BackfillReport> {
        let job = self.job(job_id).await?;
        let mut report =
            BackfillReport { occurrences: occurrences.len() as u64, ..Default::default() };
        let mut tx = self.begin_write().await?;
        for at in occurrences {
            report.queued += sqlx::query(sql::BACKFILL_RUN)
                .bind(codec::new_id(now))
                .bind(job_id)
                .bind(job.tenant_id)
                .bind(codec::ms(*at))
                .bind(codec::ms(now))
                .bind(None::<&str>)
                .bind(Trigger::Backfill.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        report.already_present = report.occurrences - report.queued;
        let after = serde_json::json!({
            "from": occurrences.first(),
            "to": occurrences.last(),
            "occurrences": report.occurrences,
            "queued": report.queued,
            "already_present": report.already_present,
        });
        let entry =
            NewAuditEntry::job_operation(AuditAction::JobBackfilled, operator, now, &job, after);
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(report)
    }

    async fn prune_runs(&self, before: DateTime<Utc>, keep_last: u32, batch: u32) -> Result<u64> {
        let batch = batch.max(1);
        let mut total = 0;
        loop {
            let deleted = sqlx::query(sql::PRUNE_RUNS)
                .bind(codec::ms(before))
                .bind(i64::from(keep_last))
                .bind(i64::from(batch))
                .execute(self.writer())
                .await?
                .rows_affected();
            total += deleted;
            if deleted < u64::from(batch) {
                return Ok(total);
            }
        }
    }

    async fn reclaim_space(&self) -> Result<bool> {
        Dialect::reclaim_space(self).await
    }

    async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        let limit = codec::bounded_limit(filter.limit, codec::DEFAULT_RUN_LIMIT);
        let mut query = sqlx::QueryBuilder::<Db>::new(sql::SELECT_RUNS);
        query.push(" WHERE 1 = 1");
        if let Some(tenant) = &filter.tenant {
            query.push(" AND t.name = ").push_bind(tenant.as_str());
        }
        if let Some(job) = &filter.job {
            query.push(" AND j.name = ").push_bind(job.as_str());
        }
        if let Some(job_id) = filter.job_id {
            query.push(" AND r.job_id = ").push_bind(job_id);
        }
        if let Some(status) = filter.status {
            query.push(" AND r.status = ").push_bind(status.as_str());
        }
        query
            .push(" ORDER BY r.scheduled_at DESC, r.attempt DESC, r.id DESC LIMIT ")
            .push_bind(limit);
        let rows = query.build().fetch_all(self.reader()).await?;
        rows.iter().map(codec::run).collect()
    }

    async fn occurrence_runs(&self, job_id: Uuid, scheduled_at: DateTime<Utc>) -> Result<Vec<Run>> {
        let rows = sqlx::query(sql::OCCURRENCE_RUNS)
            .bind(job_id)
            .bind(codec::ms(scheduled_at))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(codec::run).collect()
    }
}
