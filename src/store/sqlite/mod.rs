//! The SQLite backend: one scheduler process (or a few sharing a file) on one machine.
//!
//! SQLite allows one writer at a time. Write transactions start with `BEGIN IMMEDIATE`, taking
//! the write lock up front: a deferred transaction that reads first and writes later would have
//! to upgrade its lock, and two such transactions deadlock (one gets `SQLITE_BUSY` at once,
//! whatever the busy timeout). Inside the process, writes go through a one-connection pool, so
//! writers wait in line in the pool instead of polling the file lock; reads use their own pool
//! and, thanks to WAL, never wait for the writer. Other processes on the same file wait up to
//! [`BUSY_TIMEOUT`] for the lock.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, Transaction};
use uuid::Uuid;

use sqlx::migrate::Migrator;

use super::codec::{self, RowAccess};
use super::dialect::Dialect;
use super::dialect::FastClaim;
use super::queue::{claim_shares, widen_shares, ClaimedRun, EligibleTenant, RunResult};
use super::sql;
use crate::error::{Error, Result};
use crate::health::pacing::{RepeatLog, Repeats, REPEAT_LOG_PERIOD};

// The shared SQL, compiled for this backend (see `portable/mod.rs`).
#[allow(clippy::duplicate_mod, reason = "the shared SQL is compiled once per backend on purpose")]
#[path = "../portable/mod.rs"]
mod portable;

mod access;
mod hot;

/// The store the shared SQL is compiled for here.
type This = SqliteStore;

/// How long a writer from another process waits for the write lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Reader connections per process.
const READERS: u32 = 4;

/// A [`super::Store`] on a SQLite file (or in memory, for tests and demos).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Queries that only read. WAL gives each a consistent snapshot without blocking the writer.
    reader: SqlitePool,
    /// One connection: every write of this process except the engine's cycles, one at a time.
    writer: SqlitePool,
    /// The engine's record-and-claim cycles, on a thread with a write connection of its own
    /// (`hot.rs`); none for an in-memory database, whose one connection is the database.
    hot: Option<Arc<hot::HotPath>>,
}

impl SqliteStore {
    /// Opens (creating it, and its parent directories, if missing) the database at `url`:
    /// `sqlite://path`, `sqlite:path`, or `sqlite::memory:` for a private in-memory database
    /// that lives as long as the store.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal)
            // Batched statements differ by their number of rows (a claim of 1 to 64 runs, a
            // batch of results): sqlx's default cache of 100 prepared statements thrashed.
            .statement_cache_capacity(2000)
            // 64 MiB of page cache instead of 2, so the hot indexes of a large queue stay in
            // memory; reads through mmap skip a copy.
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "268435456")
            // Checkpoint every ~40 MB of WAL instead of ~4: a run's pages are rewritten several
            // times in its life, and a checkpoint copies each page once however often it
            // changed.
            .pragma("wal_autocheckpoint", "10000")
            .pragma("temp_store", "memory");
        if is_in_memory(url) {
            // One connection that never closes: the database disappears with its last one,
            // and a shared-cache database has table locks that ignore the busy timeout.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?;
            return Ok(SqliteStore { reader: pool.clone(), writer: pool, hot: None });
        }
        let options = options.create_if_missing(true).journal_mode(SqliteJournalMode::Wal);
        // The file holds every tenant's secrets: Rota creates it (and its folders) private
        // before SQLite opens it, since SQLite would create it with the umask's mode.
        let file = options.get_filename().to_owned();
        create_private_file(&file)?;
        // The writer connects first: it switches the file to WAL. SQLite creates `-wal` and
        // `-shm` with the main file's mode; ones left by an older version are tightened.
        let closed = Arc::new(Mutex::new(RepeatLog::new(REPEAT_LOG_PERIOD)));
        let writer = discarding_broken_connections(
            SqlitePoolOptions::new().max_connections(1),
            "writer",
            &closed,
        )
        .connect_with(options.clone())
        .await?;
        for suffix in ["-wal", "-shm"] {
            let mut companion = file.clone().into_os_string();
            companion.push(suffix);
            crate::private_files::tighten_file(Path::new(&companion)).map_err(|error| {
                Error::invalid(
                    "database url",
                    Path::new(&companion).display(),
                    format!("cannot make it private: {error}"),
                )
            })?;
        }
        let reader = discarding_broken_connections(SqlitePoolOptions::new(), "reader", &closed)
            .max_connections(READERS)
            .connect_with(options)
            .await?;
        let hot = Some(Arc::new(hot::HotPath::start(file)?));
        Ok(SqliteStore { reader, writer, hot })
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        if let Some(hot) = &self.hot {
            hot.close();
        }
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// Migrations a newer binary applied are left alone (`ignore_missing`): they are additive, so
/// this binary keeps working during a rolling upgrade.
static MIGRATOR: Migrator =
    Migrator { ignore_missing: true, ..sqlx::migrate!("./migrations/sqlite") };

