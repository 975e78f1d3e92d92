//! The run queue: the engine's steps (shared SQL; see `super`).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, This};
use crate::audit::{AuditAction, NewAuditEntry};
use crate::engine::plan::{DueJob, PlannedRun, TickPlan};
use crate::error::Result;
use crate::event::{Event, JobAutoDisabled};
use crate::run::{Run, RunStatus, Trigger};
use crate::store::codec::RowAccess;
use crate::store::dialect::{Dialect, FastClaim};
use crate::store::queue::split_successes;
use crate::store::AUTO_DISABLED_REASON;
use crate::store::{codec, sql, ClaimedRun, RunQueue, RunResult, TickReport};

impl RunQueue for This {
    async fn enqueue_due(
        &self,
        now: DateTime<Utc>,
        due_until: DateTime<Utc>,
        limit: u32,
        plan: &(dyn Fn(&DueJob) -> TickPlan + Send + Sync),
    ) -> Result<TickReport> {
        let now_ms = codec::ms(now);
        let mut tx = self.begin_write().await?;
        // Each due job's running/queued probes must not scan `runs` (measured on Postgres:
        // a tick of 167 due jobs grew to 350 ms within a minute of a fresh start).
        Self::use_indexes(&mut tx).await?;
        let due = sqlx::query(Self::DUE_JOBS)
            .bind(codec::ms(due_until))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        // Rows to insert per job, and (job, next_run_at) to write.
        let mut queued: Vec<(Uuid, Uuid, PlannedRun)> = Vec::new();
        let mut recorded: Vec<(Uuid, Uuid, PlannedRun)> = Vec::new();
        let mut supersede: Vec<(Uuid, String)> = Vec::new();
        let mut advances: Vec<(Uuid, Option<i64>)> = Vec::with_capacity(due.len());
        for row in &due {
            let job = codec::due_job(row)?;
            let planned = plan(&job);
            if let Some(reason) = planned.supersede {
                supersede.push((job.job_id, reason));
            }
            for run in planned.runs {
                if run.status == RunStatus::Queued {
                    queued.push((job.job_id, job.tenant_id, run));
                } else {
                    recorded.push((job.job_id, job.tenant_id, run));
                }
            }
            advances.push((job.job_id, codec::opt_ms(planned.next_run_at)));
        }
        let mut report = TickReport { jobs: advances.len() as u64, ..Default::default() };
        // Before the inserts, so that the new run is not among the superseded ones.
        for (job_id, reason) in &supersede {
            let reason = codec::bound_error(reason);
            sqlx::query(sql::SUPERSEDE_QUEUED)
                .bind(job_id)
                .bind(now_ms)
                .bind(&reason)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql::REQUEST_CANCEL).bind(job_id).bind(&reason).execute(&mut *tx).await?;
        }
        // Batched: a tick of 10,000 due jobs is a few dozen statements, not 20,000.
        for (rows, counter) in [(&queued, &mut report.enqueued), (&recorded, &mut report.recorded)]
        {
            for chunk in rows.chunks(codec::INSERT_BATCH) {
                let mut insert = sqlx::QueryBuilder::<Db>::new(sql::INSERT_RUNS);
                insert.push_values(chunk, |mut values, (job_id, tenant_id, run)| {
                    let is_queued = run.status == RunStatus::Queued;
                    values
                        .push_bind(codec::new_id(now))
                        .push_bind(*job_id)
                        .push_bind(*tenant_id)
                        .push_bind(codec::ms(run.scheduled_at))
                        .push_bind(Trigger::Schedule.as_str())
                        .push_bind(1_i32)
                        .push_bind(run.status.as_str())
                        .push_bind(now_ms)
                        // A planned occurrence in the future does not start early.
                        .push_bind(codec::ms(run.not_before))
                        .push_bind((!is_queued).then_some(now_ms))
                        .push_bind(run.reason.as_deref().map(codec::bound_error))
                        .push_bind(run.waited_for.map(|waited| waited.as_str()));
                });
                insert.push(sql::ON_OCCURRENCE_CONFLICT);
                *counter += insert.build().execute(&mut *tx).await?.rows_affected();
            }
        }
        for chunk in advances.chunks(codec::INSERT_BATCH) {
            let mut advance = sqlx::QueryBuilder::<Db>::new(sql::ADVANCE_JOBS_HEAD);
            advance.push_values(chunk, |mut values, &(job_id, next_run_at)| {
                values.push_bind(job_id).push_bind(next_run_at);
            });
            advance.push(sql::ADVANCE_JOBS_TAIL);
            advance.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(report)
    }

