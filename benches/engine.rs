//! The engine benchmark: `cargo xtask bench` (or `cargo bench --bench engine -- [--quick]`).
//!
//! On SQLite and on Postgres, in one run, each figure the median of several repetitions:
//! 1. throughput: burn down a queue of due no-op runs end to end (claim, execute, record) with
//!    one engine and with four engines (each with 64 worker slots);
//! 2. the floor: the same store calls (claim ten, complete them in one batch) issued by a
//!    minimal loop without the engine, on the same kind of pool; the engine's throughput is
//!    printed as a fraction of it;
//! 3. fire lateness of an idle engine with schedules spread over the minute (start minus
//!    scheduled instant, measured by the handler on the wall clock);
//! 4. fairness: 999 light tenants with one run each while one tenant floods the queue: the
//!    light runs' wait, the heavy tenant's share of the first claims, Jain's index.
//!
//! Prints a markdown table and writes `target/bench/engine.json`. Timings are measured, never
//! asserted. Postgres is the server on 127.0.0.1:5432 (`ROTA_TEST_POSTGRES_URL` overrides).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rota::clock::{Clock, SystemClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{Envelope, Handler, HandlerRegistry, HandlerSpec, Outcome};
use rota::job::JobDefinition;
use rota::policy::JobPolicy;
use rota::run::RunStatus;
use rota::store::{AnyStore, DueJob, RunResult, Store, TickPlan};
use rota::tenant::NewTenant;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct NoOp {
    done: AtomicU64,
    /// Wall-clock start minus scheduled instant, in microseconds, for scheduled runs.
    lateness_us: Mutex<Vec<i64>>,
    /// (tenant, start instant) of every run, for fairness.
    starts: Mutex<Vec<(String, Instant)>>,
    record_starts: bool,
}

#[async_trait::async_trait]
impl Handler for NoOp {
    async fn run(&self, envelope: &Envelope, _cancel: CancellationToken) -> Outcome {
        let now = SystemClock.now();
        if envelope.trigger == rota::run::Trigger::Schedule {
            let late = (now - envelope.scheduled_for).num_microseconds().unwrap_or(i64::MAX);
            self.lateness_us.lock().unwrap().push(late);
        }
        if self.record_starts {
            self.starts.lock().unwrap().push((envelope.tenant.clone(), Instant::now()));
        }
        self.done.fetch_add(1, Ordering::Relaxed);
        Outcome::succeeded("")
    }
}

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

    async fn drop_database(self) {
        if let Some((admin, name)) = &self.admin {
            let pool = sqlx::PgPool::connect(admin).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&pool)
                .await;
            pool.close().await;
        }
    }
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
                    &noop_job(&format!("job-{job_index}"), "0 0 1 1 *"),
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
    let report = store.enqueue_due(now, 100_000, &plan).await.unwrap();
    assert!(report.enqueued as usize >= runs, "seeded {} runs", report.enqueued);
}

fn registry(handler: &Arc<NoOp>) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register("noop", handler.clone()).unwrap();
    registry
}

/// Runs `engines` engines until `total` runs succeeded; returns runs per second.
async fn burn_down(db: &Database, engines: usize, total: u64) -> f64 {
    let handler = Arc::new(NoOp::default());
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();
    let mut handles = Vec::new();
    let started = Instant::now();
    for node in 0..engines {
        let store = db.store().await;
        let mut config = EngineConfig::new(format!("bench-{node}"));
        config.workers = 64;
        config.claim_batch = 64;
        config.shutdown_grace = Duration::from_secs(5);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let engine = Engine::with_registry(store, clock, config, registry(&handler));
        handles.push(engine.clone());
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move { engine.run(shutdown).await }));
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
    total as f64 / elapsed.as_secs_f64()
}

/// The same store calls without the engine: claim ten, complete them in one batch.
async fn floor(db: &Database, total: u64) -> f64 {
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
    floor_runs_per_s: f64,
    fraction_of_floor: f64,
    idle_schedules: usize,
    lateness_p50_ms: f64,
    lateness_p99_ms: f64,
    lateness_max_ms: f64,
    fairness_light_wait_p99_ms: f64,
    fairness_heavy_share_first_1000: f64,
    fairness_jain_first_1000: f64,
}