/// SQLite: one writer at a time holds the whole database (`BEGIN IMMEDIATE`), so the locking
/// statements are plain reads, the claim runs in steps (no `LATERAL`, no row locks), and there
/// is nothing to lock in order.
impl Dialect for SqliteStore {
    type Db = Sqlite;

    const LOCK_JOB: &'static str = sql::sqlite::LOCK_JOB;
    const LOCK_TENANT: &'static str = sql::sqlite::LOCK_TENANT;
    const LOCK_TENANT_SETTINGS: &'static str = sql::sqlite::LOCK_TENANT_SETTINGS;
    const LOCK_NAMED_HANDLER: &'static str = sql::sqlite::LOCK_NAMED_HANDLER;
    const LOCK_CALENDAR: &'static str = sql::sqlite::LOCK_CALENDAR;
    const DUE_JOBS: &'static str = sql::sqlite::DUE_JOBS;
    const EXPIRED_LEASES: &'static str = sql::sqlite::EXPIRED_LEASES;
    const RENEW_LEASES_TAIL: &'static str = sql::sqlite::RENEW_LEASES_TAIL;
    const PENDING_EVENTS: &'static str = sql::sqlite::PENDING_EVENTS;
    const BULK_JOB_ROWS: &'static str = sql::sqlite::BULK_JOB_ROWS;
    const MIGRATIONS_TABLE_EXISTS: &'static str = sql::sqlite::MIGRATIONS_TABLE_EXISTS;
    const CONCURRENT_WRITERS: bool = false;

