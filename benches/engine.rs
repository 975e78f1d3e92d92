//! The engine benchmark: `cargo xtask bench` (or `cargo bench --bench engine -- [--quick]
//! [--sqlite-only | --postgres-only]`).
//!
//! On SQLite and on Postgres, in one run, six measurements:
//! 1. throughput: burn down a queue of due no-op runs end to end (claim, execute, record) with
//!    one engine and with four engines (64 worker slots each), the median of the repetitions;
//!    and sustained: every-second schedules offered for a minute, made and run by one engine;
//! 2. the floor, side by side in each repetition: the best hand-written SQL for the
//!    claim-and-complete cycle on the same schema and indexes, ten runs a cycle. On Postgres
//!    the whole cycle is one prepared statement sent alone (a data-modifying CTE completes the
//!    previous ten by primary key and claims ten ready runs with `FOR UPDATE SKIP LOCKED`, in
//!    the queue index's order and without the engine's tenant shares and limits): one round
//!    trip and one commit per ten runs, four loops, each over a quarter of the tenants (a
//!    range of the queue index, so the loops do not walk past each other's locked rows). On
//!    SQLite one thread owns one connection (`rusqlite`, prepared statements, WAL,
//!    `synchronous=NORMAL`) and each `BEGIN IMMEDIATE` transaction completes the previous ten
//!    and claims the next ten (`UPDATE ... RETURNING`). Beside it, the store's own claim +
//!    complete without the engine;
//! 3. fire lateness (start minus scheduled instant, measured by the handler on the wall clock)
//!    of an idle engine with schedules spread over the minute (with the default claim-ahead,
//!    then claiming only at the instant, one after the other), and of a burst of schedules
//!    all due in the same second;
//! 4. fairness: 999 light tenants with one run each while one tenant floods the queue: the
//!    light runs' wait, the heavy tenant's share of the first starts, Jain's index; and what
//!    fairness costs: the whole flood burned down, against the same number of runs queued for
//!    one tenant, where the fair claim has nothing to choose between and takes runs oldest
//!    first (a FIFO claim, the same engine and limits otherwise), side by side;
//! 5. scale: 10,000 to 1,000,000 schedules across 1,000 tenants, none due: the in-process idle
//!    tick, and a real `rota serve`'s CPU and resident memory;
//! 6. crash recovery (Postgres; SQLite allows one engine per file): two `rota serve` nodes,
//!    the one running a job killed with SIGKILL: time until its run starts again on the other.
//!
//! Prints a markdown table and writes `<target>/bench/engine.json`. Timings are measured,
//! never asserted. Postgres is the server on 127.0.0.1:5432 (`ROTA_TEST_POSTGRES_URL`
//! overrides).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Timelike;
use rota::clock::{Clock, SystemClock};
use rota::engine::{DueJob, TickPlan};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{Envelope, Handler, HandlerRegistry, HandlerSpec, Outcome};
use rota::job::JobDefinition;
use rota::policy::JobPolicy;
use rota::run::RunStatus;
use rota::store::prelude::*;
use rota::store::{AnyStore, RunResult};
use rota::tenant::NewTenant;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct NoOp {
    done: AtomicU64,
    /// For scheduled runs: (scheduled instant in ms, wall-clock start minus that instant in
    /// microseconds).
    lateness: Mutex<Vec<(i64, i64)>>,
    /// (tenant, start instant) of every run, for fairness.
    starts: Mutex<Vec<(String, Instant)>>,
    record_starts: bool,
}

impl NoOp {
    /// The scheduled runs' lateness in microseconds, in the order they started.
    fn lateness_us(&self) -> Vec<i64> {
        self.lateness.lock().unwrap().iter().map(|&(_, late)| late).collect()
    }
}

#[async_trait::async_trait]
impl Handler for NoOp {
    async fn run(&self, envelope: &Envelope, _cancel: CancellationToken) -> Outcome {
        let now = SystemClock.now();
        if envelope.trigger == rota::run::Trigger::Schedule {
            let late = (now - envelope.scheduled_for).num_microseconds().unwrap_or(i64::MAX);
            self.lateness.lock().unwrap().push((envelope.scheduled_for.timestamp_millis(), late));
        }
        if self.record_starts {
            self.starts.lock().unwrap().push((envelope.tenant.clone(), Instant::now()));
        }
        self.done.fetch_add(1, Ordering::Relaxed);
        Outcome::succeeded("")
    }
}

/// A database created for one measurement, dropped (Postgres) or deleted with its directory
/// (SQLite) afterwards.
struct Database {
    url: String,
    admin: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    async fn create(backend: &str) -> Database {
        if backend == "sqlite" {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
            return Database { url, admin: None, _dir: Some(dir) };
        }
        let admin = std::env::var("ROTA_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("rota_bench_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&admin).await.expect("Postgres at 127.0.0.1:5432");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
        pool.close().await;
        let (base, _) = admin.rsplit_once('/').unwrap();
        Database { url: format!("{base}/{name}"), admin: Some((admin.clone(), name)), _dir: None }
    }

    async fn store(&self) -> AnyStore {
        let store = AnyStore::connect(&self.url).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// A plain pool beside the store's, for the hand-written SQL (the floor, bulk inserts),
    /// with the store's settings that matter for speed (SQLite: WAL, `synchronous=NORMAL`).
    async fn raw(&self) -> Raw {
        if self.admin.is_some() {
            return Raw::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(8)
                    .connect(&self.url)
                    .await
                    .unwrap(),
            );
        }
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        use std::str::FromStr;
        let options = SqliteConnectOptions::from_str(&self.url)
            .unwrap()
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536");
        Raw::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .unwrap(),
        )
    }

    /// The SQLite database's file.
    fn sqlite_file(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(self.url.trim_start_matches("sqlite://"))
    }

    async fn drop_database(self) {
        if let Some((admin, name)) = &self.admin {
            let pool = sqlx::PgPool::connect(admin).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&pool)
                .await;
            // The database's group roles (migration 0010) are cluster-wide and outlive it.
            for suffix in ["admin", "member"] {
                let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {name}_{suffix}"))
                    .execute(&pool)
                    .await;
            }
            pool.close().await;
        }
    }
}

