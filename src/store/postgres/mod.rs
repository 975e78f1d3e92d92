//! The Postgres backend: several scheduler nodes share one database, and row locks with
//! `SKIP LOCKED` let them tick and claim at once without waiting for each other.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};
use uuid::Uuid;

use sqlx::migrate::Migrator;

use super::codec::{self, RowAccess};
use super::dialect::Dialect;
use super::dialect::FastClaim;
use super::queue::{claim_shares, whole_room, ClaimedRun, EligibleTenant, RunResult};
use super::sql;
use crate::error::Result;

// The shared SQL, compiled for this backend (see `portable/mod.rs`).
#[allow(clippy::duplicate_mod, reason = "the shared SQL is compiled once per backend on purpose")]
#[path = "../portable/mod.rs"]
mod portable;

mod access;

/// The store the shared SQL is compiled for here.
type This = PgStore;

/// Connections per process: a claim, a tick, lease maintenance and a few API readers at once.
const MAX_CONNECTIONS: u32 = 10;
/// How long a caller waits for a free connection before the call fails (instead of sqlx's 30 s),
/// so a loop that cannot reach the database notices and backs off.
pub const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Session settings of every connection. `statement_timeout` bounds a runaway statement (the
/// slowest Rota issues, a claim over a cold queue of 10,000 runs, took 8.4 s); migrations lift
/// it on their own connection. `idle_in_transaction_session_timeout` makes the server end the
/// transaction of a client that stalled inside it, so its row locks do not hold other nodes back
/// for longer. The keepalive settings let the server notice a vanished client within about a
/// minute (sqlx has no client-side TCP keepalive; a stall seen from the client is bounded by the
/// engine's own timeouts).
const SESSION_SETTINGS: [(&str, &str); 5] = [
    ("statement_timeout", "60s"),
    ("idle_in_transaction_session_timeout", "60s"),
    ("tcp_keepalives_idle", "30"),
    ("tcp_keepalives_interval", "10"),
    ("tcp_keepalives_count", "3"),
];

/// A [`super::Store`] on Postgres.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    pub async fn connect_with(options: PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A connection returned inside a transaction (a failed COMMIT or ROLLBACK, a dropped
            // socket) is closed rather than reused.
            .after_release(|connection, _| {
                Box::pin(async move { Ok(!connection.is_in_transaction()) })
            })
            .connect_with(options.options(SESSION_SETTINGS))
            .await?;
        Ok(Self::from_pool(pool))
    }

    /// A store on an existing pool (an application that embeds Rota and has its own).
    pub fn from_pool(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Which statement chooses the claim's tenants; both choose the same (`tests/claim_choice.rs`).
/// The plain walk ([`sql::postgres::LOCK_ELIGIBLE_TENANTS_BY_WALK`]) is cheaper to start:
/// Postgres initialises a statement's whole plan on every execution, and the two-branch
/// [`sql::postgres::LOCK_ELIGIBLE_TENANTS`] cost about 50 µs more per claim (5% of the
/// throughput benchmark with four engines, where every tenant is busy). It pays only when it
/// takes its `among` branch (idle tenants first in line, few tenants with queued runs). So: after
/// a walk that found fewer tenants than its limit (it went through every tenant, or others held
/// them), try the two-branch statement; keep it while it takes `among`; when it walks, go back
/// to the plain walk and wait twice as many claims as last time (up to 256) before trying
/// again. Process-wide and racy on purpose: a hint, never a rule; a wrong guess costs time, not
/// a different choice.
struct ChoiceHint {
    two_branch: AtomicBool,
    walks_before_trying: AtomicU32,
    backoff: AtomicU32,
}

static CHOICE_HINT: ChoiceHint = ChoiceHint {
    two_branch: AtomicBool::new(false),
    walks_before_trying: AtomicU32::new(0),
    backoff: AtomicU32::new(1),
};

impl ChoiceHint {
    /// The statement for the next claim, and whether it is the two-branch one.
    fn statement(&self) -> (&'static str, bool) {
        if self.two_branch.load(Ordering::Relaxed) {
            (sql::postgres::LOCK_ELIGIBLE_TENANTS, true)
        } else {
            (sql::postgres::LOCK_ELIGIBLE_TENANTS_BY_WALK, false)
        }
    }

    /// After a claim by the two-branch statement or not, that found `found` tenants out of
    /// `limit`; `among`: whether its rows came from the tenants with queued runs (`None`: no rows).
    fn learn(&self, two_branch: bool, found: usize, limit: usize, among: Option<bool>) {
        if two_branch {
            match among {
                Some(true) => self.backoff.store(1, Ordering::Relaxed),
                Some(false) => {
                    let backoff = self.backoff.load(Ordering::Relaxed);
                    self.walks_before_trying.store(backoff, Ordering::Relaxed);
                    self.backoff.store((backoff * 2).min(256), Ordering::Relaxed);
                    self.two_branch.store(false, Ordering::Relaxed);
                }
                None => {}
            }
        } else {
            let waiting = self.walks_before_trying.load(Ordering::Relaxed);
            if waiting > 0 {
                self.walks_before_trying.store(waiting - 1, Ordering::Relaxed);
            } else if found < limit {
                self.two_branch.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Migrations a newer binary applied are left alone (`ignore_missing`): they are additive, so
/// this binary keeps working during a rolling upgrade.
static MIGRATOR: Migrator =
    Migrator { ignore_missing: true, ..sqlx::migrate!("./migrations/postgres") };

/// Postgres: several nodes share the database, so statements that take rows another node may be
/// working on lock them (`FOR NO KEY UPDATE`, `SKIP LOCKED`); see each statement in
/// `sql::postgres` for why. The claim is two statements (`claim_in`).
impl Dialect for PgStore {
    type Db = Postgres;

    const LOCK_JOB: &'static str = sql::postgres::LOCK_JOB;
    const LOCK_TENANT: &'static str = sql::postgres::LOCK_TENANT;
    const LOCK_TENANT_SETTINGS: &'static str = sql::postgres::LOCK_TENANT_SETTINGS;
    const LOCK_NAMED_HANDLER: &'static str = sql::postgres::LOCK_NAMED_HANDLER;
    const LOCK_CALENDAR: &'static str = sql::postgres::LOCK_CALENDAR;
    const DUE_JOBS: &'static str = sql::postgres::DUE_JOBS;
    const EXPIRED_LEASES: &'static str = sql::postgres::EXPIRED_LEASES;
    const RENEW_LEASES_TAIL: &'static str = sql::postgres::RENEW_LEASES_TAIL;
    const PENDING_EVENTS: &'static str = sql::postgres::PENDING_EVENTS;
    const BULK_JOB_ROWS: &'static str = sql::postgres::BULK_JOB_ROWS;
    const MIGRATIONS_TABLE_EXISTS: &'static str = sql::postgres::MIGRATIONS_TABLE_EXISTS;
    const CONCURRENT_WRITERS: bool = true;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// An index built over a large `runs` table may take longer than the statement timeout.
    async fn before_migrations(connection: &mut PgConnection) -> Result<()> {
        sqlx::query("SET statement_timeout = 0").execute(connection).await?;
        Ok(())
    }

    async fn after_migrations(connection: &mut PgConnection) -> Result<()> {
        sqlx::query("RESET statement_timeout").execute(connection).await?;
        Ok(())
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// Postgres write transactions need nothing special: row locks are taken as rows are
    /// touched, and every read that must not change underneath takes them explicitly.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Postgres: the login role (`session_user`), as the audit log's trigger records it; the
    /// client's own name is kept as the audit entry's display name.
    async fn acting_role(
        tx: &mut Transaction<'static, Postgres>,
        _operator: &str,
    ) -> Result<String> {
        Ok(sqlx::query_scalar(sql::postgres::SESSION_ROLE).fetch_one(&mut **tx).await?)
    }

    /// Two statements (rarely three) in the caller's transaction;
    /// [`sql::postgres::LOCK_ELIGIBLE_TENANTS`] explains why one statement cannot be right.
    async fn claim_in(
        tx: &mut Transaction<'static, Postgres>,
        node_id: &str,
        now: DateTime<Utc>,
        ready_until: DateTime<Utc>,
        limit: u32,
        lease_ttl: Duration,
    ) -> Result<Vec<ClaimedRun>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now_ms = codec::ms(now);
        // The transaction plans with the indexes from its `BEGIN` on (`begin_cycle`). Measured
        // without: 10,000 runs due at once started in 8.4 s instead of 2.6 s.
        let (choice, two_branch) = CHOICE_HINT.statement();
        let eligible = sqlx::query(choice)
            .bind(now_ms)
            .bind(i64::from(limit))
            .bind(codec::ms(ready_until))
            .fetch_all(&mut **tx)
            .await?;
        let among = match eligible.first() {
            Some(row) if two_branch => Some(row.flag("among_queued")?),
            _ => None,
        };
        CHOICE_HINT.learn(two_branch, eligible.len(), limit as usize, among);
        let mut tenants: Vec<Uuid> = Vec::with_capacity(eligible.len());
        let mut rooms: Vec<EligibleTenant> = Vec::with_capacity(eligible.len());
        // Tenants that opted in to `tenant.throttled` (usually none: no extra statement).
        let mut watched: Vec<Uuid> = Vec::new();
        for row in &eligible {
            let id = row.uuid("id")?;
            tenants.push(id);
            let weight = usize::try_from(row.int("weight")?).unwrap_or(1).max(1);
            rooms.push((id, weight, row.bigint("room")?, row.opt_bigint("rate_room")?));
            if row.flag("watch_throttled")? {
                watched.push(id);
            }
        }
        if tenants.is_empty() {
            return Ok(Vec::new());
        }
        let claim_runs = |limit: u32| {
            sqlx::query(sql::postgres::CLAIM_RUNS)
                .bind(&tenants)
                .bind(now_ms)
                .bind(i64::from(limit))
                .bind(node_id)
                .bind(codec::expiry_ms(now, lease_ttl))
                .bind(codec::duration_ms(crate::policy::LATE_START))
                .bind(codec::ms(ready_until))
        };
        let mut rows = claim_runs(limit).fetch_all(&mut **tx).await?;
        // Each tenant read at most its share; when one had less ready work than its share the
        // claim is short, and the tenants that took their whole share may take more: once more
        // for the rest (the statement recounts every room, these runs included).
        let claimed = rows.len();
        if claimed > 0 && claimed < limit as usize {
            let shares = claim_shares(&rooms, limit);
            let mut took: HashMap<Uuid, i64> = HashMap::new();
            for row in &rows {
                *took.entry(row.uuid("tenant_id")?).or_default() += 1;
            }
            let may_have_more = rooms.iter().zip(&shares).any(|(tenant, &share)| {
                took.get(&tenant.0).copied().unwrap_or(0) >= share
                    && share < whole_room(tenant, limit)
            });
            if may_have_more {
                let rest = limit - claimed as u32;
                rows.extend(claim_runs(rest).fetch_all(&mut **tx).await?);
            }
        }
        if !rows.is_empty() && !watched.is_empty() {
            Self::write_throttled(tx, now, &watched).await?;
        }
        rows.iter().map(codec::claimed_run).collect()
    }

    /// For the rest of the transaction, plans use the indexes made for them. The statistics of
    /// `runs` are always stale: runs arrive faster than autovacuum analyses (a new or quiet
    /// database has `runs` analysed as empty, and a burst comes between two analyses), and
    /// with `runs` believed empty the planner scans it whole for every probe (once per tenant
    /// in a claim, twice per due job in a tick). Every step of the claim and the tick has an
    /// index made for it.
    async fn use_indexes(tx: &mut Transaction<'static, Postgres>) -> Result<()> {
        sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut **tx).await?;
        Ok(())
    }

    /// With autovacuum on (Postgres's default), nothing: it vacuums the tables as they churn.
    /// With it off (some servers turn it off; this project's CI machines do), dead rows are
    /// never reclaimed and the tables grow with every run ever made, retention or not: the
    /// soak showed `runs` growing 600 KB a minute at a constant 4,000 rows. Then Rota vacuums
    /// the tables it churns itself, once per retention pass.
    async fn reclaim_space(&self) -> Result<bool> {
        let autovacuum: String =
            sqlx::query_scalar(sql::postgres::AUTOVACUUM_SETTING).fetch_one(&self.pool).await?;
        if autovacuum == "on" {
            return Ok(false);
        }
        // One statement per table: VACUUM cannot run in a transaction, and a table another
        // session holds does not hold up the others.
        for statement in sql::postgres::VACUUM_CHURNED_TABLES {
            sqlx::query(statement).execute(&self.pool).await?;
        }
        Ok(true)
    }

    /// None: the shared path's statements are the cycle.
    async fn fast_cycle(
        &self,
        _results: &[RunResult],
        _claim: Option<FastClaim<'_>>,
    ) -> Result<Option<(Vec<bool>, Vec<ClaimedRun>)>> {
        Ok(None)
    }

    /// `SET LOCAL` sent with the `BEGIN` (one simple-protocol message): the claim's plans use
    /// its indexes (see [`Dialect::use_indexes`]) at no extra round trip. Without sequential
    /// scans a plan that still needs one is costed at 10^10, far above `jit_above_cost`, and
    /// Postgres would then compile it to machine code on every execution (measured here: 1.1 s
    /// for the claim with one table lacking an index path): JIT is off for the cycle, whose
    /// statements each touch a few hundred rows.
    async fn begin_cycle(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self
            .pool
            .begin_with("BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL jit = off")
            .await?)
    }

    /// One prepared statement whatever the number of results ([`sql::postgres::COMPLETE_RUNS`]:
    /// the results as arrays).
    async fn complete_runs(
        tx: &mut Transaction<'static, Postgres>,
        results: &[RunResult],
        round: &[usize],
    ) -> Result<Vec<(usize, Option<Uuid>)>> {
        Self::record_results(tx, sql::postgres::COMPLETE_RUNS, results, round).await
    }

    /// Runs and jobs in one statement ([`sql::postgres::COMPLETE_SUCCEEDED_RUNS`]): one round
    /// trip fewer per cycle.
    async fn complete_succeeded(
        tx: &mut Transaction<'static, Postgres>,
        results: &[RunResult],
        round: &[usize],
    ) -> Result<Option<super::dialect::Accepted>> {
        let statement = sql::postgres::COMPLETE_SUCCEEDED_RUNS;
        Ok(Some(Self::record_results(tx, statement, results, round).await?))
    }

    /// When every job of the batch only succeeded (the usual case), locking and recording are
    /// one statement ([`sql::postgres::LOCK_AND_FINISH_JOBS`]); otherwise the locks come first
    /// ([`sql::postgres::LOCK_JOBS_IN_ORDER`]), since the jobs with other results are written
    /// one by one afterwards.
    async fn finish_jobs(
        tx: &mut Transaction<'static, Postgres>,
        job_ids: &[Uuid],
        succeeded: &[(Uuid, i64)],
    ) -> Result<()> {
        if job_ids.len() > succeeded.len() && job_ids.len() > 1 {
            sqlx::query(sql::postgres::LOCK_JOBS_IN_ORDER).bind(job_ids).execute(&mut **tx).await?;
        }
        if !succeeded.is_empty() {
            let (ids, finished): (Vec<Uuid>, Vec<i64>) = succeeded.iter().copied().unzip();
            sqlx::query(sql::postgres::LOCK_AND_FINISH_JOBS)
                .bind(ids)
                .bind(finished)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

impl PgStore {
    /// Runs `statement` (`COMPLETE_RUNS` or `COMPLETE_SUCCEEDED_RUNS`: the same binds, the
    /// results `round` as arrays) and returns `(index, job)` of the accepted results (no job: a
    /// test run).
    async fn record_results(
        tx: &mut Transaction<'static, Postgres>,
        statement: &'static str,
        results: &[RunResult],
        round: &[usize],
    ) -> Result<Vec<(usize, Option<Uuid>)>> {
        let index_of: HashMap<Uuid, usize> =
            round.iter().map(|&index| (results[index].run_id, index)).collect();
        let pick = |index: &usize| &results[*index];
        let rows = sqlx::query(statement)
            .bind(round.iter().map(|index| pick(index).run_id).collect::<Vec<_>>())
            .bind(round.iter().map(|index| pick(index).node_id.as_str()).collect::<Vec<_>>())
            .bind(round.iter().map(|index| pick(index).fencing_token).collect::<Vec<_>>())
            .bind(round.iter().map(|index| pick(index).status.as_str()).collect::<Vec<_>>())
            .bind(round.iter().map(|index| codec::ms(pick(index).finished_at)).collect::<Vec<_>>())
            .bind(round.iter().map(|index| pick(index).duration_ms).collect::<Vec<_>>())
            .bind(round.iter().map(|index| pick(index).exit_code).collect::<Vec<_>>())
            .bind(round.iter().map(|index| pick(index).http_status).collect::<Vec<_>>())
            .bind(
                round
                    .iter()
                    .map(|index| codec::bound_output(&pick(index).output))
                    .collect::<Vec<_>>(),
            )
            .bind(
                round
                    .iter()
                    .map(|index| pick(index).error.as_deref().map(codec::bound_error))
                    .collect::<Vec<_>>(),
            )
            .fetch_all(&mut **tx)
            .await?;
        let mut accepted = Vec::with_capacity(rows.len());
        for row in &rows {
            accepted.push((index_of[&row.uuid("id")?], row.opt_uuid("job_id")?));
        }
        Ok(accepted)
    }
}
