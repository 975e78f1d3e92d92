//! The runtime that `rota serve` and the console both start: waiting for the database at
//! start-up (a real closed port on 127.0.0.1, a real Postgres without the named database or
//! role, bad URLs), and a command job with a resource limit run through the `__exec` wrapper in
//! the tenant's work directory, by the runtime itself and by `rota serve` (real processes, a
//! SQLite file). `src-tauri/tests/commands.rs` runs the same job in the console's Local mode.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rota::api::{JobPolicy, JobRef, Rota, TenantPolicy, TenantSettingsUpdate};
use rota::clock::{Clock, SystemClock};
use rota::handler::{CommandLimits, CommandSpec, HandlerSpec};
use rota::job::JobDefinition;
use rota::run::{Run, RunStatus};
use rota::runtime::{
    self, CommandSettings, DatabaseConfig, MigrationPolicy, Runtime, RuntimeConfig, RuntimeError,
};
use rota::store::prelude::*;
use rota::store::{AnyStore, RunFilter};
use rota::tenant::NewTenant;
use rota::ErrorCode;
use support::{admin_url, postgres_required};

const ROTA: &str = env!("CARGO_BIN_EXE_rota");

/// A port on 127.0.0.1 that nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn database(url: String, wait: Duration) -> DatabaseConfig {
    let mut config = DatabaseConfig::new(url);
    config.wait = wait;
    // These databases are fresh: the runtime applies the migrations, as `rota serve --migrate`.
    config.migration = MigrationPolicy::Apply;
    config
}

/// `Some(admin URL)` when the test server answers; otherwise the test skips (or fails when
/// Postgres is required).
async fn postgres() -> Option<String> {
    let admin = admin_url();
    match runtime::connect(&database(admin.clone(), Duration::ZERO), &SystemClock).await {
        Ok(store) => {
            store.close().await;
            Some(admin)
        }
        Err(error) if !postgres_required() => {
            eprintln!("SKIPPED: Postgres at {admin} is unavailable ({error})");
            None
        }
        Err(error) => panic!("Postgres at {admin} is required but unavailable: {error}"),
    }
}

/// `admin` with its database replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (base, _) = admin.rsplit_once('/').expect("the admin URL names a database");
    format!("{base}/{name}")
}

async fn admin_statement(admin: &str, statement: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(admin).await.expect("admin connection");
    // Identifiers cannot be bound; the names here are generated, never input.
    sqlx::query(statement).execute(&mut connection).await.expect(statement);
    let _ = connection.close().await;
}