enum Raw {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// Runs one statement with the given binds on either backend (the same code, two pool types).
macro_rules! raw_execute {
    ($raw:expr, $sql:expr $(, $bind:expr)*) => {
        match $raw {
            Raw::Postgres(pool) => {
                sqlx::query($sql)$(.bind($bind))*.execute(pool).await.unwrap().rows_affected()
            }
            Raw::Sqlite(pool) => {
                sqlx::query($sql)$(.bind($bind))*.execute(pool).await.unwrap().rows_affected()
            }
        }
    };
}

fn now_ms() -> i64 {
    SystemClock.now().timestamp_millis()
}

/// Schedules inserted by one statement per 100,000 instead of one API call each (a million
/// jobs through `create_job` would take most of an hour here): copies of a template job, spread
/// round robin over `tenants` new tenants.
struct BulkJobs {
    count: usize,
    tenants: usize,
    max_concurrent: u32,
    /// The cron expression; with `second_of_minute`, the fields after the seconds field, and
    /// job `n` fires at second `(n + first_second) % 60`.
    schedule: &'static str,
    second_of_minute: bool,
    first_second: i64,
    /// Job `n`'s `next_run_at`: `base + (n * step) % spread` milliseconds.
    next_base_ms: i64,
    next_step_ms: i64,
    next_spread_ms: i64,
    overlap: &'static str,
}

impl BulkJobs {
    /// `count` jobs on `schedule` across `tenants` tenants (10 concurrent runs each), all with
    /// `next_run_at` = `next_base_ms`, overlap `skip`.
    fn new(count: usize, tenants: usize, schedule: &'static str, next_base_ms: i64) -> BulkJobs {
        BulkJobs {
            count,
            tenants,
            max_concurrent: 10,
            schedule,
            second_of_minute: false,
            next_base_ms,
            next_step_ms: 0,
            next_spread_ms: 1,
            first_second: 0,
            overlap: "skip",
        }
    }
}

async fn bulk_jobs(db: &Database, store: &AnyStore, jobs: &BulkJobs) {
    let now = SystemClock.now();
    let mut template = None;
    for index in 0..jobs.tenants {
        let tenant = store
            .create_tenant(
                &NewTenant {
                    name: format!("tenant-{index:04}"),
                    max_concurrent: jobs.max_concurrent,
                    weight: 1,
                },
                "bench",
                now,
            )
            .await
            .unwrap();
        if template.is_none() {
            template = Some(unscheduled_job(store, tenant.id, noop_job("template", YEARLY)).await);
        }
    }
    let template = template.unwrap();
    let raw = db.raw().await;
    let (id, series) = match raw {
        Raw::Postgres(_) => {
            ("gen_random_uuid()", "generate_series($1::bigint, $2::bigint) AS s(n)")
        }
        Raw::Sqlite(_) => ("randomblob(16)", "s"),
    };
    let recursive = match raw {
        Raw::Postgres(_) => "",
        Raw::Sqlite(_) => "s(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM s WHERE n < $2), ",
    };
    // (Both forms use every parameter: Postgres must infer each one's type.)
    let schedule = if jobs.second_of_minute {
        "((s.n + $10) % 60) || $9"
    } else {
        "CASE WHEN $10 = 0 THEN $9 ELSE $9 END"
    };
    let sql = format!(
        "WITH RECURSIVE {recursive}\
         numbered AS (SELECT id, row_number() OVER (ORDER BY name) - 1 AS k FROM tenants) \
         INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, payload, timeout_ms, \
                           next_run_at, created_at, updated_at, overlap) \
         SELECT {id}, t.id, 'bulk-' || s.n, {schedule}, j.timezone, j.handler, j.payload, \
                j.timeout_ms, $3 + (s.n * $4) % $5, j.created_at, j.created_at, $6 \
         FROM {series} JOIN numbered t ON t.k = s.n % $7 CROSS JOIN jobs j WHERE j.id = $8"
    );
    let started = Instant::now();
    let chunk = 100_000usize;
    let mut first = 0usize;
    while first < jobs.count {
        let last = (first + chunk).min(jobs.count) - 1;
        raw_execute!(
            &raw,
            &sql,
            first as i64,
            last as i64,
            jobs.next_base_ms,
            jobs.next_step_ms,
            jobs.next_spread_ms,
            jobs.overlap,
            jobs.tenants as i64,
            template,
            jobs.schedule,
            jobs.first_second
        );
        first = last + 1;
        if jobs.count > chunk {
            eprintln!(
                "    inserted {first} of {} schedules ({:.0} s)",
                jobs.count,
                started.elapsed().as_secs_f64()
            );
        }
    }
    // Fresh statistics, as autovacuum would gather them on a live system.
    if let Raw::Postgres(pool) = &raw {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
    close(raw).await;
}

async fn close(raw: Raw) {
    match raw {
        Raw::Postgres(pool) => pool.close().await,
        Raw::Sqlite(pool) => pool.close().await,
    }
}

/// A schedule that never comes due during a benchmark; such jobs run when triggered.
const YEARLY: &str = "0 0 1 1 *";

/// Creates a job with no next run (it runs only when triggered); returns its id.
async fn unscheduled_job(
    store: &AnyStore,
    tenant: uuid::Uuid,
    definition: JobDefinition,
) -> uuid::Uuid {
    let now = SystemClock.now();
    store
        .create_job(tenant, &definition, &JobPolicy::default(), None, "bench", now)
        .await
        .unwrap()
        .id
}

fn noop_job(name: &str, schedule: &str) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: schedule.into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Named { name: "noop".into() },
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(30),
    }
}

/// Creates `tenants` tenants with `jobs_per_tenant` yearly jobs each and queues `runs` due runs
/// spread evenly over the jobs (past occurrences, so they are all ready).
async fn seed_queue(
    store: &AnyStore,
    tenants: usize,
    jobs_per_tenant: usize,
    runs: usize,
    max_concurrent: u32,
) {
    let now = SystemClock.now();
    let mut job_ids = Vec::new();
    for tenant_index in 0..tenants {
        let tenant = store
            .create_tenant(
                &NewTenant { name: format!("tenant-{tenant_index:04}"), max_concurrent, weight: 1 },
                "tester",
                now,
            )
            .await
            .unwrap();
        for job_index in 0..jobs_per_tenant {
            // Due right now so the tick below picks it up.
            let job = store
                .create_job(
                    tenant.id,
                    &noop_job(&format!("job-{job_index}"), YEARLY),
                    &JobPolicy::default(),
                    Some(now),
                    "tester",
                    now,
                )
                .await
                .unwrap();
            job_ids.push(job.id);
        }
    }
    let per_job = runs.div_ceil(job_ids.len());
    let occurrences: Vec<_> =
        (0..per_job).map(|i| now - chrono::Duration::seconds(i as i64 + 1)).collect();
    let plan = move |_: &DueJob| TickPlan::enqueue(&occurrences, None);
    let report = store.enqueue_due(now, now, 100_000, &plan).await.unwrap();
    assert!(report.enqueued as usize >= runs, "seeded {} runs", report.enqueued);
}

fn registry(handler: &Arc<NoOp>) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register("noop", handler.clone()).unwrap();
    registry
}

/// Runs `engines` engines until `total` runs succeeded; returns runs per second.
async fn burn_down(db: &Database, engines: usize, total: u64) -> f64 {
    burn_down_with(db, engines, total, &Arc::new(NoOp::default())).await
}