    async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> =
            sqlx::query_scalar(sql::NEXT_DUE_AT).fetch_one(self.reader()).await?;
        codec::opt_instant_value("jobs.next_run_at", next)
    }

    async fn next_ready_at(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> =
            sqlx::query_scalar(sql::NEXT_READY_AT).fetch_one(self.reader()).await?;
        codec::opt_instant_value("runs.not_before", next)
    }

    /// A read, planned with the claim's indexes (see [`Dialect::use_indexes`]).
    async fn claimable_now(&self, now: DateTime<Utc>, ready_until: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.reader().begin().await?;
        Self::use_indexes(&mut tx).await?;
        let claimable: bool = sqlx::query_scalar(sql::CLAIMABLE_NOW)
            .bind(codec::ms(now))
            .bind(codec::ms(ready_until))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(claimable)
    }

    async fn next_lease_expiry(&self) -> Result<Option<DateTime<Utc>>> {
        let next: Option<i64> =
            sqlx::query_scalar(sql::NEXT_LEASE_EXPIRY).fetch_one(self.reader()).await?;
        codec::opt_instant_value("runs.lease_expires_at", next)
    }

    /// See [`Dialect::claim_in`].
    async fn claim(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        limit: u32,
        lease_ttl: Duration,
    ) -> Result<Vec<ClaimedRun>> {
        let fast = FastClaim { node_id, now, ready_until: now, limit, lease_ttl };
        if let Some((_, claimed)) = self.fast_cycle(&[], Some(fast)).await? {
            return Ok(claimed);
        }
        let mut tx = self.begin_cycle().await?;
        let claimed = Self::claim_in(&mut tx, node_id, now, now, limit, lease_ttl).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn complete(&self, results: &[RunResult]) -> Result<Vec<bool>> {
        crate::store::queue::check_final(results)?;
        if results.is_empty() {
            return Ok(Vec::new());
        }
        if let Some((accepted, _)) = self.fast_cycle(results, None).await? {
            return Ok(accepted);
        }
        // The cycle's transaction: the engine records results alone, or beside a claim in
        // another transaction (`Engine::record_and_dispatch`), with the same plans as when it
        // records them together with a claim.
        let mut tx = self.begin_cycle().await?;
        let accepted = Self::complete_in(&mut tx, results).await?;
        tx.commit().await?;
        Ok(accepted)
    }

    async fn record_and_claim(
        &self,
        results: &[RunResult],
        node_id: &str,
        now: DateTime<Utc>,
        ready_until: DateTime<Utc>,
        limit: u32,
        lease_ttl: Duration,
    ) -> Result<(Vec<bool>, Vec<ClaimedRun>)> {
        crate::store::queue::check_final(results)?;
        let fast = FastClaim { node_id, now, ready_until, limit, lease_ttl };
        if let Some(cycle) = self.fast_cycle(results, Some(fast)).await? {
            return Ok(cycle);
        }
        let mut tx = self.begin_cycle().await?;
        let accepted = Self::complete_in(&mut tx, results).await?;
        let claimed = Self::claim_in(&mut tx, node_id, now, ready_until, limit, lease_ttl).await?;
        tx.commit().await?;
        Ok((accepted, claimed))
    }

    async fn records_beside_claims(&self) -> bool {
        Self::CONCURRENT_WRITERS
    }

    async fn cancel_requested(&self, node_id: &str) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(sql::CANCEL_REQUESTED_RUNS)
            .bind(node_id)
            .fetch_all(self.reader())
            .await?)
    }

    async fn renew_leases(
        &self,
        node_id: &str,
        run_ids: &[Uuid],
        now: DateTime<Utc>,
        lease_ttl: Duration,
    ) -> Result<u64> {
        let mut renewed = 0;
        for chunk in run_ids.chunks(codec::INSERT_BATCH) {
            let statement = format!(
                "{}{}{}",
                sql::RENEW_LEASES_HEAD,
                codec::placeholders(3, chunk.len()),
                Self::RENEW_LEASES_TAIL
            );
            let mut query =
                sqlx::query(&statement).bind(node_id).bind(codec::expiry_ms(now, lease_ttl));
            for id in chunk {
                query = query.bind(*id);
            }
            renewed += query.execute(self.writer()).await?.rows_affected();
        }
        Ok(renewed)
    }

    async fn recover_expired(&self, now: DateTime<Utc>) -> Result<Vec<Run>> {
        let now_ms = codec::ms(now);
        let mut tx = self.begin_write().await?;
        let expired: Vec<Uuid> =
            sqlx::query_scalar(Self::EXPIRED_LEASES).bind(now_ms).fetch_all(&mut *tx).await?;
        let mut lost = Vec::with_capacity(expired.len());
        for id in expired {
            let marked = sqlx::query(sql::MARK_LOST)
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if marked == 0 {
                continue;
            }
            sqlx::query(sql::INSERT_NEXT_ATTEMPT)
                .bind(codec::new_id(now))
                .bind(Trigger::Recovery.as_str())
                .bind(now_ms)
                .bind(now_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(sql::RUN_BY_ID).bind(id).fetch_one(&mut *tx).await?;
            lost.push(codec::run(&row)?);
        }
        tx.commit().await?;
        Ok(lost)
    }

    async fn expire_leases_of_node(&self, node_id: &str, now: DateTime<Utc>) -> Result<u64> {
        let expired = sqlx::query(sql::EXPIRE_LEASES_OF_NODE)
            .bind(node_id)
            .bind(codec::ms(now) - 1)
            .execute(self.writer())
            .await?
            .rows_affected();
        Ok(expired)
    }

    async fn release(&self, node_id: &str, now: DateTime<Utc>) -> Result<u64> {
        // `not_before` and `queued_at` are left alone: released runs keep their place at the
        // front of their tenant's queue.
        let released = sqlx::query(sql::RELEASE)
            .bind(node_id)
            .bind(codec::ms(now))
            .execute(self.writer())
            .await?
            .rows_affected();
        Ok(released)
    }
}