#[tokio::test]
async fn a_closed_port_is_waited_for_until_the_bound_and_reported_as_refused() {
    let url = format!("postgres://postgres@127.0.0.1:{}/rota", closed_port());
    let started = Instant::now();
    let error = runtime::connect(&database(url, Duration::from_secs(2)), &SystemClock)
        .await
        .expect_err("nothing listens there");
    let waited = started.elapsed();
    let message = error.to_string();
    match &error {
        RuntimeError::DatabaseUnavailable { attempts, .. } => {
            // Pauses of 250 ms, 500 ms, 1 s, then the rest of the bound: at least four attempts.
            assert!(*attempts >= 4, "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(message.to_lowercase().contains("connection refused"), "{message}");
    assert_eq!(error.code(), ErrorCode::Database);
    assert!(waited >= Duration::from_secs(2), "gave up after {waited:?}");
    assert!(waited < Duration::from_secs(6), "waited {waited:?} for a bound of 2 s");
}

#[tokio::test]
async fn a_zero_bound_reports_the_refused_connection_at_once() {
    let url = format!("postgres://postgres@127.0.0.1:{}/rota", closed_port());
    let started = Instant::now();
    let error =
        runtime::connect(&database(url, Duration::ZERO), &SystemClock).await.expect_err("closed");
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert!(matches!(error, RuntimeError::DatabaseUnavailable { attempts: 1, .. }), "{error:?}");
    assert!(error.to_string().to_lowercase().contains("connection refused"), "{error}");
}

#[tokio::test]
async fn a_missing_database_is_waited_for_and_named() {
    let Some(admin) = postgres().await else { return };
    let name = format!("rota_missing_{}", uuid::Uuid::new_v4().simple());
    let started = Instant::now();
    let error = runtime::connect(
        &database(with_database(&admin, &name), Duration::from_secs(1)),
        &SystemClock,
    )
    .await
    .expect_err("the database does not exist");
    assert!(started.elapsed() >= Duration::from_secs(1), "gave up after {:?}", started.elapsed());
    assert!(matches!(error, RuntimeError::DatabaseUnavailable { .. }), "{error:?}");
    assert!(error.to_string().contains(&format!("database \"{name}\" does not exist")), "{error}");
}

#[tokio::test]
async fn a_database_created_during_the_wait_is_opened_and_migrated() {
    let Some(admin) = postgres().await else { return };
    let name = format!("rota_later_{}", uuid::Uuid::new_v4().simple());
    let config = database(with_database(&admin, &name), Duration::from_secs(30));
    let waiting = tokio::spawn(async move { runtime::connect(&config, &SystemClock).await });
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!waiting.is_finished(), "the runtime waits while the database does not exist");
    admin_statement(&admin, &format!("CREATE DATABASE {name}")).await;
    let store = waiting.await.expect("join").expect("opened once it exists");
    // Migrated: the tables are there.
    assert!(store.list_tenants().await.expect("tenants").is_empty());
    store.close().await;
    admin_statement(&admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    admin_statement(&admin, &support::drop_roles_statement(&name)).await;
}

#[tokio::test]
async fn a_refused_login_ends_the_wait_at_once() {
    let Some(admin) = postgres().await else { return };
    // The test server trusts every login it knows, so an unknown role stands for a refused one
    // (SQLSTATE class 28, like a wrong password).
    let role = format!("nobody_{}", uuid::Uuid::new_v4().simple());
    let url = admin.replacen("postgres://postgres@", &format!("postgres://{role}@"), 1);
    assert_ne!(url, admin, "the admin URL has the user postgres");
    let started = Instant::now();
    let error = runtime::connect(&database(url, Duration::from_secs(30)), &SystemClock)
        .await
        .expect_err("unknown role");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert!(matches!(error, RuntimeError::Core(_)), "{error:?}");
    assert_eq!(error.code(), ErrorCode::Database);
    assert!(error.to_string().contains(&format!("role \"{role}\" does not exist")), "{error}");
}

#[tokio::test]
async fn bad_urls_end_the_wait_at_once() {
    let port = closed_port();
    let cases = [
        (format!("postgres://postgres@127.0.0.1:{port}x/rota"), ErrorCode::Database),
        ("mysql://root:hunter2@127.0.0.1/rota".to_owned(), ErrorCode::Invalid),
    ];
    for (url, code) in cases {
        let started = Instant::now();
        let error = runtime::connect(&database(url.clone(), Duration::from_secs(30)), &SystemClock)
            .await
            .expect_err(&url);
        assert!(started.elapsed() < Duration::from_secs(1), "{url}: {:?}", started.elapsed());
        assert_eq!(error.code(), code, "{url}: {error}");
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }
}

/// A job whose command prints its open-files limit and its working directory.
fn limited_job(name: &str) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: "0 0 1 1 *".into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Command(CommandSpec::new("/bin/sh", ["-c", "ulimit -n; pwd"])),
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(30),
    }
}

/// The tenant's commands may open 64 files.
fn open_files_limit() -> TenantSettingsUpdate {
    TenantSettingsUpdate {
        command_limits: Some(CommandLimits { open_files: Some(64), ..Default::default() }),
        ..Default::default()
    }
}

/// Polls the store until `run` has finished.
async fn finished(store: &AnyStore, job: uuid::Uuid, timeout: Duration) -> Run {
    let deadline = Instant::now() + timeout;
    loop {
        let filter = RunFilter { job_id: Some(job), ..Default::default() };
        let runs = store.list_runs(&filter).await.expect("runs");
        if let Some(run) = runs.into_iter().find(|run| run.status.is_final()) {
            return run;
        }
        assert!(Instant::now() < deadline, "the run did not finish within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_ran_limited_in(run: &Run, work_dir: &Path) {
    assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
    let work_dir = work_dir.canonicalize().expect("the tenant's directory was created");
    let output = run.output.as_deref().unwrap_or_default();
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines, ["64", work_dir.to_str().expect("utf-8")], "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_runs_a_limited_command_through_the_wrapper_in_the_work_root() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
    let work_root = dir.path().join("work");
    let mut database = DatabaseConfig::new(url);
    database.migration = MigrationPolicy::Apply;
    let mut commands = CommandSettings::new(&work_root, ROTA);
    // CI runs as root; this job names no run-as user.
    commands.allow_root_jobs = true;
    let config = RuntimeConfig::new(database, "runtime-test", commands);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let runtime = Runtime::open(config, Arc::clone(&clock)).await.expect("open");
    let rota = Rota::new(runtime.store().clone(), clock);
    rota.add_tenant(&NewTenant::named("limited"), &TenantPolicy::default()).await.expect("tenant");
    rota.update_tenant_settings("limited", &open_files_limit()).await.expect("limits");
    let job = rota
        .add_job("limited", &limited_job("open-files"), &JobPolicy::default())
        .await
        .expect("job");
    rota.trigger(JobRef::named("limited", "open-files"), None).await.expect("trigger");
    runtime.engine().notify_runs_queued();
    let run = finished(runtime.store(), job.id, Duration::from_secs(30)).await;
    assert_ran_limited_in(&run, &work_root.join("limited"));
    let store = runtime.store().clone();
    runtime.shutdown().await.expect("graceful shutdown");
    let nodes = store.list_nodes().await.expect("nodes");
    assert!(nodes.iter().all(|node| node.stopped_at.is_some()), "{nodes:?}");
}

fn rota_cli(url: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new(ROTA).arg("--database").arg(url).args(args).output().expect("rota");
    assert!(output.status.success(), "rota {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// `rota serve` as an operator starts it, without `--work-root`: its default work root is in
/// the data directory (here a temporary one), and commands go through `rota __exec`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rota_serve_runs_a_limited_command_through_the_wrapper_in_its_default_work_root() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
    let data_home = dir.path().join("data");
    rota_cli(&url, &["migrate"]);
    rota_cli(&url, &["tenant", "add", "limited"]);
    rota_cli(&url, &["tenant", "set", "limited", "--open-files", "64"]);
    rota_cli(
        &url,
        &[
            "job",
            "add",
            "--tenant",
            "limited",
            "--name",
            "open-files",
            "--schedule",
            "0 0 1 1 *",
            "--command",
            "/bin/sh",
            "--arg",
            "-c",
            "--arg",
            "ulimit -n; pwd",
        ],
    );
    let log = std::fs::File::create(dir.path().join("serve.log")).expect("log");
    let mut serve = Command::new(ROTA)
        .args(["--database", &url, "serve", "--node-id", "serve-test", "--shutdown-grace", "5"])
        // CI runs as root; this job names no run-as user.
        .arg("--allow-root-jobs")
        .env("XDG_DATA_HOME", &data_home)
        .env("ROTA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("rota serve");
    rota_cli(&url, &["job", "trigger", "--tenant", "limited", "--name", "open-files"]);
    let store = AnyStore::connect(&url).await.expect("store");
    let job = rota::api::Rota::new(store.clone(), Arc::new(SystemClock))
        .job(JobRef::named("limited", "open-files"))
        .await
        .expect("job");
    let run = finished(&store, job.id, Duration::from_secs(30)).await;
    let _ = Command::new("kill").arg("-TERM").arg(serve.id().to_string()).status();
    let status = serve.wait().expect("wait");
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    assert!(status.success(), "rota serve exited with {status}: {log}");
    assert_ran_limited_in(&run, &data_home.join("rota").join("work").join("limited"));
}

#[test]
fn rota_serve_waits_for_the_database_as_long_as_it_is_told_and_says_why_it_gave_up() {
    let url = format!("postgres://postgres@127.0.0.1:{}/rota", closed_port());
    let started = Instant::now();
    let output = Command::new(ROTA)
        .args(["--database", &url, "serve", "--wait-for-database", "1"])
        .env("ROTA_LOG", "warn")
        .output()
        .expect("rota serve");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(10), "{elapsed:?}");
    let last = stderr.lines().last().unwrap_or_default().to_lowercase();
    assert!(last.starts_with("error: cannot open postgres://"), "{stderr}");
    assert!(last.contains("did not answer within 1s"), "{stderr}");
    assert!(last.contains("connection refused"), "{stderr}");
    // Each failed attempt was logged with its cause.
    let logged = stderr.lines().filter(|line| line.contains("waiting for it")).count();
    assert!(logged >= 2, "{stderr}");
    assert!(
        stderr
            .lines()
            .filter(|line| line.contains("waiting for it"))
            .all(|line| line.to_lowercase().contains("connection refused")),
        "{stderr}"
    );
}