/// [`burn_down`] with the handler given (one that records its starts costs a little per run).
async fn burn_down_with(db: &Database, engines: usize, total: u64, handler: &Arc<NoOp>) -> f64 {
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    let mut handles = Vec::new();
    let started = Instant::now();
    for node in 0..engines {
        let engine = engine_with(db.store().await, bench_config(&format!("bench-{node}")), handler);
        tasks.push(spawn_engine(&engine, &shutdown));
        handles.push(engine);
    }
    loop {
        let succeeded: u64 =
            handles.iter().map(|engine| engine.stats().succeeded.load(Ordering::Relaxed)).sum();
        if succeeded >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    shutdown.cancel();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // The batch each commit carried: a cycle costs about the same whatever its size.
    let cycles: u64 =
        handles.iter().map(|engine| engine.stats().cycles.load(Ordering::Relaxed)).sum();
    let claimed: u64 =
        handles.iter().map(|engine| engine.stats().claimed.load(Ordering::Relaxed)).sum();
    let side_by_side: u64 = handles
        .iter()
        .map(|engine| engine.stats().side_by_side_cycles.load(Ordering::Relaxed))
        .sum();
    let asked: u64 =
        handles.iter().map(|engine| engine.stats().claim_asked.load(Ordering::Relaxed)).sum();
    eprintln!(
        "    {engines} engine(s): {cycles} cycles ({side_by_side} recording beside the claim), \
         {:.1} runs claimed per cycle of {:.1} asked for",
        claimed as f64 / cycles.max(1) as f64,
        asked as f64 / cycles.max(1) as f64
    );
    total as f64 / elapsed.as_secs_f64()
}

/// The store's own calls without the engine: claim ten, complete them in one batch.
async fn store_floor(db: &Database, total: u64) -> f64 {
    let store = db.store().await;
    let started = Instant::now();
    let mut done = 0u64;
    while done < total {
        let now = SystemClock.now();
        let claimed = store.claim("floor", now, 10, Duration::from_secs(30)).await.unwrap();
        if claimed.is_empty() {
            break;
        }
        let results: Vec<RunResult> = claimed
            .iter()
            .map(|run| RunResult {
                run_id: run.run.id,
                node_id: "floor".into(),
                fencing_token: run.run.fencing_token,
                status: RunStatus::Succeeded,
                finished_at: now,
                duration_ms: 0,
                exit_code: None,
                http_status: None,
                output: String::new(),
                error: None,
                retry_at: None,
            })
            .collect();
        store.complete(&results).await.unwrap();
        done += results.len() as u64;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// Runs per claim in the hand-written floor (the reference cycle: claim ten, complete
/// them together with the next claim).
const FLOOR_BATCH: usize = 10;

/// The Postgres floor's whole cycle in one statement, sent alone (autocommit): one round trip
/// and one commit per ten runs. It completes the previous claim's runs (`$4`, by primary key)
/// and claims ten ready ones of the loop's own tenants (`$5` to `$6`), skipping rows another
/// transaction holds (`FOR UPDATE SKIP LOCKED`). Any ten: no tenant shares, limits or age
/// order, which the engine's claim keeps. They are read in the order of the queue's index
/// (`runs_queued_by_tenant`: tenant, readiness, id), so the scan stops after the rows it
/// takes; without an order (an earlier floor) Postgres read the whole queued index into a
/// bitmap on every claim (2,400 against 4,750 runs/s with four `pgbench` clients). Each loop
/// owns a quarter of the tenants: with one shared order, four loops started at the same head
/// of the index and walked past each other's locked rows (2,800 runs/s on a quiet machine,
/// under the engine's 6,200). Prepared once per connection: the text never changes (ids come
/// as an array).
const FLOOR_CYCLE_POSTGRES: &str = "WITH done AS ( \
         UPDATE runs SET status = 'succeeded', finished_at = $1, duration_ms = 0, \
                lease_expires_at = NULL \
         WHERE id = ANY($4::uuid[]) AND status = 'running' \
     ), claimed AS ( \
         UPDATE runs SET status = 'running', started_at = $1, lease_owner = $2, \
                lease_expires_at = $3, fencing_token = fencing_token + 1 \
         WHERE id IN (SELECT id FROM runs WHERE status = 'queued' AND not_before <= $1 \
                      AND tenant_id >= $5 AND tenant_id <= $6 \
                      ORDER BY tenant_id, not_before, id \
                      LIMIT 10 FOR UPDATE SKIP LOCKED) \
         RETURNING id \
     ) SELECT id FROM claimed";

/// Loops of the Postgres floor. Measured with `pgbench` on this machine (the same statement
/// before the loops had tenants of their own, 30,000 runs queued, load average about 4): 4
/// loops 4,600 runs/s, 8 loops 7,100, 16 loops 5,800; in this benchmark under a load average
/// of 9 (other builds), 8 loops did no better than 4, so it stays at 4.
const FLOOR_LOOPS_POSTGRES: usize = 4;

/// One Postgres loop of the floor over the tenants `first..=last` (by id), until they have no
/// ready run or `total` runs are done by all loops.
async fn floor_loop_postgres(
    pool: sqlx::PgPool,
    done: Arc<AtomicU64>,
    total: u64,
    (first, last): (uuid::Uuid, uuid::Uuid),
) {
    let mut previous: Vec<uuid::Uuid> = Vec::new();
    loop {
        let now = now_ms();
        let claimed: Vec<uuid::Uuid> = sqlx::query_scalar(FLOOR_CYCLE_POSTGRES)
            .bind(now)
            .bind("floor")
            .bind(now + 30_000)
            .bind(&previous)
            .bind(first)
            .bind(last)
            .fetch_all(&pool)
            .await
            .unwrap();
        let finished = previous.len() as u64;
        let done = done.fetch_add(finished, Ordering::Relaxed) + finished;
        if claimed.is_empty() || done >= total {
            break;
        }
        previous = claimed;
    }
}

/// The tenants' ids in order, cut into `loops` contiguous ranges (first and last id of each).
async fn tenant_ranges(pool: &sqlx::PgPool, loops: usize) -> Vec<(uuid::Uuid, uuid::Uuid)> {
    let ids: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM tenants ORDER BY id").fetch_all(pool).await.unwrap();
    ids.chunks(ids.len().div_ceil(loops).max(1))
        .map(|chunk| (chunk[0], chunk[chunk.len() - 1]))
        .collect()
}

/// The SQLite floor: one thread owning one connection (`rusqlite`, statements prepared once),
/// as SQLite serves one writer at a time; each `BEGIN IMMEDIATE` transaction completes the
/// previous ten runs in one statement and claims the next ten in another (`RETURNING`), then
/// commits (WAL, `synchronous=NORMAL`, the store's settings). As in the store's hot path,
/// checkpoints run beside the loop, on a second connection, every
/// [`FLOOR_CHECKPOINT_EVERY`] cycles, instead of inside a commit.
fn floor_loop_sqlite(file: &std::path::Path, total: u64) -> u64 {
    let mut connection = rusqlite::Connection::open(file).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA cache_size = -65536; PRAGMA busy_timeout = 30000; \
             PRAGMA mmap_size = 268435456; PRAGMA temp_store = memory; \
             PRAGMA wal_autocheckpoint = 20000;",
        )
        .unwrap();
    let (checkpoints, requests) = std::sync::mpsc::sync_channel::<()>(1);
    let checkpointer = {
        let file = file.to_owned();
        std::thread::spawn(move || {
            let connection = rusqlite::Connection::open(file).unwrap();
            while requests.recv().is_ok() {
                let _ = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
    };
    let mut cycles = 0;
    let complete = format!(
        "UPDATE runs SET status = 'succeeded', finished_at = ?1, duration_ms = 0, \
         lease_expires_at = NULL WHERE id IN ({}) AND status = 'running'",
        (2..2 + FLOOR_BATCH).map(|n| format!("?{n}")).collect::<Vec<_>>().join(", ")
    );
    let claim = "UPDATE runs SET status = 'running', started_at = ?1, lease_owner = ?2, \
         lease_expires_at = ?3, fencing_token = fencing_token + 1 \
         WHERE id IN (SELECT id FROM runs WHERE status = 'queued' AND not_before <= ?1 \
                      LIMIT 10) RETURNING id";
    let mut previous: Vec<uuid::Uuid> = Vec::new();
    let mut done = 0u64;
    loop {
        let now = now_ms();
        let tx =
            connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
        if !previous.is_empty() {
            let mut statement = tx.prepare_cached(&complete).unwrap();
            statement.raw_bind_parameter(1, now).unwrap();
            // A short last batch repeats its last id (already completed: matches nothing).
            for slot in 0..FLOOR_BATCH {
                let id = previous[slot.min(previous.len() - 1)];
                statement.raw_bind_parameter(slot + 2, id).unwrap();
            }
            statement.raw_execute().unwrap();
        }
        let claimed: Vec<uuid::Uuid> = {
            let mut statement = tx.prepare_cached(claim).unwrap();
            let rows = statement.query_map(rusqlite::params![now, "floor", now + 30_000], |row| {
                row.get::<_, uuid::Uuid>(0)
            });
            rows.unwrap().map(Result::unwrap).collect()
        };
        tx.commit().unwrap();
        cycles += 1;
        if cycles % FLOOR_CHECKPOINT_EVERY == 0 {
            let _ = checkpoints.try_send(());
        }
        done += previous.len() as u64;
        if claimed.is_empty() || done >= total {
            drop(checkpoints);
            checkpointer.join().unwrap();
            return done;
        }
        previous = claimed;
    }
}

/// Cycles of the SQLite floor between two checkpoints (about the pages the store's hot path
/// writes between two: it asks every 16 cycles of up to 64 runs).
const FLOOR_CHECKPOINT_EVERY: u64 = 64;

/// The floor: the best hand-written SQL for the claim-and-complete cycle on the same schema
/// and indexes, no engine (see `FLOOR_CYCLE_POSTGRES` and `floor_loop_sqlite`). Postgres runs
/// `FLOOR_LOOPS_POSTGRES` loops on one pool (with one, a disk flush per commit caps it);
/// SQLite one (a single writer: more loops only queue for the lock). Returns runs per second
/// and the loops.
async fn sql_floor(db: &Database, total: u64) -> (f64, usize) {
    let started = Instant::now();
    let (done, loops) = match db.raw().await {
        Raw::Postgres(pool) => {
            let done = Arc::new(AtomicU64::new(0));
            let mut tasks = Vec::new();
            let ranges = tenant_ranges(&pool, FLOOR_LOOPS_POSTGRES).await;
            for range in ranges {
                let loop_ = floor_loop_postgres(pool.clone(), done.clone(), total, range);
                tasks.push(tokio::spawn(loop_));
            }
            for task in tasks {
                task.await.unwrap();
            }
            pool.close().await;
            (done.load(Ordering::Relaxed), FLOOR_LOOPS_POSTGRES)
        }
        Raw::Sqlite(pool) => {
            pool.close().await;
            let file = db.sqlite_file();
            let done =
                tokio::task::spawn_blocking(move || floor_loop_sqlite(&file, total)).await.unwrap();
            (done, 1)
        }
    };
    (done as f64 / started.elapsed().as_secs_f64(), loops)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn percentile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

#[derive(serde::Serialize, Default)]
struct BackendReport {
    backend: String,
    runs: u64,
    repetitions: usize,
    engine_1_runs_per_s: f64,
    engine_4_runs_per_s: f64,
    store_floor_runs_per_s: f64,
    sql_floor_runs_per_s: f64,
    sql_floor_loops: usize,
    fraction_of_floor: f64,
    /// Per offered load: (every-second schedules, runs/s succeeded, runs/s queued).
    sustained: Vec<(usize, f64, f64)>,
    idle_schedules: usize,
    /// Idle lateness, one configuration after the other: claiming only at the instant
    /// (`claim_ahead` zero, as before it existed) and with the default claim-ahead, both with
    /// the 64 worker slots of the other sections; then with slots for every run due at one
    /// instant (a run claimed ahead waits in its slot, so with 64 slots the rest of the second's
    /// 167 runs wait for the first 64 to finish).
    lateness_claim_at_instant: Lateness,
    lateness: Lateness,
    lateness_wide: Lateness,
    burst: BurstReport,
    fairness_light_wait_p99_ms: f64,
    fairness_heavy_share_first_1000: f64,
    fairness_jain_first_1000: f64,
    /// The flood (one heavy tenant, 999 light ones) burned down to its last run, runs/s.
    fairness_flood_runs_per_s: f64,
    /// The same number of runs queued for one tenant (the claim degenerates to oldest first).
    fairness_fifo_runs_per_s: f64,
    fairness_flood_fraction_of_fifo: f64,
    scale: Vec<ScaleReport>,
    lease_ttl_s: u64,
    recovery_s: Vec<f64>,
    recovery_median_s: f64,
}

/// What one run of the benchmark measures; `--quick` shrinks everything.
struct Settings {
    runs: u64,
    repetitions: usize,
    /// Offered loads: one within what the engine carries, one beyond (an overload).
    sustained_schedules: Vec<usize>,
    sustained_seconds: u64,
    idle_schedules: usize,
    idle_seconds: u64,
    burst_schedules: usize,
    scale_sizes: Vec<usize>,
    scale_cpu_seconds: u64,
    lease_ttl_s: u64,
    /// `--only=burst,scale`: just these sections (throughput, sustained, lateness, burst,
    /// fairness, scale, recovery); all when empty. `lateness-ahead`: of the lateness section,
    /// only the default configuration (claiming ahead, 64 slots).
    only: Vec<String>,
}

impl Settings {
    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|wanted| wanted == section)
    }
}

async fn bench_backend(backend: &str, settings: &Settings) -> BackendReport {
    let runs = settings.runs;
    let repetitions = settings.repetitions;
    let mut report = BackendReport {
        backend: backend.into(),
        runs,
        repetitions,
        idle_schedules: settings.idle_schedules,
        lease_ttl_s: settings.lease_ttl_s,
        ..Default::default()
    };
    if settings.wants("throughput") {
        eprintln!("{backend}: throughput, {runs} runs burned down, {repetitions} repetitions");
        let (mut one, mut four, mut store_floors, mut sql_floors) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for repetition in 0..repetitions {
            // Side by side in each repetition, so load on the machine hits all four alike.
            for (engines, out) in [(1usize, &mut one), (4, &mut four)] {
                let db = Database::create(backend).await;
                seed_queue(&db.store().await, 100, 10, runs as usize, 1_000).await;
                let rate = burn_down(&db, engines, runs).await;
                eprintln!("  {backend} rep {repetition}: {engines} engine(s) {rate:.0} runs/s");
                out.push(rate);
                db.drop_database().await;
            }
            let db = Database::create(backend).await;
            seed_queue(&db.store().await, 100, 10, runs as usize, 1_000).await;
            let rate = store_floor(&db, runs).await;
            eprintln!("  {backend} rep {repetition}: store floor {rate:.0} runs/s");
            store_floors.push(rate);
            db.drop_database().await;
            let db = Database::create(backend).await;
            seed_queue(&db.store().await, 100, 10, runs as usize, 1_000).await;
            let (rate, loops) = sql_floor(&db, runs).await;
            eprintln!("  {backend} rep {repetition}: SQL floor ({loops} loops) {rate:.0} runs/s");
            sql_floors.push(rate);
            report.sql_floor_loops = loops;
            db.drop_database().await;
        }
        report.engine_1_runs_per_s = median(&mut one);
        report.engine_4_runs_per_s = median(&mut four);
        report.store_floor_runs_per_s = median(&mut store_floors);
        report.sql_floor_runs_per_s = median(&mut sql_floors);
        report.fraction_of_floor = report.engine_1_runs_per_s.max(report.engine_4_runs_per_s)
            / report.sql_floor_runs_per_s;
    }

    if settings.wants("sustained") {
        for &schedules in &settings.sustained_schedules {
            eprintln!(
                "{backend}: sustained, {schedules} every-second schedules for {} s",
                settings.sustained_seconds
            );
            let (rate, queued) = sustained(backend, schedules, settings.sustained_seconds).await;
            eprintln!("  {backend}: {rate:.0} runs/s succeeded, {queued:.0} runs/s queued");
            report.sustained.push((schedules, rate, queued));
        }
    }

    if settings.wants("lateness") {
        let claim_ahead = EngineConfig::new("idle").claim_ahead;
        report.lateness_claim_at_instant =
            idle_lateness(backend, settings, Duration::ZERO, 64).await;
        report.lateness = idle_lateness(backend, settings, claim_ahead, 64).await;
        report.lateness_wide = idle_lateness(backend, settings, claim_ahead, 256).await;
    } else if settings.wants("lateness-ahead") {
        // The default configuration alone (a third of the time), for comparing two builds.
        let claim_ahead = EngineConfig::new("idle").claim_ahead;
        report.lateness = idle_lateness(backend, settings, claim_ahead, 64).await;
    }

    if settings.wants("burst") {
        eprintln!(
            "{backend}: burst, {} schedules due in the same second",
            settings.burst_schedules
        );
        report.burst = burst(backend, settings.burst_schedules).await;
        eprintln!(
            "  {backend}: all queued after {:.2} s, all started after {:.2} s",
            report.burst.all_queued_s, report.burst.all_started_s
        );
    }

    if settings.wants("fairness") {
        // Fairness: one tenant floods, 999 tenants have one ready run each. The engine runs
        // until the whole flood is done, so the same run also gives the flood's throughput.
        let total = runs + 999;
        let db = Database::create(backend).await;
        let store = db.store().await;
        seed_queue(&store, 1, 10, runs as usize, 64).await;
        seed_light(&store, 999).await;
        let handler = Arc::new(NoOp { record_starts: true, ..NoOp::default() });
        let engine = engine_with(store.clone(), bench_config("fair"), &handler);
        let shutdown = CancellationToken::new();
        let started = Instant::now();
        let task = spawn_engine(&engine, &shutdown);
        while engine.stats().succeeded.load(Ordering::Relaxed) < total
            && started.elapsed() < Duration::from_secs(600)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let flood_elapsed = started.elapsed();
        let flood_done = engine.stats().succeeded.load(Ordering::Relaxed);
        shutdown.cancel();
        task.await.unwrap().unwrap();
        report.fairness_flood_runs_per_s = flood_done as f64 / flood_elapsed.as_secs_f64();
        let starts = handler.starts.lock().unwrap().clone();
        let mut waits: Vec<i64> = starts
            .iter()
            .filter(|(tenant, _)| tenant != "tenant-0000")
            .map(|(_, at)| at.duration_since(started).as_micros() as i64)
            .collect();
        waits.sort_unstable();
        report.fairness_light_wait_p99_ms = percentile(&waits, 0.99) as f64 / 1000.0;
        let first: Vec<&(String, Instant)> = starts.iter().take(1000).collect();
        let heavy = first.iter().filter(|(tenant, _)| tenant == "tenant-0000").count();
        report.fairness_heavy_share_first_1000 = heavy as f64 / first.len().max(1) as f64;
        // Jain's index over the tenants that had work, on their share of the first 1,000 starts
        // (capped by demand: a light tenant can use at most one start).
        let mut per_tenant = std::collections::HashMap::<&str, f64>::new();
        for (tenant, _) in &first {
            *per_tenant.entry(tenant.as_str()).or_default() += 1.0;
        }
        let sum: f64 = per_tenant.values().sum();
        let squares: f64 = per_tenant.values().map(|x| x * x).sum();
        report.fairness_jain_first_1000 = sum * sum / (per_tenant.len() as f64 * squares);
        db.drop_database().await;

        // The FIFO reference, right after: as many runs, all one tenant's, same limit of 64.
        let db = Database::create(backend).await;
        seed_queue(&db.store().await, 1, 10, total as usize, 64).await;
        // Its handler records starts too, as the flood's did, so both pay the same per run.
        let recording = Arc::new(NoOp { record_starts: true, ..NoOp::default() });
        report.fairness_fifo_runs_per_s = burn_down_with(&db, 1, total, &recording).await;
        db.drop_database().await;
        report.fairness_flood_fraction_of_fifo =
            report.fairness_flood_runs_per_s / report.fairness_fifo_runs_per_s;
        eprintln!(
            "  {backend}: flood {:.0} runs/s, one tenant oldest first {:.0} runs/s ({:.2})",
            report.fairness_flood_runs_per_s,
            report.fairness_fifo_runs_per_s,
            report.fairness_flood_fraction_of_fifo
        );
    }

    if settings.wants("scale") {
        for &schedules in &settings.scale_sizes {
            eprintln!("{backend}: scale, {schedules} schedules across 1,000 tenants, none due");
            let scale = scale(backend, schedules, settings.scale_cpu_seconds).await;
            eprintln!(
            "  {backend}: idle tick {:.0} µs, rota serve {:.2}% of a core, RSS {:.1} MB (peak {:.1})",
            scale.idle_tick_us,
            scale.serve_idle_cpu_percent,
            scale.serve_rss_mb,
            scale.serve_peak_rss_mb
        );
            report.scale.push(scale);
        }
    }

    // Two nodes on one SQLite file no longer exist: the second engine refuses to start while
    // the first holds the file's engine lock (`runtime::engine_lock`), and a restarted node
    // recovers its predecessor's runs at start. Postgres only.
    if settings.wants("recovery") && backend == "postgres" {
        eprintln!("{backend}: crash recovery, lease {} s", settings.lease_ttl_s);
        report.recovery_s = crash_recovery(backend, repetitions, settings.lease_ttl_s).await;
        report.recovery_median_s = median(&mut report.recovery_s.clone());
    }
    report
}

/// The engines' settings here: 64 workers claiming up to 64 runs at once.
fn bench_config(node: &str) -> EngineConfig {
    let mut config = EngineConfig::new(node);
    config.workers = 64;
    config.claim_batch = 64;
    config.shutdown_grace = Duration::from_secs(5);
    config
}

fn engine_with(store: AnyStore, config: EngineConfig, handler: &Arc<NoOp>) -> Engine<AnyStore> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    Engine::with_registry(store, clock, config, registry(handler))
}

fn spawn_engine(
    engine: &Engine<AnyStore>,
    shutdown: &CancellationToken,
) -> tokio::task::JoinHandle<rota::error::Result<()>> {
    let (engine, shutdown) = (engine.clone(), shutdown.clone());
    tokio::spawn(async move { engine.run(shutdown).await })
}

/// Fire lateness on the wall clock (the handler's start minus the scheduled instant).
#[derive(serde::Serialize, Default, Clone, Copy)]
struct Lateness {
    claim_ahead_ms: u64,
    slots: u32,
    runs: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// Idle lateness: `idle_schedules` six-field schedules spread over the minute (one second
/// each), an engine with the given claim-ahead and worker slots running for `idle_seconds`.
async fn idle_lateness(
    backend: &str,
    settings: &Settings,
    claim_ahead: Duration,
    slots: u32,
) -> Lateness {
    eprintln!(
        "{backend}: idle lateness, {} schedules over the minute, {} s, claim ahead {} ms, {slots} slots",
        settings.idle_schedules,
        settings.idle_seconds,
        claim_ahead.as_millis()
    );
    let db = Database::create(backend).await;
    let store = db.store().await;
    let minute_ms = 60_000;
    let first_ms = (now_ms() / 1_000 + 10) * 1_000;
    bulk_jobs(
        &db,
        &store,
        // Job n fires every minute at n seconds past `first` (when the engine has started).
        &BulkJobs {
            max_concurrent: 50,
            second_of_minute: true,
            next_step_ms: 1_000,
            next_spread_ms: minute_ms,
            first_second: first_ms / 1_000 % 60,
            ..BulkJobs::new(settings.idle_schedules, 100, " * * * * *", first_ms)
        },
    )
    .await;
    let handler = Arc::new(NoOp::default());
    let mut config = bench_config("idle");
    config.claim_ahead = claim_ahead;
    config.workers = slots;
    config.claim_batch = slots;
    let engine = engine_with(store.clone(), config, &handler);
    let shutdown = CancellationToken::new();
    let task = spawn_engine(&engine, &shutdown);
    tokio::time::sleep(Duration::from_secs(settings.idle_seconds)).await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
    let mut lateness = handler.lateness_us();
    lateness.sort_unstable();
    let measured = Lateness {
        claim_ahead_ms: claim_ahead.as_millis() as u64,
        slots,
        runs: lateness.len(),
        p50_ms: percentile(&lateness, 0.5) as f64 / 1000.0,
        p99_ms: percentile(&lateness, 0.99) as f64 / 1000.0,
        max_ms: lateness.last().copied().unwrap_or(0) as f64 / 1000.0,
    };
    eprintln!(
        "  {backend}: {} runs, lateness p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        measured.runs, measured.p50_ms, measured.p99_ms, measured.max_ms
    );
    // Where the tail comes from: the instants whose runs started latest.
    let mut by_instant: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for &(at, late) in handler.lateness.lock().unwrap().iter() {
        by_instant.entry(at).or_default().push(late);
    }
    let mut worst: Vec<(i64, i64, usize)> = by_instant
        .iter()
        .map(|(&at, late)| (*late.iter().max().unwrap_or(&0), at, late.len()))
        .collect();
    worst.sort_unstable_by(|a, b| b.cmp(a));
    let raw = db.raw().await;
    for (late, at, runs) in worst.iter().take(3) {
        // When the tick queued them and when they were claimed (a run claimed after its
        // instant records the claim as its start; one claimed ahead records the instant).
        let sql = "SELECT min(queued_at - scheduled_at), max(queued_at - scheduled_at), \
                   min(started_at - scheduled_at), max(started_at - scheduled_at) \
                   FROM runs WHERE scheduled_at = $1";
        let (queued_min, queued_max, started_min, started_max): (i64, i64, i64, i64) = match &raw {
            Raw::Postgres(pool) => sqlx::query_as(sql).bind(at).fetch_one(pool).await.unwrap(),
            Raw::Sqlite(pool) => sqlx::query_as(sql).bind(at).fetch_one(pool).await.unwrap(),
        };
        eprintln!(
            "    latest instant: {:.1} s after the first, {runs} runs, the last {:.1} ms late; \
             queued {queued_min}..{queued_max} ms, \
             recorded start {started_min}..{started_max} ms from the instant",
            (at - first_ms) as f64 / 1000.0,
            *late as f64 / 1000.0
        );
    }
    db.drop_database().await;
    measured
}

/// Sustained throughput: `schedules` jobs firing every second (overlap `allow`), so the engine
/// both makes and burns runs for a minute. Returns (runs succeeded per second, median of three
/// equal windows after a warm-up; runs queued per second over the same span).
async fn sustained(backend: &str, schedules: usize, seconds: u64) -> (f64, f64) {
    let db = Database::create(backend).await;
    let store = db.store().await;
    let start_ms = (now_ms() / 1000 + 3) * 1000;
    bulk_jobs(
        &db,
        &store,
        &BulkJobs {
            max_concurrent: 1_000,
            overlap: "allow",
            ..BulkJobs::new(schedules, 100, "* * * * * *", start_ms)
        },
    )
    .await;
    let handler = Arc::new(NoOp::default());
    let engine = engine_with(store.clone(), bench_config("sustained"), &handler);
    let shutdown = CancellationToken::new();
    let task = spawn_engine(&engine, &shutdown);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let window = Duration::from_secs(seconds / 3);
    let mut rates = Vec::new();
    let enqueued_before = engine.stats().enqueued.load(Ordering::Relaxed);
    let begin = Instant::now();
    for _ in 0..3 {
        let before = handler.done.load(Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(window).await;
        let done = handler.done.load(Ordering::Relaxed) - before;
        rates.push(done as f64 / started.elapsed().as_secs_f64());
    }
    let enqueued = engine.stats().enqueued.load(Ordering::Relaxed) - enqueued_before;
    let queued_rate = enqueued as f64 / begin.elapsed().as_secs_f64();
    shutdown.cancel();
    task.await.unwrap().unwrap();
    db.drop_database().await;
    (median(&mut rates), queued_rate)
}

#[derive(serde::Serialize, Default, Clone)]
struct BurstReport {
    schedules: usize,
    /// From the shared instant until the last run was queued.
    all_queued_s: f64,
    /// From the shared instant until the last run started.
    all_started_s: f64,
    lateness_p50_ms: f64,
    lateness_p99_ms: f64,
}

/// `schedules` jobs (1,000 tenants) due in the same second; one engine with 64 slots.
async fn burst(backend: &str, schedules: usize) -> BurstReport {
    let db = Database::create(backend).await;
    let store = db.store().await;
    // Far in the future while the engine starts; then moved to an instant a few seconds ahead.
    bulk_jobs(&db, &store, &BulkJobs::new(schedules, 1_000, YEARLY, now_ms() + 86_400_000)).await;
    let handler = Arc::new(NoOp::default());
    let engine = engine_with(store.clone(), bench_config("burst"), &handler);
    let shutdown = CancellationToken::new();
    let task = spawn_engine(&engine, &shutdown);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let instant = SystemClock.now().with_nanosecond(0).unwrap() + chrono::Duration::seconds(4);
    let second = instant.second();
    let schedule = format!("{second} * * * * *");
    let raw = db.raw().await;
    raw_execute!(
        &raw,
        "UPDATE jobs SET schedule = $1, next_run_at = $2 WHERE name LIKE 'bulk-%'",
        schedule.as_str(),
        instant.timestamp_millis()
    );
    close(raw).await;
    engine.notify_schedule_changed();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut all_queued = None;
    loop {
        let now = SystemClock.now();
        if all_queued.is_none()
            && engine.stats().enqueued.load(Ordering::Relaxed) >= schedules as u64
        {
            all_queued = Some(now);
        }
        if handler.done.load(Ordering::Relaxed) >= schedules as u64 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    task.await.unwrap().unwrap();
    let mut lateness = handler.lateness_us();
    lateness.sort_unstable();
    let seconds_after = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or(f64::NAN, |at| (at - instant).num_milliseconds() as f64 / 1000.0)
    };
    let report = BurstReport {
        schedules,
        all_queued_s: seconds_after(all_queued),
        all_started_s: if lateness.len() >= schedules {
            *lateness.last().unwrap() as f64 / 1e6
        } else {
            f64::NAN
        },
        lateness_p50_ms: percentile(&lateness, 0.5) as f64 / 1000.0,
        lateness_p99_ms: percentile(&lateness, 0.99) as f64 / 1000.0,
    };
    db.drop_database().await;
    report
}

#[derive(serde::Serialize, Default, Clone)]
struct ScaleReport {
    schedules: usize,
    /// An in-process tick with nothing due (the next-due probe and the due query), median.
    idle_tick_us: f64,
    /// `rota serve`'s CPU while nothing is due, percent of one core.
    serve_idle_cpu_percent: f64,
    serve_rss_mb: f64,
    serve_peak_rss_mb: f64,
}

/// `schedules` jobs across 1,000 tenants, none due for the next hour: what the engine costs
/// while it waits, in process and as a real `rota serve`.
async fn scale(backend: &str, schedules: usize, cpu_seconds: u64) -> ScaleReport {
    let db = Database::create(backend).await;
    let store = db.store().await;
    bulk_jobs(
        &db,
        &store,
        &BulkJobs {
            next_step_ms: 7_919,
            next_spread_ms: 23 * 3_600_000,
            ..BulkJobs::new(schedules, 1_000, YEARLY, now_ms() + 3_600_000)
        },
    )
    .await;
    let engine = engine_with(store.clone(), bench_config("scale"), &Arc::new(NoOp::default()));
    let mut ticks = Vec::new();
    for _ in 0..31 {
        let started = Instant::now();
        store.next_due_at().await.unwrap();
        let report = engine.tick_once().await.unwrap();
        assert_eq!(report.jobs, 0, "nothing is due");
        ticks.push(started.elapsed().as_secs_f64() * 1e6);
    }
    let mut serve = Serve::start(&db.url, "scale", &["--workers", "16"]);
    // Past start-up (migrations, registration, the first ticks).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = serve.cpu_ticks();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(cpu_seconds)).await;
    let used = serve.cpu_ticks() - before;
    // /proc reports CPU time in USER_HZ ticks, 100 per second on Linux.
    let cpu = used as f64 / 100.0 / started.elapsed().as_secs_f64() * 100.0;
    let (rss_kb, peak_kb) = serve.memory_kb();
    serve.stop();
    db.drop_database().await;
    ScaleReport {
        schedules,
        idle_tick_us: median(&mut ticks),
        serve_idle_cpu_percent: cpu,
        serve_rss_mb: rss_kb as f64 / 1024.0,
        serve_peak_rss_mb: peak_kb as f64 / 1024.0,
    }
}

/// A `rota serve` child process, killed when dropped.
struct Serve {
    child: std::process::Child,
}

impl Serve {
    fn start(url: &str, node: &str, extra: &[&str]) -> Serve {
        let mut args = vec!["--database", url, "serve", "--node-id", node];
        args.extend_from_slice(extra);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_rota"))
            .args(&args)
            .env("ROTA_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("rota serve starts");
        Serve { child }
    }

    /// User plus system time so far, in ticks (fields 14 and 15 of /proc/PID/stat).
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    /// (VmRSS, VmHWM) in KiB.
    fn memory_kb(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kb| kb.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGKILL, as a crash: no drain, no lease hand-back.
    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Crash recovery: two `rota serve` nodes (lease 5 s); the node running a long job is killed
/// with SIGKILL. Returns, per repetition, seconds from the kill to the run's recovery attempt
/// starting on the other node.
async fn crash_recovery(backend: &str, repetitions: usize, lease_ttl_s: u64) -> Vec<f64> {
    let db = Database::create(backend).await;
    let store = db.store().await;
    let now = SystemClock.now();
    let tenant = store
        .create_tenant(
            &NewTenant { name: "crash".into(), max_concurrent: 10, weight: 1 },
            "bench",
            now,
        )
        .await
        .unwrap();
    let definition = JobDefinition {
        handler: serde_json::from_value(serde_json::json!({
            "type": "command", "program": "/bin/sleep", "args": ["8"]
        }))
        .unwrap(),
        ..noop_job("slow", YEARLY)
    };
    let job_id = unscheduled_job(&store, tenant.id, definition).await;
    let ttl = lease_ttl_s.to_string();
    // The job's command runs as the daemon's user; where that is root (a CI container) the
    // daemon must be told it may.
    let serve_args = ["--workers", "4", "--lease-ttl", ttl.as_str(), "--allow-root-jobs"];
    let mut nodes = vec![
        Serve::start(&db.url, "node-a", &serve_args),
        Serve::start(&db.url, "node-b", &serve_args),
    ];
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut delays = Vec::new();
    for _ in 0..repetitions {
        let run = store.enqueue_manual(job_id, None, "bench", SystemClock.now()).await.unwrap();
        let owner = loop {
            let current = store.run(run.id).await.unwrap();
            if current.status == RunStatus::Running {
                break current.lease_owner.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        // Let the lease be renewed once, as for a run well under way.
        tokio::time::sleep(Duration::from_millis(lease_ttl_s * 1000 / 2)).await;
        let victim = if owner == "node-a" { 0 } else { 1 };
        nodes[victim].stop();
        let killed_at = SystemClock.now();
        let deadline = Instant::now() + Duration::from_secs(lease_ttl_s + 30);
        let recovered_at = loop {
            let runs = store
                .list_runs(&rota::store::RunFilter {
                    job_id: Some(job_id),
                    limit: Some(100),
                    ..Default::default()
                })
                .await
                .unwrap();
            let recovery = runs.iter().find(|candidate| {
                candidate.scheduled_at == run.scheduled_at
                    && candidate.trigger == rota::run::Trigger::Recovery
                    && candidate.started_at.is_some()
            });
            if let Some(recovery) = recovery {
                break recovery.started_at.unwrap();
            }
            assert!(Instant::now() < deadline, "the killed node's run was never recovered");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        let delay = (recovered_at - killed_at).num_milliseconds() as f64 / 1000.0;
        eprintln!("  {backend}: killed {owner}; its run started again after {delay:.2} s");
        delays.push(delay);
        // A supervisor restarts the node under its id.
        let node = if victim == 0 { "node-a" } else { "node-b" };
        nodes[victim] = Serve::start(&db.url, node, &serve_args);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    drop(nodes);
    db.drop_database().await;
    delays
}

async fn seed_light(store: &AnyStore, tenants: usize) {
    let now = SystemClock.now();
    for index in 0..tenants {
        let tenant = store
            .create_tenant(
                &NewTenant { name: format!("light-{index:04}"), max_concurrent: 3, weight: 1 },
                "tester",
                now,
            )
            .await
            .unwrap();
        let job = unscheduled_job(store, tenant.id, noop_job("tick", YEARLY)).await;
        store.enqueue_manual(job, None, "tester", now).await.unwrap();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and must not spend
    // minutes here: it only checks that the benchmark builds.
    if !args.iter().any(|arg| arg == "--bench") {
        eprintln!("engine benchmark: built; run it with `cargo xtask bench`");
        return;
    }
    let quick = args.iter().any(|arg| arg == "--quick");
    let backends: Vec<&str> = if args.iter().any(|arg| arg == "--sqlite-only") {
        vec!["sqlite"]
    } else if args.iter().any(|arg| arg == "--postgres-only") {
        vec!["postgres"]
    } else {
        vec!["sqlite", "postgres"]
    };
    let only: Vec<String> = args
        .iter()
        .filter_map(|arg| arg.strip_prefix("--only="))
        .flat_map(|list| list.split(',').map(str::to_owned))
        .collect();
    let settings = if quick {
        Settings {
            runs: 10_000,
            repetitions: 1,
            sustained_schedules: vec![2_000],
            sustained_seconds: 15,
            idle_schedules: 1_000,
            idle_seconds: 25,
            burst_schedules: 10_000,
            scale_sizes: vec![10_000, 100_000],
            scale_cpu_seconds: 5,
            lease_ttl_s: 3,
            only,
        }
    } else {
        Settings {
            runs: 100_000,
            repetitions: 3,
            sustained_schedules: vec![2_000, 10_000],
            sustained_seconds: 60,
            idle_schedules: 10_000,
            idle_seconds: 70,
            burst_schedules: 100_000,
            scale_sizes: vec![10_000, 100_000, 1_000_000],
            scale_cpu_seconds: 20,
            lease_ttl_s: 5,
            only,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // Read before the runs: the load they meet, not the load they made.
    let machine = machine();
    let started = Instant::now();
    let reports: Vec<BackendReport> = runtime.block_on(async {
        let mut reports = Vec::new();
        for backend in &backends {
            reports.push(bench_backend(backend, &settings).await);
        }
        reports
    });
    print_table(&backends, &reports);
    let json = serde_json::json!({
        "machine": machine,
        "profile": "cargo bench (release)",
        "quick": quick,
        "elapsed_s": started.elapsed().as_secs(),
        "reports": reports,
    });
    let out = bench_output_dir().join("engine.json");
    match std::fs::create_dir_all(out.parent().unwrap())
        .and_then(|()| std::fs::write(&out, serde_json::to_string_pretty(&json).unwrap()))
    {
        Ok(()) => println!("\nwritten: {}", out.display()),
        Err(error) => eprintln!("cannot write {}: {error}", out.display()),
    }
}

/// `<target dir>/bench`: the benchmark runs from `<target dir>/release/deps/`.
fn bench_output_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map_or_else(|| std::path::PathBuf::from("bench"), |dir| dir.join("bench"))
}

/// CPU model, cores and load at the start, for the record.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!("{model}; {cores} cores; load average at start {}", load.trim())
}

fn print_table(backends: &[&str], reports: &[BackendReport]) {
    println!("\n| figure | {} |", backends.join(" | "));
    println!("|---|{}", "---|".repeat(backends.len()));
    let row = |label: &str, f: &dyn Fn(&BackendReport) -> String| {
        println!("| {label} | {} |", reports.iter().map(f).collect::<Vec<_>>().join(" | "));
    };
    row("runs burned down (median of repetitions)", &|r| format!("{} × {}", r.runs, r.repetitions));
    row("1 engine, 64 slots: runs/s", &|r| format!("{:.0}", r.engine_1_runs_per_s));
    row("4 engines, 64 slots each: runs/s", &|r| format!("{:.0}", r.engine_4_runs_per_s));
    row("SQL floor (hand-written claim-and-complete cycle, 10 runs each): runs/s", &|r| {
        format!("{:.0} ({} loop(s))", r.sql_floor_runs_per_s, r.sql_floor_loops)
    });
    row("store floor (the store's claim + complete, no engine): runs/s", &|r| {
        format!("{:.0}", r.store_floor_runs_per_s)
    });
    row("best engine as a fraction of the SQL floor", &|r| format!("{:.2}", r.fraction_of_floor));
    let loads = reports.first().map_or(0, |r| r.sustained.len());
    for index in 0..loads {
        let offered = reports[0].sustained[index].0;
        row(&format!("sustained, {offered} every-second schedules: runs/s done (queued)"), &|r| {
            let (_, done, queued) = r.sustained[index];
            format!("{done:.0} ({queued:.0})")
        });
    }
    for (label, pick) in [
        (
            "idle lateness p50 / p99 / max (ms), claiming at the instant",
            (|r| r.lateness_claim_at_instant) as fn(&BackendReport) -> Lateness,
        ),
        ("idle lateness p50 / p99 / max (ms), claiming ahead", |r| r.lateness),
        ("idle lateness p50 / p99 / max (ms), claiming ahead, a slot per due run", |r| {
            r.lateness_wide
        }),
    ] {
        row(label, &|r| {
            let lateness = pick(r);
            format!(
                "{:.1} / {:.1} / {:.1} ({} schedules, claim ahead {} ms, {} slots)",
                lateness.p50_ms,
                lateness.p99_ms,
                lateness.max_ms,
                r.idle_schedules,
                lateness.claim_ahead_ms,
                lateness.slots
            )
        });
    }
    row("burst in one second: all queued / all started (s)", &|r| {
        format!(
            "{:.1} / {:.1} ({} schedules)",
            r.burst.all_queued_s, r.burst.all_started_s, r.burst.schedules
        )
    });
    row("burst lateness p50 / p99 (ms)", &|r| {
        format!("{:.0} / {:.0}", r.burst.lateness_p50_ms, r.burst.lateness_p99_ms)
    });
    row("fairness: light tenants' wait p99 (ms)", &|r| {
        format!("{:.0}", r.fairness_light_wait_p99_ms)
    });
    row("fairness: heavy share of first 1,000 starts", &|r| {
        format!("{:.3}", r.fairness_heavy_share_first_1000)
    });
    row("fairness: Jain's index, first 1,000 starts", &|r| {
        format!("{:.3}", r.fairness_jain_first_1000)
    });
    row("fairness: flood burned down / same runs for one tenant (oldest first), runs/s", &|r| {
        format!(
            "{:.0} / {:.0} ({:.2})",
            r.fairness_flood_runs_per_s,
            r.fairness_fifo_runs_per_s,
            r.fairness_flood_fraction_of_fifo
        )
    });
    let sizes = reports.first().map_or(0, |r| r.scale.len());
    for index in 0..sizes {
        let schedules = reports[0].scale[index].schedules;
        row(&format!("{schedules} schedules: idle tick (µs)"), &|r| {
            format!("{:.0}", r.scale[index].idle_tick_us)
        });
        row(&format!("{schedules} schedules: rota serve idle CPU, RSS (peak)"), &|r| {
            let scale = &r.scale[index];
            format!(
                "{:.2}% of a core, {:.0} MB ({:.0} MB)",
                scale.serve_idle_cpu_percent, scale.serve_rss_mb, scale.serve_peak_rss_mb
            )
        });
    }
    row("crash recovery: kill -9 to the run starting again (median; each)", &|r| {
        let each: Vec<String> = r.recovery_s.iter().map(|s| format!("{s:.2}")).collect();
        format!(
            "{:.2} s with a {} s lease ({})",
            r.recovery_median_s,
            r.lease_ttl_s,
            each.join(", ")
        )
    });
}