impl This {
    /// Records `results` in `tx` (see [`Store::complete`]). Rows are locked in a fixed
    /// order (runs by id, then jobs by id), so that two batches completing at once can never
    /// wait for each other in a cycle.
    pub(crate) async fn complete_in(
        tx: &mut sqlx::Transaction<'static, Db>,
        results: &[RunResult],
    ) -> Result<Vec<bool>> {
        let mut accepted = vec![false; results.len()];
        if results.is_empty() {
            return Ok(accepted);
        }
        // Every run row in one statement per chunk, not one per result: at a few thousand
        // runs a second the statements, not the rows, are the cost. A run listed twice
        // (never, from the engine) is tried again in a later round only if its first result
        // was refused, as if the results were recorded one by one.
        let mut finished_jobs: Vec<(Uuid, usize)> = Vec::with_capacity(results.len());
        let mut pending: Vec<usize> = (0..results.len()).collect();
        let mut tested: Vec<Uuid> = Vec::new();
        // The engine's usual batch: distinct runs, all succeeded for good. Where the backend
        // records runs and jobs in one statement, that is the whole completion.
        let mut jobs_recorded = false;
        let distinct = results.iter().map(|result| result.run_id).collect::<HashSet<_>>().len();
        if distinct == results.len()
            && results.len() <= codec::COMPLETE_BATCH
            && results
                .iter()
                .all(|result| result.status == RunStatus::Succeeded && result.retry_at.is_none())
        {
            pending.sort_by_key(|&index| results[index].run_id);
            if let Some(done) = Self::complete_succeeded(tx, results, &pending).await? {
                for (index, job_id) in done {
                    accepted[index] = true;
                    // A test run (no job) touches no job.
                    if let Some(job_id) = job_id {
                        finished_jobs.push((job_id, index));
                    }
                }
                pending.clear();
                jobs_recorded = true;
            }
        }
        while !pending.is_empty() {
            let mut seen = HashSet::new();
            let (mut round, later): (Vec<usize>, Vec<usize>) =
                pending.iter().partition(|&&index| seen.insert(results[index].run_id));
            round.sort_by_key(|&index| results[index].run_id);
            for chunk in round.chunks(codec::COMPLETE_BATCH) {
                for (index, job_id) in Self::complete_runs(tx, results, chunk).await? {
                    accepted[index] = true;
                    // A test run (no job) touches no job: no streak, no last run, no retry.
                    match job_id {
                        Some(job_id) => finished_jobs.push((job_id, index)),
                        None => tested.push(results[index].run_id),
                    }
                }
            }
            pending = later
                .into_iter()
                .filter(|&index| {
                    !tested.contains(&results[index].run_id)
                        && !finished_jobs
                            .iter()
                            .any(|&(_, done)| results[done].run_id == results[index].run_id)
                })
                .collect();
        }
        // A refused result may be one this claim recorded already: sent again because the
        // answer to its first COMMIT was lost with the connection. The run then holds exactly
        // this outcome under this claim; it counts as recorded (its effects on the job were
        // written by that first transaction and are not repeated). Anything else was fenced out.
        let refused: Vec<usize> = (0..results.len()).filter(|&index| !accepted[index]).collect();
        for chunk in refused.chunks(codec::COMPLETE_BATCH) {
            let statement = format!("{}{}", sql::RUN_OUTCOMES, codec::placeholders(1, chunk.len()));
            let mut query = sqlx::query(&statement);
            for &index in chunk {
                query = query.bind(results[index].run_id);
            }
            for row in query.fetch_all(&mut **tx).await? {
                let id = row.uuid("id")?;
                for &index in chunk {
                    let result = &results[index];
                    if result.run_id == id
                        && !accepted[index]
                        && row.opt_text("lease_owner")?.as_deref() == Some(result.node_id.as_str())
                        && row.bigint("fencing_token")? == result.fencing_token
                        && row.text("status")? == result.status.as_str()
                        && row.opt_bigint("finished_at")? == Some(codec::ms(result.finished_at))
                    {
                        accepted[index] = true;
                        break;
                    }
                }
            }
        }
        // Jobs are locked in id order before any is written (Postgres; SQLite's write lock
        // is already exclusive), so that two batches finishing runs of the same jobs on two
        // nodes never wait for each other in a cycle. A job whose every result here succeeded
        // only needs its streak reset and its last run moved: one statement for all of them,
        // with the locks. Anything else (a failure, a retry, a cancellation) goes result by
        // result below, in the order the results finished.
        let mut job_ids: Vec<Uuid> = finished_jobs.iter().map(|&(job, _)| job).collect();
        job_ids.sort_unstable();
        job_ids.dedup();
        let (succeeded, mixed) = split_successes(&finished_jobs, results);
        if !jobs_recorded {
            Self::finish_jobs(tx, &job_ids, &succeeded).await?;
        }
        finished_jobs.retain(|(job_id, _)| mixed.contains(job_id));
        finished_jobs.sort_by_key(|&(job_id, index)| (job_id, results[index].finished_at));
        for &(job_id, index) in &finished_jobs {
            let result = &results[index];
            // An occurrence failed when its last attempt did: no retry follows.
            let failed_occurrence = result.retry_at.is_none()
                && matches!(
                    result.status,
                    RunStatus::Failed | RunStatus::TimedOut | RunStatus::Lost
                );
            let statement = if result.status == RunStatus::Succeeded {
                sql::JOB_SUCCEEDED
            } else if failed_occurrence {
                sql::JOB_FAILED
            } else {
                sql::JOB_FINISHED
            };
            let query = sqlx::query(statement).bind(job_id).bind(codec::ms(result.finished_at));
            if failed_occurrence {
                let error = result.error.as_deref().unwrap_or(result.status.as_str());
                query.bind(codec::bound_error(error)).execute(&mut **tx).await?;
                Self::write_run_failed(tx, job_id, result).await?;
                // The job as the failure left it: the audit log's `before` if the engine
                // disables it now.
                let before = Self::job_in(tx, job_id).await?;
                // Whether the failure disables the job is the policy's rule
                // (`JobPolicy::auto_disable_threshold`), decided on the job as this transaction
                // locked it (`JOB_FAILED` took its row lock).
                let tenant = sqlx::query(sql::TENANT_BY_NAME)
                    .bind(&before.tenant)
                    .fetch_one(&mut **tx)
                    .await?;
                let tenant_default = codec::tenant(&tenant)?.policy.default_auto_disable_after;
                let threshold = before.policy.auto_disable_threshold(tenant_default);
                let disables = before.on_probation
                    || threshold.is_some_and(|limit| before.consecutive_failures >= limit);
                // Exactly one transition and one event, whatever the number of nodes: see
                // `AUTO_DISABLE_JOB`.
                let disabled = if disables {
                    sqlx::query(sql::AUTO_DISABLE_JOB)
                        .bind(job_id)
                        .bind(codec::ms(result.finished_at))
                        .bind(AUTO_DISABLED_REASON)
                        .fetch_optional(&mut **tx)
                        .await?
                } else {
                    None
                };
                if let Some(row) = disabled {
                    let event = Event::JobAutoDisabled(JobAutoDisabled {
                        job: row.text("name")?,
                        reason: AUTO_DISABLED_REASON.to_owned(),
                        consecutive_failures: row.int("consecutive_failures")?,
                        probation: row.flag("on_probation")?,
                        last_error: row.opt_text("last_error")?,
                        run_id: result.run_id,
                    });
                    let tenant_id = row.uuid("tenant_id")?;
                    Self::write_event(tx, &event, tenant_id, Some(job_id), result.finished_at)
                        .await?;
                    let after = Self::job_in(tx, job_id).await?;
                    let entry = NewAuditEntry::job(
                        AuditAction::JobAutoDisabled,
                        crate::audit::ENGINE_OPERATOR,
                        result.finished_at,
                        Some(&before),
                        Some(&after),
                    );
                    Self::write_audit(tx, entry).await?;
                }
            } else {
                query.execute(&mut **tx).await?;
            }
            if let Some(retry_at) = result.retry_at {
                sqlx::query(sql::INSERT_NEXT_ATTEMPT)
                    .bind(codec::new_id(result.finished_at))
                    .bind(Trigger::Retry.as_str())
                    .bind(codec::ms(result.finished_at))
                    .bind(codec::ms(retry_at))
                    .bind(result.run_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(accepted)
    }
}