    fn migrator() -> &'static Migrator {
        &MIGRATOR
    }

    /// Nothing to lift: SQLite has no statement timeout.
    async fn before_migrations(_connection: &mut SqliteConnection) -> Result<()> {
        Ok(())
    }

    async fn after_migrations(_connection: &mut SqliteConnection) -> Result<()> {
        Ok(())
    }

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// `BEGIN IMMEDIATE`: see the module documentation. The hot path's thread lets this
    /// writer take the lock first.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        let _waiting = self.hot.as_ref().map(|hot| hot.announce_writer());
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// SQLite is single-user: the operator the client names.
    async fn acting_role(_tx: &mut Transaction<'static, Sqlite>, operator: &str) -> Result<String> {
        Ok(operator.to_owned())
    }

    /// On the hot path's thread, when it takes the cycle (see `hot.rs`).
    async fn fast_cycle(
        &self,
        results: &[RunResult],
        claim: Option<FastClaim<'_>>,
    ) -> Result<Option<(Vec<bool>, Vec<ClaimedRun>)>> {
        let Some(hot) = &self.hot else {
            return Ok(None);
        };
        let claim = claim.map(|claim| hot::ClaimRequest {
            node_id: claim.node_id.to_owned(),
            now: claim.now,
            ready_until: claim.ready_until,
            limit: claim.limit,
            lease_ttl: claim.lease_ttl,
        });
        Ok(match hot.cycle(results, claim).await? {
            hot::Cycle::Done(accepted, claimed) => Some((accepted, claimed)),
            hot::Cycle::Shared => None,
        })
    }

    /// The same choice as on Postgres, in steps inside one IMMEDIATE transaction (SQLite has no
    /// `LATERAL` and no row locks; holding the only write lock makes the steps atomic). Cost:
    /// one statement for the eligible tenants, one bounded index range scan per eligible tenant,
    /// three statements for the claimed runs; never a scan of the queue.
    async fn claim_in(
        tx: &mut Transaction<'static, Sqlite>,
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
        let ready_until_ms = codec::ms(ready_until);
        let tenants = sqlx::query(sql::sqlite::ELIGIBLE_TENANTS)
            .bind(now_ms)
            .bind(i64::from(limit))
            .bind(ready_until_ms)
            .fetch_all(&mut **tx)
            .await?;
        // (tenant, weight, its share of this claim, room under max_concurrent, room under the
        // rate limit); `watched`: tenants that opted in to `tenant.throttled` (usually none: no
        // extra statement).
        let mut eligible = Vec::with_capacity(tenants.len());
        let mut watched = Vec::new();
        for tenant in &tenants {
            let id = tenant.uuid("id")?;
            if tenant.flag("watch_throttled")? {
                watched.push(id);
            }
            let weight = usize::try_from(tenant.int("weight")?).unwrap_or(1).max(1);
            eligible.push((id, weight, tenant.bigint("room")?, tenant.opt_bigint("rate_room")?));
        }
        let mut shares = claim_shares(&eligible, limit);
        let (mut queues, fetched) =
            Self::ready_queues(tx, &eligible, &shares, ready_until_ms).await?;
        let mut chosen = round_robin(&queues, limit);
        // A tenant with less ready work than its share leaves the claim short: the tenants that
        // may have more than their share read up to their whole room, once.
        if chosen.len() < limit as usize && widen_shares(&eligible, &fetched, &mut shares, limit) {
            (queues, _) = Self::ready_queues(tx, &eligible, &shares, ready_until_ms).await?;
            chosen = round_robin(&queues, limit);
        }
        if chosen.is_empty() {
            return Ok(Vec::new());
        }

        for (rate_counted, runs) in by_rate_counting(&queues, &eligible, &chosen) {
            let start =
                format!("{}{}", sql::sqlite::START_RUNS, codec::placeholders(6, runs.len()));
            let mut query = sqlx::query(&start)
                .bind(now_ms)
                .bind(node_id)
                .bind(codec::expiry_ms(now, lease_ttl))
                .bind(codec::duration_ms(crate::policy::LATE_START))
                .bind(rate_counted);
            for id in runs {
                query = query.bind(id);
            }
            query.execute(&mut **tx).await?;
        }

        // Served tenants move to the back of the line, in one statement.
        let mut served = Vec::new();
        let mut marks = Vec::new();
        for ((tenant, _, ready), &(_, _, room, rate_room)) in queues.iter().zip(&eligible) {
            let took = ready.iter().filter(|id| chosen.contains(id)).count() as i64;
            if took == 0 {
                continue;
            }
            if watched.contains(tenant) {
                served.push(*tenant);
            }
            let reached = crate::policy::limit_reached(took, room, rate_room);
            marks.push((*tenant, reached.map(|limit| limit.as_str())));
        }
        let mut mark = sqlx::QueryBuilder::<Sqlite>::new(sql::sqlite::MARK_SERVED_HEAD);
        mark.push_values(&marks, |mut values, (tenant, reached)| {
            values.push_bind(*tenant).push_bind(*reached).push_bind(now_ms);
        });
        mark.push(sql::sqlite::MARK_SERVED_TAIL);
        mark.build().execute(&mut **tx).await?;

        Self::write_throttled(tx, now, &served).await?;

        let read = format!("{}{}", sql::sqlite::CLAIMED_RUNS, codec::placeholders(1, chosen.len()));
        let mut query = sqlx::query(&read);
        for id in &chosen {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&mut **tx).await?;

        let mut claimed: HashMap<Uuid, ClaimedRun> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let run = codec::claimed_run(row)?;
            claimed.insert(run.run.id, run);
        }
        chosen
            .iter()
            .map(|id| claimed.remove(id).ok_or_else(|| codec::not_found("run", id)))
            .collect()
    }

    /// Nothing to do: SQLite's planner has no statistics unless `ANALYZE` ran (Rota never runs
    /// it) and prefers the indexes by itself.
    async fn use_indexes(_tx: &mut Transaction<'static, Sqlite>) -> Result<()> {
        Ok(())
    }

    /// Nothing to do: SQLite reuses the pages of deleted rows for new ones, so a file under
    /// retention stops growing at its window's size.
    async fn reclaim_space(&self) -> Result<bool> {
        Ok(false)
    }

    /// The write transaction: SQLite plans with the indexes by itself.
    async fn begin_cycle(&self) -> Result<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }

    /// One `UPDATE ... FROM (VALUES ...)` for the round (SQLite has no arrays to bind).
    async fn complete_runs(
        tx: &mut Transaction<'static, Sqlite>,
        results: &[RunResult],
        round: &[usize],
    ) -> Result<Vec<(usize, Option<Uuid>)>> {
        let index_of: HashMap<Uuid, usize> =
            round.iter().map(|&index| (results[index].run_id, index)).collect();
        let mut update = sqlx::QueryBuilder::<Sqlite>::new(sql::COMPLETE_RUNS_HEAD);
        update.push_values(round, |mut values, &index| {
            let result = &results[index];
            values
                .push_bind(result.run_id)
                .push_bind(result.node_id.as_str())
                .push_bind(result.fencing_token)
                .push_bind(result.status.as_str())
                .push_bind(codec::ms(result.finished_at))
                .push_bind(result.duration_ms)
                .push_bind(result.exit_code)
                .push_bind(result.http_status)
                .push_bind(codec::bound_output(&result.output))
                .push_bind(result.error.as_deref().map(codec::bound_error));
        });
        update.push(sql::COMPLETE_RUNS_TAIL);
        let mut accepted = Vec::with_capacity(round.len());
        for row in update.build().fetch_all(&mut **tx).await? {
            accepted.push((index_of[&row.uuid("id")?], row.opt_uuid("job_id")?));
        }
        Ok(accepted)
    }

    /// Nothing to lock: the IMMEDIATE transaction already holds the only write lock there is.
    async fn finish_jobs(
        tx: &mut Transaction<'static, Sqlite>,
        _job_ids: &[Uuid],
        succeeded: &[(Uuid, i64)],
    ) -> Result<()> {
        for chunk in succeeded.chunks(codec::COMPLETE_BATCH) {
            let mut update = sqlx::QueryBuilder::<Sqlite>::new(sql::JOBS_SUCCEEDED_HEAD);
            update.push_values(chunk, |mut values, &(job_id, finished_at)| {
                values.push_bind(job_id).push_bind(finished_at);
            });
            update.push(sql::JOBS_SUCCEEDED_TAIL);
            update.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

impl SqliteStore {
    /// Claim, step 2: up to `shares[i]` oldest ready runs of each eligible tenant, in one
    /// statement per [`sql::sqlite::READY_RUNS_TERMS`] tenants. Returns the per-tenant queues
    /// in serving order (a job whose overlap policy is exclusive keeps at most one run) and how
    /// many rows each tenant returned.
    async fn ready_queues(
        tx: &mut Transaction<'static, Sqlite>,
        eligible: &[EligibleTenant],
        shares: &[i64],
        ready_until_ms: i64,
    ) -> Result<(Vec<TenantQueue>, Vec<i64>)> {
        // (not before, run, job, exclusive) per tenant.
        let mut ready_by_tenant: HashMap<Uuid, Vec<ReadyRun>> = HashMap::new();
        let terms: Vec<(Uuid, i64)> =
            eligible.iter().zip(shares).map(|(&(id, ..), &share)| (id, share)).collect();
        for chunk in terms.chunks(sql::sqlite::READY_RUNS_TERMS) {
            let statement = vec![sql::sqlite::READY_RUNS_TERM; chunk.len()].join(" UNION ALL ");
            let mut query = sqlx::query(&statement);
            for &(id, share) in chunk {
                query = query.bind(id).bind(ready_until_ms).bind(share);
            }
            for row in query.fetch_all(&mut **tx).await? {
                ready_by_tenant.entry(row.uuid("tenant_id")?).or_default().push((
                    row.bigint("not_before")?,
                    row.uuid("id")?,
                    row.uuid("job_id")?,
                    row.flag("exclusive")?,
                ));
            }
        }
        Ok(tenant_queues(eligible, ready_by_tenant))
    }
}

/// Ready runs `(not before, run, job, exclusive)` by tenant, as the claim's step 2 read them:
/// the per-tenant queues in serving order (a job whose overlap policy is exclusive keeps at
/// most one run) and how many rows each tenant returned.
fn tenant_queues(
    eligible: &[EligibleTenant],
    mut ready_by_tenant: HashMap<Uuid, Vec<ReadyRun>>,
) -> (Vec<TenantQueue>, Vec<i64>) {
    let mut queues = Vec::with_capacity(eligible.len());
    let mut fetched = Vec::with_capacity(eligible.len());
    let mut exclusive_jobs = HashSet::new();
    for &(id, weight, ..) in eligible {
        let mut runs = ready_by_tenant.remove(&id).unwrap_or_default();
        fetched.push(runs.len() as i64);
        // Oldest first (a compound SELECT does not promise its terms' order).
        runs.sort_unstable_by_key(|&(not_before, run_id, ..)| (not_before, run_id));
        let mut ready = Vec::new();
        for (_, run_id, job_id, exclusive) in runs {
            if exclusive && !exclusive_jobs.insert(job_id) {
                continue;
            }
            ready.push(run_id);
        }
        queues.push((id, weight, ready));
    }
    (queues, fetched)
}

/// The chosen runs (in their order) split by whether they count for their tenant's rate limit
/// when they start (`runs.rate_counted`): a tenant with a rate limit has a `rate_room` (NULL
/// without one, read in this transaction). Usually one group. The start binds the flag
/// instead of looking up each run's tenant (two index probes per run).
fn by_rate_counting(
    queues: &[TenantQueue],
    eligible: &[EligibleTenant],
    chosen: &[Uuid],
) -> Vec<(bool, Vec<Uuid>)> {
    let counted: HashSet<Uuid> = queues
        .iter()
        .zip(eligible)
        .filter(|(_, &(_, _, _, rate_room))| rate_room.is_some())
        .flat_map(|((_, _, ready), _)| ready.iter().copied())
        .collect();
    let (counted, uncounted): (Vec<Uuid>, Vec<Uuid>) =
        chosen.iter().partition(|id| counted.contains(id));
    [(true, counted), (false, uncounted)].into_iter().filter(|(_, runs)| !runs.is_empty()).collect()
}

/// A ready run as the claim reads it: not before, id, job, whether its job is exclusive.
type ReadyRun = (i64, Uuid, Uuid, bool);

/// Interleaves per-tenant queues (already in serving order, each already cut to what the tenant
/// may take) in weighted rounds: in each round every tenant takes up to `weight` runs; every
/// tenant's first round comes before anyone's second, up to `limit` runs. The same order as
/// the `turn` column in the Postgres claim.
fn round_robin(queues: &[TenantQueue], limit: u32) -> Vec<Uuid> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let rounds =
        queues.iter().map(|(_, weight, ready)| ready.len().div_ceil(*weight)).max().unwrap_or(0);
    (0..rounds)
        .flat_map(|round| {
            queues.iter().flat_map(move |(_, weight, ready)| {
                let start = (round * weight).min(ready.len());
                let end = (start + weight).min(ready.len());
                ready[start..end].iter().copied()
            })
        })
        .take(limit)
        .collect()
}

/// A tenant's ready runs in serving order: id, weight, runs.
type TenantQueue = (Uuid, usize, Vec<Uuid>);

/// A connection that comes back to the pool still inside a transaction is closed instead of
/// reused, and a new one is opened when needed. That happens when a `COMMIT` or `ROLLBACK`
/// fails (a full disk, an I/O error): SQLite may have ended the transaction itself, the rollback
/// then fails too, and sqlx keeps counting the transaction as open, so every later `BEGIN` on that
/// connection would fail ("begin_with at non-zero transaction depth") until a restart. Not for
/// in-memory databases, whose one connection is the database.
///
/// While the disk stays full that is about one connection per failed write, a second or more:
/// `closed` (shared by the store's pools) logs the first and then a count every
/// [`REPEAT_LOG_PERIOD`], as the failing loops log their own failures.
fn discarding_broken_connections(
    options: SqlitePoolOptions,
    pool: &'static str,
    closed: &Arc<Mutex<RepeatLog>>,
) -> SqlitePoolOptions {
    let on_acquire = Arc::clone(closed);
    let on_release = Arc::clone(closed);
    options
        .before_acquire(move |connection, _| {
            let usable = usable(connection, pool, &on_acquire);
            Box::pin(async move { Ok(usable) })
        })
        .after_release(move |connection, _| {
            let usable = usable(connection, pool, &on_release);
            Box::pin(async move { Ok(usable) })
        })
}

fn usable(connection: &SqliteConnection, pool: &'static str, closed: &Mutex<RepeatLog>) -> bool {
    if !connection.is_in_transaction() {
        return true;
    }
    let repeats = closed
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .occurred(tokio::time::Instant::now());
    match repeats {
        // The first, or the first after a quiet period.
        Some(Repeats { unlogged: 0, total }) => tracing::warn!(
            pool,
            total,
            "closing a SQLite connection left inside a failed transaction (its COMMIT or ROLLBACK \
             failed: a full disk, an I/O error); a new one is opened when needed (repeats are \
             counted and logged every {} s)",
            REPEAT_LOG_PERIOD.as_secs()
        ),
        Some(Repeats { unlogged, total }) => tracing::warn!(
            pool,
            closed = unlogged + 1,
            total,
            "still closing SQLite connections left inside failed transactions"
        ),
        None => {}
    }
    false
}

/// Whether `url` names an in-memory database (`sqlite::memory:`, `sqlite://:memory:`,
/// `sqlite://?mode=memory`).
/// The file a `sqlite:` URL names, or `None` for an in-memory database or a URL SQLite does not
/// read. The runtime keeps its one-engine lock beside it.
pub fn database_file(url: &str) -> Option<std::path::PathBuf> {
    if is_in_memory(url) {
        return None;
    }
    let options = SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_owned())
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Creates the database file's missing folders (`0700`) and the file itself (`0600`), or
/// tightens an existing file open to others (see [`crate::private_files`]).
fn create_private_file(file: &Path) -> Result<()> {
    if let Some(parent) = file.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        crate::private_files::create_dir(parent).map_err(|error| {
            Error::invalid(
                "database url",
                file.display(),
                format!("cannot create its directory: {error}"),
            )
        })?;
    }
    crate::private_files::create_file(file).map_err(|error| {
        Error::invalid("database url", file.display(), format!("cannot create it: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_serves_every_tenant_before_anyone_twice() {
        let id = |n: u128| Uuid::from_u128(n);
        let queues = vec![
            (id(100), 1, vec![id(1), id(2), id(3)]),
            (id(200), 1, vec![id(4)]),
            (id(300), 1, vec![id(5), id(6)]),
        ];
        assert_eq!(round_robin(&queues, 10), vec![id(1), id(4), id(5), id(2), id(6), id(3)]);
        assert_eq!(round_robin(&queues, 2), vec![id(1), id(4)]);
        assert_eq!(round_robin(&[], 2), Vec::<Uuid>::new());
    }

    #[test]
    fn weights_give_that_many_runs_per_round() {
        let id = |n: u128| Uuid::from_u128(n);
        let queues =
            vec![(id(100), 3, vec![id(1), id(2), id(3), id(4)]), (id(200), 1, vec![id(5), id(6)])];
        assert_eq!(round_robin(&queues, 10), vec![id(1), id(2), id(3), id(5), id(4), id(6)]);
    }

    #[test]
    fn in_memory_urls_are_recognised() {
        assert!(is_in_memory("sqlite::memory:"));
        assert!(is_in_memory("sqlite://?mode=memory"));
        assert!(!is_in_memory("sqlite:///var/lib/rota/rota.db"));
    }
}
