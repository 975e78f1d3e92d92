//! The console's jobs table at 10,000 jobs: `cargo bench --bench console -- [--jobs N]
//! [--sqlite-only | --postgres-only]`.
//!
//! On SQLite and on Postgres, with N jobs (10,000 by default) across 20 tenants, made through
//! the API: the median of five of each listing the jobs table makes (the first page, a tenant,
//! a search, each state filter), reading a bulk action's selection of every job, and bulk
//! pause, resume, disable and enable of every job (each one action: one statement for all the
//! jobs, one audit entry each). Timings are printed side by side, never asserted. Postgres is the server on
//! 127.0.0.1:5432 (`ROTA_TEST_POSTGRES_URL` overrides).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rota::api::{
    BulkJobAction, JobFilters, JobQuery, JobSelection, JobStateFilter, Rota, TenantPolicy,
};
use rota::clock::SystemClock;
use rota::handler::{CommandSpec, HandlerSpec};
use rota::job::JobDefinition;
use rota::policy::JobPolicy;
use rota::store::prelude::*;
use rota::store::AnyStore;
use rota::tenant::NewTenant;

/// A database made for the run: a temporary SQLite file, or a Postgres database dropped after.
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

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The median of `times` runs of `body`, in milliseconds, and the last result.
macro_rules! median_ms {
    ($times:expr, $body:expr) => {{
        let mut timings = Vec::new();
        let mut last = None;
        for _ in 0..$times {
            let started = Instant::now();
            last = Some($body);
            timings.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        (median(timings), last.unwrap())
    }};
}

async fn bench(backend: &str, jobs: usize) -> Vec<(String, f64)> {
    let db = Database::create(backend).await;
    let store = AnyStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let rota = Rota::new(store, Arc::new(SystemClock)).with_operator("bench");
    let tenants: Vec<String> = (0..20).map(|index| format!("tenant-{index:02}")).collect();
    for tenant in &tenants {
        rota.add_tenant(&NewTenant::named(tenant), &TenantPolicy::default()).await.unwrap();
    }
    let started = Instant::now();
    for index in 0..jobs {
        let definition = JobDefinition {
            name: format!("job-{index:06}"),
            schedule: "*/5 * * * *".into(),
            timezone: "UTC".into(),
            handler: HandlerSpec::Command(CommandSpec::new("/bin/true", Vec::<String>::new())),
            payload: serde_json::json!({}),
            timeout: Duration::from_secs(60),
        };
        let tenant = &tenants[index % tenants.len()];
        rota.add_job(tenant, &definition, &JobPolicy::default()).await.unwrap();
    }
    let mut results = vec![("create the jobs (one API call each)".to_owned(), 0.0)];
    results[0].1 = started.elapsed().as_secs_f64() * 1000.0;
    // A tenth of the jobs disabled, so the state filters have something to find.
    let tenth: Vec<_> = rota
        .job_page(&JobQuery { search: Some("job-00".into()), limit: 1000, ..JobQuery::default() })
        .await
        .unwrap()
        .jobs
        .into_iter()
        .map(|job| job.id)
        .collect();
    rota.bulk_jobs(&JobSelection::Ids(tenth), BulkJobAction::Disable, false).await.unwrap();

    let page = |query: JobQuery| JobQuery { limit: 50, ..query };
    let listings = [
        ("jobs table: first page by name", page(JobQuery::default())),
        (
            "jobs table: one tenant",
            page(JobQuery { tenant: Some("tenant-07".into()), ..JobQuery::default() }),
        ),
        (
            "jobs table: search",
            page(JobQuery { search: Some("job-0099".into()), ..JobQuery::default() }),
        ),
        (
            "jobs table: disabled",
            page(JobQuery { state: Some(JobStateFilter::Disabled), ..JobQuery::default() }),
        ),
        (
            "jobs table: paused",
            page(JobQuery { state: Some(JobStateFilter::Paused), ..JobQuery::default() }),
        ),
        (
            "jobs table: failing",
            page(JobQuery { state: Some(JobStateFilter::Failing), ..JobQuery::default() }),
        ),
        (
            "jobs table: auto-disabled",
            page(JobQuery { state: Some(JobStateFilter::AutoDisabled), ..JobQuery::default() }),
        ),
    ];
    for (what, query) in listings {
        let (ms, _) = median_ms!(5, rota.job_page(&query).await.unwrap());
        results.push((what.to_owned(), ms));
    }
    let everything = JobSelection::Matching(JobFilters::default());
    let (ms, selected) =
        median_ms!(5, rota.store().select_jobs(&everything, 1_000_000).await.unwrap());
    assert_eq!(selected.len(), jobs);
    results.push((format!("read a selection of all {jobs} jobs"), ms));
    // Enable first: the tenth disabled above is enabled again, then every job is disabled and
    // enabled; each action changes the jobs not yet in its state.
    rota.bulk_jobs(&everything, BulkJobAction::Enable, false).await.unwrap();
    let actions = [
        ("pause", BulkJobAction::Pause),
        ("resume", BulkJobAction::Resume),
        ("disable", BulkJobAction::Disable),
        ("enable", BulkJobAction::Enable),
    ];
    let mut timings: Vec<Vec<f64>> = vec![Vec::new(); actions.len()];
    for _ in 0..3 {
        for (index, (_, action)) in actions.iter().enumerate() {
            let started = Instant::now();
            let report = rota.bulk_jobs(&everything, *action, false).await.unwrap();
            timings[index].push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(report.changed.len(), jobs);
        }
    }
    for ((what, _), timing) in actions.iter().zip(timings) {
        results.push((format!("bulk {what} of all {jobs} jobs (one action)"), median(timing)));
    }
    db.drop_database().await;
    results
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --all-targets` builds and runs benches without `--bench`: only check it builds.
    if !args.iter().any(|arg| arg == "--bench") {
        eprintln!("console benchmark: built; run it with `cargo bench --bench console`");
        return;
    }
    let jobs = args
        .iter()
        .position(|arg| arg == "--jobs")
        .and_then(|at| args.get(at + 1))
        .map(|count| count.parse().expect("--jobs N"))
        .unwrap_or(10_000);
    let backends: Vec<&str> = if args.iter().any(|arg| arg == "--sqlite-only") {
        vec!["sqlite"]
    } else if args.iter().any(|arg| arg == "--postgres-only") {
        vec!["postgres"]
    } else {
        vec!["sqlite", "postgres"]
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut columns = Vec::new();
    for backend in &backends {
        columns.push(runtime.block_on(bench(backend, jobs)));
    }
    println!("\n| {jobs} jobs, median ms | {} |", backends.join(" | "));
    println!("| --- |{}", " ---: |".repeat(backends.len()));
    for (row, (what, _)) in columns[0].iter().enumerate() {
        let cells: Vec<String> =
            columns.iter().map(|column| format!("{:.1}", column[row].1)).collect();
        println!("| {what} | {} |", cells.join(" | "));
    }
}
