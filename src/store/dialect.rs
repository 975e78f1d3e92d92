//! The backend contract: what a database backend provides so that the shared SQL (`portable/`)
//! compiles against it. Everything a backend does differently is named here, with the reason
//! next to each backend's implementation (`postgres/mod.rs`, `sqlite/mod.rs`); everything else
//! is written once.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::{Pool, Transaction};
use uuid::Uuid;

use super::queue::{ClaimedRun, RunResult};
use crate::error::Result;

/// A database backend as the shared SQL sees it.
pub(crate) trait Dialect {
    /// The sqlx database type.
    type Db: sqlx::Database;

    // Statements whose text differs: row locks on Postgres, plain reads under SQLite's single
    // writer.
    /// A job by id, locked until the transaction ends.
    const LOCK_JOB: &'static str;
    /// A tenant by name, locked until the transaction ends.
    const LOCK_TENANT: &'static str;
    /// A tenant's settings by name, locked until the transaction ends.
    const LOCK_TENANT_SETTINGS: &'static str;
    /// A named handler's spec by name, locked until the transaction ends.
    const LOCK_NAMED_HANDLER: &'static str;
    /// A calendar by id (with its tenant's name), locked until the transaction ends.
    const LOCK_CALENDAR: &'static str;
    /// The due jobs a tick takes (skipping those another node is ticking, where that exists).
    const DUE_JOBS: &'static str;
    /// The expired leases a reaper takes (skipping those another node is reaping).
    const EXPIRED_LEASES: &'static str;
    /// Ends [`super::sql::RENEW_LEASES_HEAD`] after its list of run ids (skipping rows the
    /// node's own result writer holds, where row locks exist).
    const RENEW_LEASES_TAIL: &'static str;
    /// Whether sqlx's migration bookkeeping table exists (a boolean).
    const MIGRATIONS_TABLE_EXISTS: &'static str;
    /// The outbox events a notification worker takes (skipping those another node holds).
    const PENDING_EVENTS: &'static str;
    /// A bulk action's jobs, `v (id, version, next_run_at, probation)`, read from the JSON
    /// array bound as `$1` (a table expression for `FROM`).
    const BULK_JOB_ROWS: &'static str;
    /// Whether two write transactions run at once here (row locks, a server process each), so
    /// that recording results and claiming go faster side by side than in one transaction
    /// (see [`super::RunQueue::records_beside_claims`]). SQLite has one writer.
    const CONCURRENT_WRITERS: bool;

    /// The backend's migrations.
    fn migrator() -> &'static Migrator;
    /// Prepares the connection that applies migrations (lifting limits meant for the engine's
    /// statements), and restores it afterwards.
    fn before_migrations(
        connection: &mut <Self::Db as sqlx::Database>::Connection,
    ) -> impl Future<Output = Result<()>> + Send;
    fn after_migrations(
        connection: &mut <Self::Db as sqlx::Database>::Connection,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The pool for queries that only read.
    fn reader(&self) -> &Pool<Self::Db>;
    /// The pool for single-statement writes.
    fn writer(&self) -> &Pool<Self::Db>;
    /// A write transaction.
    fn begin_write(&self) -> impl Future<Output = Result<Transaction<'static, Self::Db>>> + Send;

    /// Claims up to `limit` runs ready by `ready_until` for `node_id` in `tx` (see
    /// [`super::RunQueue::claim`] for the rules both backends keep).
    fn claim_in(
        tx: &mut Transaction<'static, Self::Db>,
        node_id: &str,
        now: DateTime<Utc>,
        ready_until: DateTime<Utc>,
        limit: u32,
        lease_ttl: Duration,
    ) -> impl Future<Output = Result<Vec<ClaimedRun>>> + Send;
    /// Makes the rest of `tx` plan with the indexes made for the tick and the claim.
    fn use_indexes(
        tx: &mut Transaction<'static, Self::Db>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// After a retention pass: where the database does not reclaim deleted and updated rows by
    /// itself, reclaims them in the tables Rota churns; returns whether it did.
    fn reclaim_space(&self) -> impl Future<Output = Result<bool>> + Send;
    /// Who a change in `tx` is recorded as made by where a column or an event names a person
    /// (`jobs.enabled_by`, `job.re_enabled`): the database role on a backend that has roles
    /// (whatever the client calls itself, as in the audit log), else `operator`.
    fn acting_role(
        tx: &mut Transaction<'static, Self::Db>,
        operator: &str,
    ) -> impl Future<Output = Result<String>> + Send;
    /// Records `results` and claims (when `claim` is given) in one transaction on the backend's
    /// own fast path, if it has one and takes this cycle; `None`: nothing was written, the
    /// shared path runs it. Both keep the same rules (see [`super::RunQueue::record_and_claim`]).
    fn fast_cycle(
        &self,
        results: &[RunResult],
        claim: Option<FastClaim<'_>>,
    ) -> impl Future<Output = Result<Option<(Vec<bool>, Vec<ClaimedRun>)>>> + Send;
    /// A write transaction for the engine's cycle (record and claim): on Postgres it plans with
    /// the indexes made for the claim from its first statement on, without a round trip of its
    /// own.
    fn begin_cycle(&self) -> impl Future<Output = Result<Transaction<'static, Self::Db>>> + Send;
    /// Records the results `round` (indexes into `results`, sorted by run id, each run once) in
    /// `tx`: each becomes final if its run is still running under the result's claim (node and
    /// fencing token). Returns `(index, job)` of the accepted ones.
    fn complete_runs(
        tx: &mut Transaction<'static, Self::Db>,
        results: &[RunResult],
        round: &[usize],
    ) -> impl Future<Output = Result<Vec<(usize, Option<Uuid>)>>> + Send;
    /// Records the results `round` (as [`Dialect::complete_runs`]) when every one of them
    /// succeeded for good (no retry), together with their jobs (as [`Dialect::finish_jobs`]
    /// with every accepted run's job; a test run has none), where the backend does both in one
    /// statement; `None`: nothing was written, the caller runs the two steps.
    fn complete_succeeded(
        _tx: &mut Transaction<'static, Self::Db>,
        _results: &[RunResult],
        _round: &[usize],
    ) -> impl Future<Output = Result<Option<Accepted>>> + Send {
        std::future::ready(Ok(None))
    }
    /// Locks the jobs `job_ids` (sorted: every job a completion batch finished a run of) in
    /// that order, then records `succeeded` (jobs whose every result succeeded, with their
    /// latest finish): streak and probation reset, `last_run_at` moved forward.
    fn finish_jobs(
        tx: &mut Transaction<'static, Self::Db>,
        job_ids: &[Uuid],
        succeeded: &[(Uuid, i64)],
    ) -> impl Future<Output = Result<()>> + Send;
}

/// `(index into the results, the run's job)` of the results a completion accepted (no job: a
/// test run).
pub(crate) type Accepted = Vec<(usize, Option<Uuid>)>;

/// What a [`Dialect::fast_cycle`] claims: as [`super::RunQueue::record_and_claim`]'s arguments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastClaim<'a> {
    pub node_id: &'a str,
    pub now: DateTime<Utc>,
    pub ready_until: DateTime<Utc>,
    pub limit: u32,
    pub lease_ttl: Duration,
}