async fn bench_backend(
    backend: &str,
    runs: u64,
    repetitions: usize,
    idle_schedules: usize,
    idle_seconds: u64,
) -> BackendReport {
    let mut report = BackendReport {
        backend: backend.into(),
        runs,
        repetitions,
        idle_schedules,
        ..Default::default()
    };
    let (mut one, mut four, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    for repetition in 0..repetitions {
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
        let rate = floor(&db, runs).await;
        eprintln!("  {backend} rep {repetition}: floor {rate:.0} runs/s");
        floors.push(rate);
        db.drop_database().await;
    }
    report.engine_1_runs_per_s = median(&mut one);
    report.engine_4_runs_per_s = median(&mut four);
    report.floor_runs_per_s = median(&mut floors);
    report.fraction_of_floor = report.engine_1_runs_per_s / report.floor_runs_per_s;

    // Idle lateness: schedules spread over the minute (six-field, one second each).
    let db = Database::create(backend).await;
    let store = db.store().await;
    let now = SystemClock.now();
    let tenants = 100;
    for tenant_index in 0..tenants {
        let tenant = store
            .create_tenant(
                &NewTenant { name: format!("t{tenant_index}"), max_concurrent: 50, weight: 1 },
                "tester",
                now,
            )
            .await
            .unwrap();
        for job_index in 0..idle_schedules / tenants {
            let second = (tenant_index * (idle_schedules / tenants) + job_index) % 60;
            let definition = noop_job(&format!("j{job_index}"), &format!("{second} * * * * *"));
            let schedule = rota::cron::Schedule::parse(&definition.schedule, "UTC").unwrap();
            store
                .create_job(
                    tenant.id,
                    &definition,
                    &JobPolicy::default(),
                    schedule.next_after(now + chrono::Duration::seconds(2)),
                    "tester",
                    now,
                )
                .await
                .unwrap();
        }
    }
    let handler = Arc::new(NoOp::default());
    let mut config = EngineConfig::new("idle");
    config.workers = 64;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Engine::with_registry(store.clone(), clock, config, registry(&handler));
    let shutdown = CancellationToken::new();
    let task = tokio::spawn({
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        async move { engine.run(shutdown).await }
    });
    tokio::time::sleep(Duration::from_secs(idle_seconds)).await;
    shutdown.cancel();
    task.await.unwrap().unwrap();
    let mut lateness = handler.lateness_us.lock().unwrap().clone();
    lateness.sort_unstable();
    report.lateness_p50_ms = percentile(&lateness, 0.5) as f64 / 1000.0;
    report.lateness_p99_ms = percentile(&lateness, 0.99) as f64 / 1000.0;
    report.lateness_max_ms = lateness.last().copied().unwrap_or(0) as f64 / 1000.0;
    eprintln!(
        "  {backend}: idle lateness over {} runs p50 {:.1} ms p99 {:.1} ms",
        lateness.len(),
        report.lateness_p50_ms,
        report.lateness_p99_ms
    );
    db.drop_database().await;

    // Fairness: one tenant floods, 999 tenants have one ready run each.
    let db = Database::create(backend).await;
    let store = db.store().await;
    seed_queue(&store, 1, 10, runs as usize, 64).await;
    let flood_queued = Instant::now();
    seed_light(&store, 999).await;
    let handler = Arc::new(NoOp { record_starts: true, ..NoOp::default() });
    let mut config = EngineConfig::new("fair");
    config.workers = 64;
    config.claim_batch = 64;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Engine::with_registry(store.clone(), clock, config, registry(&handler));
    let shutdown = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn({
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        async move { engine.run(shutdown).await }
    });
    loop {
        let light_done = handler
            .starts
            .lock()
            .unwrap()
            .iter()
            .filter(|(tenant, _)| tenant != "tenant-0000")
            .count();
        if light_done >= 999 || started.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    task.await.unwrap().unwrap();
    let _ = flood_queued;
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
    report
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
        let job = store
            .create_job(
                tenant.id,
                &noop_job("tick", "0 0 1 1 *"),
                &JobPolicy::default(),
                None,
                "tester",
                now,
            )
            .await
            .unwrap();
        store.enqueue_manual(job.id, None, "tester", now).await.unwrap();
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
    // cargo bench passes --bench; ignore everything else.
    let backends: Vec<&str> = if args.iter().any(|arg| arg == "--sqlite-only") {
        vec!["sqlite"]
    } else {
        vec!["sqlite", "postgres"]
    };
    let (runs, repetitions, idle_schedules, idle_seconds) =
        if quick { (10_000, 1, 1_000, 15) } else { (100_000, 3, 10_000, 65) };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let reports: Vec<BackendReport> = runtime.block_on(async {
        let mut reports = Vec::new();
        for backend in &backends {
            eprintln!("benchmarking {backend} ({runs} runs, {repetitions} repetitions)");
            reports.push(
                bench_backend(backend, runs, repetitions, idle_schedules, idle_seconds).await,
            );
        }
        reports
    });
    println!("\n| figure | {} |", backends.join(" | "));
    println!("|---|{}", "---|".repeat(backends.len()));
    let row = |label: &str, f: &dyn Fn(&BackendReport) -> String| {
        println!("| {label} | {} |", reports.iter().map(f).collect::<Vec<_>>().join(" | "));
    };
    row("runs burned down (median of reps)", &|r| format!("{} × {}", r.runs, r.repetitions));
    row("1 engine, 64 slots: runs/s", &|r| format!("{:.0}", r.engine_1_runs_per_s));
    row("4 engines, 64 slots each: runs/s", &|r| format!("{:.0}", r.engine_4_runs_per_s));
    row("SQL floor (claim 10 + batch complete): runs/s", &|r| format!("{:.0}", r.floor_runs_per_s));
    row("1 engine as a fraction of the floor", &|r| format!("{:.2}", r.fraction_of_floor));
    row("idle lateness p50 / p99 / max (ms)", &|r| {
        format!(
            "{:.1} / {:.1} / {:.1} ({} schedules)",
            r.lateness_p50_ms, r.lateness_p99_ms, r.lateness_max_ms, r.idle_schedules
        )
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
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target-bench-engine.json");
    let json = serde_json::json!({ "machine": "2 cores, shared; debug=false (cargo bench profile)", "quick": quick, "reports": reports });
    if std::fs::write(&out, serde_json::to_string_pretty(&json).unwrap()).is_ok() {
        println!("\nwritten: {}", out.display());
    }
}
