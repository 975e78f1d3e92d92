//! Who a command runs as, and what it can reach, tried the way a job author or an operator
//! would: the tenant's run-as user as a ceiling, no root jobs unless the daemon allows them, a
//! wrapper that never sees the job's environment, loader variables refused and never loaded,
//! the daemon's secrets out of its jobs' reach, working directories Rota only chowns when it
//! created them (never through a symlink), and names without invisible characters.
//!
//! Real processes throughout: the `rota` binary (CLI, `rota serve`, `rota __exec`), a real
//! SQLite file or Postgres database, and, where a test switches users, a real unprivileged
//! user created with `useradd` (those tests say SKIPPED and return when not run as root).

mod support;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rota::api::{JobRef, Rota, TenantSettingsUpdate};
use rota::clock::{Clock, ManualClock, SystemClock};
use rota::handler::{
    CommandLimits, CommandPolicy, CommandSpec, Envelope, Executor, HandlerSpec, Outcome,
    OutcomeStatus, ResolvedSpec, RunContext, Trigger,
};
use rota::job::JobDefinition;
use rota::policy::{JobPolicy, TenantPolicy};
use rota::run::{Run, RunStatus};
use rota::store::prelude::*;
use rota::store::{AnyStore, RunFilter};
use rota::tenant::NewTenant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ROTA: &str = env!("CARGO_BIN_EXE_rota");
const LONG: Duration = Duration::from_secs(60);
/// The unprivileged user the run-as tests switch to (shared with `tests/isolation.rs`).
const JOB_USER: &str = "rota-test-job";

fn rota(store: AnyStore) -> Rota<AnyStore> {
    let now = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    Rota::new(store, clock)
}

fn command_job(name: &str, spec: CommandSpec) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: "0 0 1 1 *".into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Command(spec),
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(30),
    }
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("/bin/sh", ["-c", script])
}

/// The field and value of a validation error.
fn invalid(error: rota::Error) -> (String, String, String) {
    let message = error.to_string();
    match error {
        rota::Error::Invalid { field, value, .. } => (field, value, message),
        other => panic!("not a validation error: {other}"),
    }
}

/// The uid of [`JOB_USER`], creating the user if needed; `None` when not root.
fn job_user() -> Option<u32> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: this test needs root (to switch users)");
        return None;
    }
    if nix::unistd::User::from_name(JOB_USER).unwrap().is_none() {
        let status = Command::new("useradd")
            .args(["--system", "--no-create-home", "--home-dir", "/nonexistent"])
            .args(["--shell", "/usr/sbin/nologin", JOB_USER])
            .status()
            .expect("useradd runs");
        // Another test binary may have created it at the same time (exit status 9).
        assert!(status.success() || status.code() == Some(9), "useradd: {status}");
    }
    Some(nix::unistd::User::from_name(JOB_USER).unwrap().expect("the job user exists").uid.as_raw())
}

fn envelope(tenant: &str) -> Envelope {
    Envelope {
        run_id: Uuid::new_v4(),
        job_id: Uuid::from_u128(0x22),
        job: "probe".into(),
        tenant_id: Uuid::from_u128(0x33),
        tenant: tenant.into(),
        scheduled_for: Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap(),
        attempt: 1,
        trigger: Trigger::Schedule,
        payload: serde_json::json!({"probe": true}),
    }
}

async fn execute(executor: &Executor, spec: CommandSpec, context: &RunContext) -> Outcome {
    executor
        .execute_in(
            &ResolvedSpec::Command(spec),
            &envelope("acme"),
            context,
            LONG,
            CancellationToken::new(),
        )
        .await
}

/// Runs `rota --database url args`; one still running after 30 s (a daemon that should have
/// refused to start) is killed.
fn cli(url: &str, args: &[&str]) -> Output {
    let mut child = Command::new(ROTA)
        .arg("--database")
        .arg(url)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rota runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn cli_ok(url: &str, args: &[&str]) -> Output {
    let output = cli(url, args);
    assert!(output.status.success(), "rota {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Runs `rota {args}` expecting exit status 2 (bad input); returns stderr.
fn cli_refused(url: &str, args: &[&str]) -> String {
    let output = cli(url, args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "rota {args:?} should exit 2: {stderr}");
    stderr
}

/// Polls the store until a run of `job` has finished.
async fn finished(store: &AnyStore, job: Uuid, timeout: Duration) -> Run {
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

// ---------------------------------------------------------------------------------------------
// 1. The tenant's run-as user is a ceiling.

backend_test!(a_tenants_run_as_user_is_a_ceiling_for_its_jobs, |db| {
    let rota = rota(db.store().await);
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    let ceiling = TenantSettingsUpdate {
        run_as: Some(Some("nobody".into())),
        ..TenantSettingsUpdate::default()
    };
    rota.update_tenant_settings("acme", &ceiling).await.unwrap();

    // A job naming another user is refused, naming the field and the user.
    let mut as_root = sh("id -u");
    as_root.run_as = Some("root".into());
    let error = rota
        .add_job("acme", &command_job("escalate", as_root), &JobPolicy::default())
        .await
        .unwrap_err();
    let (field, value, message) = invalid(error);
    assert_eq!((field.as_str(), value.as_str()), ("handler.run_as", "root"), "{message}");
    assert!(message.contains("nobody"), "{message}");

    // The tenant's own user, or none, is fine; an edit to another user is refused too.
    let job = rota
        .add_job("acme", &command_job("plain", sh("id -u")), &JobPolicy::default())
        .await
        .unwrap();
    let mut same = sh("id -u");
    same.run_as = Some("nobody".into());
    rota.add_job("acme", &command_job("same", same), &JobPolicy::default()).await.unwrap();
    let mut edited = job.definition();
    if let HandlerSpec::Command(spec) = &mut edited.handler {
        spec.run_as = Some("daemon".into());
    }
    let error = rota.update_job(job.id, job.version, &edited, None).await.unwrap_err();
    assert_eq!(invalid(error).0, "handler.run_as");

    // A named handler that runs as another user cannot be used by the tenant's jobs either.
    let mut named = sh("id -u");
    named.run_as = Some("root".into());
    rota.set_named_handler("as-root", &HandlerSpec::Command(named)).await.unwrap();
    let mut via_name = command_job("via-name", sh("true"));
    via_name.handler = HandlerSpec::Named { name: "as-root".into() };
    let error = rota.add_job("acme", &via_name, &JobPolicy::default()).await.unwrap_err();
    assert_eq!(invalid(error).0, "handler.run_as");

    // Lowering the ceiling under a job that names another user is refused, naming the job.
    let other = TenantSettingsUpdate {
        run_as: Some(Some("daemon".into())),
        ..TenantSettingsUpdate::default()
    };
    let error = rota.update_tenant_settings("acme", &other).await.unwrap_err();
    let (field, _, message) = invalid(error);
    assert_eq!(field, "run_as", "{message}");
    assert!(message.contains("same"), "{message}");
    assert_eq!(rota.tenant_settings("acme").await.unwrap().run_as.as_deref(), Some("nobody"));
});

#[test]
fn apply_and_job_set_refuse_a_user_above_the_tenants_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
    cli_ok(&url, &["migrate"]);
    let file = dir.path().join("schedules.yaml");
    let document = |user: &str| {
        format!(
            "tenants:\n  acme:\n    commands:\n      run_as: nobody\n    jobs:\n      backup:\n        \
             schedule: '@daily'\n        handler: {{type: command, program: /bin/true, run_as: {user}}}\n"
        )
    };
    std::fs::write(&file, document("root")).unwrap();
    let stderr = cli_refused(&url, &["apply", file.to_str().unwrap()]);
    assert!(stderr.contains("tenants.acme.jobs.backup"), "{stderr}");
    assert!(stderr.contains("run_as"), "{stderr}");
    assert!(stderr.contains("\"root\""), "{stderr}");
    // Nothing was written.
    let listed = cli_ok(&url, &["tenant", "list"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("acme"));

    std::fs::write(&file, document("nobody")).unwrap();
    cli_ok(&url, &["apply", file.to_str().unwrap()]);
    let stderr = cli_refused(
        &url,
        &["job", "set", "--tenant", "acme", "--name", "backup", "--run-as", "root"],
    );
    assert!(stderr.contains("handler.run_as"), "{stderr}");
    assert!(stderr.contains("\"root\""), "{stderr}");
    let shown = cli_ok(&url, &["job", "show", "--tenant", "acme", "--name", "backup", "--json"]);
    let job: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(job["handler"]["run_as"], "nobody");
}

/// The reproduction: a job stored (before the ceiling existed) with `run_as: root`
/// under a tenant whose user is `nobody` never runs as root.
#[tokio::test]
async fn a_stored_job_above_its_tenants_user_fails_instead_of_running() {
    let Some(_uid) = job_user() else { return };
    let executor = Executor::new().with_exec_wrapper(ROTA);
    let context = RunContext { run_as: Some(JOB_USER.into()), ..RunContext::default() };
    let mut spec = sh("id -u");
    spec.run_as = Some("root".into());
    let outcome = execute(&executor, spec, &context).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert_eq!(outcome.output, "", "{outcome:?}");
    let error = outcome.error.unwrap_or_default();
    assert!(error.starts_with("run_as:") && error.contains(JOB_USER), "{error}");
}

// ---------------------------------------------------------------------------------------------
// 2. No root jobs by default.

/// `rota serve` as root: a command job with no run-as user fails with an error naming the
/// fix; with `--allow-root-jobs` it runs; a tenant's run-as user needs no flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_daemon_refuses_root_jobs_unless_allowed() {
    let Some(uid) = job_user() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
    cli_ok(&url, &["migrate"]);
    cli_ok(&url, &["tenant", "add", "acme"]);
    cli_ok(&url, &["tenant", "add", "confined"]);
    cli_ok(&url, &["tenant", "set", "confined", "--run-as", JOB_USER]);
    for tenant in ["acme", "confined"] {
        cli_ok(
            &url,
            &[
                "job",
                "add",
                "--tenant",
                tenant,
                "--name",
                "whoami",
                "--schedule",
                "0 0 1 1 *",
                "--command",
                "/usr/bin/id",
                "--arg",
                "-u",
            ],
        );
    }
    let store = AnyStore::connect(&url).await.unwrap();
    let api = Rota::new(store.clone(), Arc::new(SystemClock));
    let whoami = |tenant: &'static str| {
        let api = api.clone();
        async move { api.job(JobRef::named(tenant, "whoami")).await.unwrap().id }
    };
    let serve = |extra: &[&str]| {
        Command::new(ROTA)
            .args(["--database", &url, "serve", "--shutdown-grace", "5"])
            .arg("--work-root")
            .arg(dir.path().join("work"))
            .args(extra)
            .env("ROTA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rota serve")
    };
    let stop = |mut child: std::process::Child| {
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        child.wait().expect("wait")
    };

    let daemon = serve(&[]);
    cli_ok(&url, &["job", "trigger", "--tenant", "acme", "--name", "whoami"]);
    cli_ok(&url, &["job", "trigger", "--tenant", "confined", "--name", "whoami"]);
    let refused = finished(&store, whoami("acme").await, LONG).await;
    let confined = finished(&store, whoami("confined").await, LONG).await;
    assert!(stop(daemon).success());
    assert_eq!(refused.status, RunStatus::Failed, "{refused:?}");
    let error = refused.error.clone().unwrap_or_default();
    assert!(error.contains("root"), "{error}");
    assert!(error.contains("--allow-root-jobs"), "{error}");
    assert!(error.contains("run-as"), "{error}");
    assert_eq!(refused.output.as_deref().unwrap_or_default(), "", "{refused:?}");
    assert_eq!(confined.status, RunStatus::Succeeded, "{confined:?}");
    assert_eq!(confined.output.as_deref().map(str::trim), Some(uid.to_string().as_str()));

    // Allowed explicitly, the same job runs (as root).
    let daemon = serve(&["--allow-root-jobs"]);
    cli_ok(&url, &["job", "trigger", "--tenant", "acme", "--name", "whoami"]);
    let deadline = Instant::now() + LONG;
    let allowed = loop {
        let filter = RunFilter { job_id: Some(whoami("acme").await), ..Default::default() };
        let runs = store.list_runs(&filter).await.unwrap();
        if let Some(run) = runs.into_iter().find(|run| run.status == RunStatus::Succeeded) {
            break run;
        }
        assert!(Instant::now() < deadline, "the allowed root job did not succeed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(stop(daemon).success());
    assert_eq!(allowed.output.as_deref().map(str::trim), Some("0"));
}

// ---------------------------------------------------------------------------------------------
// 3. The wrapper is clean; loader variables are refused and never loaded.

backend_test!(loader_variables_are_refused_in_jobs_and_handlers, |db| {
    let rota = rota(db.store().await);
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    for name in ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH", "GLIBC_TUNABLES"] {
        let mut spec = sh("true");
        spec.env.insert(name.into(), "/tmp/evil.so".into());
        let definition = command_job("loader", spec.clone());
        let error = rota.add_job("acme", &definition, &JobPolicy::default()).await.unwrap_err();
        let (field, value, message) = invalid(error);
        assert_eq!((field.as_str(), value.as_str()), ("handler.env", name), "{message}");
        let error = rota.set_named_handler("loader", &HandlerSpec::Command(spec)).await;
        assert!(error.unwrap_err().to_string().contains(name));
    }
});

#[test]
fn the_cli_refuses_loader_variables_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
    cli_ok(&url, &["migrate"]);
    cli_ok(&url, &["tenant", "add", "acme"]);
    let stderr = cli_refused(
        &url,
        &[
            "job",
            "add",
            "--tenant",
            "acme",
            "--name",
            "x",
            "--schedule",
            "@daily",
            "--command",
            "/bin/true",
            "--env",
            "LD_PRELOAD=/tmp/evil.so",
        ],
    );
    assert!(stderr.contains("LD_PRELOAD"), "{stderr}");
    let stderr = cli_refused(&url, &["serve", "--env-allow", "LD_LIBRARY_PATH"]);
    assert!(stderr.contains("LD_LIBRARY_PATH"), "{stderr}");
}

/// Builds a library that, when the dynamic loader preloads it, appends its process's uid to
/// `marker`; `None` without a C compiler.
fn preload_library(dir: &Path, marker: &Path) -> Option<std::path::PathBuf> {
    let source = dir.join("preload.c");
    let library = dir.join("preload.so");
    std::fs::write(
        &source,
        format!(
            "#include <stdio.h>\n#include <unistd.h>\n\
             __attribute__((constructor)) static void loaded(void) {{\n\
               FILE *f = fopen(\"{}\", \"a\");\n\
               if (f) {{ fprintf(f, \"uid=%d\\n\", (int)getuid()); fclose(f); }}\n\
             }}\n",
            marker.display()
        ),
    )
    .unwrap();
    let built =
        Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&library).arg(&source).status();
    match built {
        Ok(status) if status.success() => Some(library),
        _ => {
            eprintln!("SKIPPED: no C compiler to build a preload library");
            None
        }
    }
}

/// A job stored with `LD_PRELOAD` (written before the check existed, or straight into the
/// database) fails: the library is loaded by nothing, neither the privileged wrapper nor the
/// program.
#[tokio::test]
async fn a_preload_library_is_never_loaded() {
    let Some(_uid) = job_user() else { return };
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("loaded");
    let Some(library) = preload_library(dir.path(), &marker) else { return };
    // The library works: loaded into a program that is given it.
    let status = Command::new("/bin/true").env("LD_PRELOAD", &library).status().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "uid=0\n");
    std::fs::remove_file(&marker).unwrap();

    let executor = Executor::new().with_exec_wrapper(ROTA);
    let mut spec = sh("id -u");
    spec.run_as = Some(JOB_USER.into());
    spec.env.insert("LD_PRELOAD".into(), library.display().to_string());
    let outcome = execute(&executor, spec, &RunContext::default()).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert!(outcome.error.as_deref().unwrap_or_default().contains("LD_PRELOAD"), "{outcome:?}");
    assert!(!marker.exists(), "loaded: {}", std::fs::read_to_string(&marker).unwrap());
}

/// The wrapper (`rota __exec`, root when it switches users) starts with an empty environment:
/// the job's variables reach only the program it becomes. A wrapper script records the
/// environment it was started with, then hands over to `rota __exec`.
#[tokio::test]
async fn the_wrapper_starts_with_an_empty_environment() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("wrapper-environment");
    let wrapper = dir.path().join("wrapper.sh");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\n/usr/bin/env > '{}'\nexec '{ROTA}' \"$@\"\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let policy = CommandPolicy { exec_wrapper: Some(wrapper), ..CommandPolicy::default() };
    let executor = Executor::new().with_command_policy(policy);
    let mut spec = CommandSpec::new("sh", ["-c", "echo MODE=$MODE TENANT=$ROTA_TENANT; cat"]);
    spec.limits = Some(CommandLimits { open_files: Some(64), ..CommandLimits::default() });
    spec.env.insert("MODE".into(), "planted-job-value".into());
    let outcome = execute(&executor, spec, &RunContext::default()).await;
    assert!(outcome.is_success(), "{outcome:?}");
    // The program got its variables (PATH found `sh`) and the envelope on stdin, whole.
    let mut lines = outcome.output.lines();
    assert_eq!(lines.next(), Some("MODE=planted-job-value TENANT=acme"), "{outcome:?}");
    let envelope: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(envelope["payload"], serde_json::json!({"probe": true}));
    // The wrapper got none of them (the shell adds PWD, SHLVL and `_` itself).
    let environment = std::fs::read_to_string(&seen).unwrap();
    for line in environment.lines() {
        let name = line.split('=').next().unwrap_or_default();
        assert!(matches!(name, "PWD" | "SHLVL" | "_" | "OLDPWD"), "wrapper saw {line:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3b. The daemon's secrets are out of its jobs' reach.

/// `rota serve` as an unprivileged user (as the desktop app or a service account runs it),
/// given the SMTP password and the database URL's password in its environment; its job, same
/// user, reads the daemon's `/proc/$PPID/environ` and finds neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_secrets_are_not_in_reach_of_its_jobs() {
    let Some(uid) = job_user() else { return };
    let Some(db) = support::TestDatabase::create(support::Backend::Postgres).await else { return };
    let store = db.store().await;
    let api = Rota::new(store.clone(), Arc::new(SystemClock));
    api.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    let probe = sh("cat /proc/$PPID/environ | tr '\\0' '\\n'; echo; cat /proc/self/environ | tr '\\0' '\\n'; echo probed");
    let job =
        api.add_job("acme", &command_job("probe", probe), &JobPolicy::default()).await.unwrap();
    // Any password is accepted by the test server (trust), so one can be planted in the URL.
    let url = db.url.replacen("postgres@", "postgres:planted-db-secret@", 1);
    assert!(url.contains("planted-db-secret"), "{url}");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    nix::unistd::chown(&work, Some(uid.into()), None).unwrap();
    let user = nix::unistd::User::from_uid(uid.into()).unwrap().unwrap();
    let mut daemon = Command::new(ROTA)
        .args(["serve", "--shutdown-grace", "5", "--smtp-host", "127.0.0.1"])
        .args(["--smtp-user", "rota"])
        .arg("--work-root")
        .arg(&work)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("ROTA_DATABASE_URL", &url)
        .env("ROTA_SMTP_PASSWORD", "planted-smtp-secret")
        .env("ROTA_LOG", "warn")
        .uid(uid)
        .gid(user.gid.as_raw())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rota serve");
    api.trigger(JobRef::Id(job.id), None).await.unwrap();
    let run = finished(&store, job.id, LONG).await;
    let _ = Command::new("kill").arg("-TERM").arg(daemon.id().to_string()).status();
    let status = daemon.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut daemon.stderr.take().unwrap(), &mut log).unwrap();
    assert!(status.success(), "rota serve: {status}: {log}");
    let output = run.output.clone().unwrap_or_default();
    assert!(output.contains("probed"), "{run:?}");
    for secret in ["planted-db-secret", "planted-smtp-secret"] {
        assert!(!output.contains(secret), "the job read {secret}: {output}");
    }
    // The daemon is not dumpable: its /proc files are out of reach of its own user's processes.
    assert!(output.contains("Permission denied"), "{output}");
}

// ---------------------------------------------------------------------------------------------
// 4. Working directories.

backend_test!(system_directories_are_refused_as_work_directories, |db| {
    let rota = rota(db.store().await);
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    for dir in
        ["/", "/etc", "/usr", "/usr/lib", "/var", "/home", "/root", "/proc/1", "/etc/cron.d/"]
    {
        let update = TenantSettingsUpdate {
            work_dir: Some(Some(dir.into())),
            ..TenantSettingsUpdate::default()
        };
        let error = rota.update_tenant_settings("acme", &update).await.unwrap_err();
        let (field, value, message) = invalid(error);
        assert_eq!((field.as_str(), value.as_str()), ("work_dir", dir), "{message}");
        assert!(message.contains("system directory"), "{message}");
    }
    let update = TenantSettingsUpdate {
        work_dir: Some(Some("/srv/rota/acme".into())),
        ..TenantSettingsUpdate::default()
    };
    rota.update_tenant_settings("acme", &update).await.unwrap();
});

#[test]
fn tenant_set_refuses_a_system_work_directory_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
    cli_ok(&url, &["migrate"]);
    cli_ok(&url, &["tenant", "add", "acme"]);
    let stderr = cli_refused(&url, &["tenant", "set", "acme", "--work-dir", "/"]);
    assert!(stderr.contains("work_dir") && stderr.contains("\"/\""), "{stderr}");
}

/// Rota gives a directory to the run-as user only when it created it, and never through a
/// symlink: an existing directory of someone else, a symlink as the tenant's directory, and a
/// symlink under the work root are refused, and what they point at keeps its owner.
#[tokio::test]
async fn only_directories_rota_creates_are_given_to_the_run_as_user() {
    let Some(uid) = job_user() else { return };
    let root = tempfile::tempdir().unwrap();
    let victim = root.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    let owner_of = |path: &Path| std::fs::symlink_metadata(path).unwrap().uid();
    let policy = CommandPolicy {
        work_root: Some(root.path().join("work")),
        exec_wrapper: Some(ROTA.into()),
        ..CommandPolicy::default()
    };
    let executor = Executor::new().with_command_policy(policy);
    let as_user = RunContext { run_as: Some(JOB_USER.into()), ..RunContext::default() };
    let in_dir = |dir: &Path| RunContext { work_dir: Some(dir.to_owned()), ..as_user.clone() };

    // An existing directory that belongs to root.
    let outcome = execute(&executor, sh("pwd"), &in_dir(&victim)).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    let error = outcome.error.clone().unwrap_or_default();
    assert!(error.contains(victim.to_str().unwrap()) && error.contains("belongs to"), "{error}");
    assert_eq!(owner_of(&victim), 0);

    // The tenant's directory is a symlink to it.
    let link = root.path().join("link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let outcome = execute(&executor, sh("pwd"), &in_dir(&link)).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert!(outcome.error.as_deref().unwrap_or_default().contains("symbolic link"), "{outcome:?}");
    assert_eq!(owner_of(&victim), 0);

    // A symlink planted where the work root's tenant directory would be.
    std::fs::create_dir(root.path().join("work")).unwrap();
    std::os::unix::fs::symlink(&victim, root.path().join("work").join("acme")).unwrap();
    let outcome = execute(&executor, sh("pwd"), &as_user).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert_eq!(owner_of(&victim), 0);

    // A directory Rota creates is the user's, and stays usable on the next run.
    let fresh = root.path().join("fresh");
    for _ in 0..2 {
        let outcome = execute(&executor, sh("pwd"), &in_dir(&fresh)).await;
        assert!(outcome.is_success(), "{outcome:?}");
        assert_eq!(owner_of(&fresh), uid);
    }
}

// ---------------------------------------------------------------------------------------------
// 9. Names.

backend_test!(names_with_bidi_overrides_or_zero_width_characters_are_refused, |db| {
    let rota = rota(db.store().await);
    let error = rota
        .add_tenant(&NewTenant::named("acme\u{202E}lpmaxe"), &TenantPolicy::default())
        .await
        .unwrap_err();
    let (field, _, message) = invalid(error);
    assert_eq!(field, "tenant name");
    assert!(message.contains("U+202E"), "{message}");
    assert!(rota.list_tenants().await.unwrap().is_empty());

    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    let error = rota
        .add_job("acme", &command_job("back\u{200B}up", sh("true")), &JobPolicy::default())
        .await
        .unwrap_err();
    let (field, _, message) = invalid(error);
    assert_eq!(field, "job name");
    assert!(message.contains("U+200B"), "{message}");

    let error = rota
        .set_named_handler("reports\u{2066}", &HandlerSpec::Command(sh("true")))
        .await
        .unwrap_err();
    let (field, _, message) = invalid(error);
    assert_eq!(field, "handler name");
    assert!(message.contains("U+2066"), "{message}");
});

// ---------------------------------------------------------------------------------------------
// 6. The packaged service: a daemon that is not root, holding only the run-as capabilities.

/// The daemon's user in the service test, as the package's `rota` user.
const SERVICE_USER: &str = "rota-test-svc";

fn ensure_system_user(name: &str) {
    if nix::unistd::User::from_name(name).unwrap().is_none() {
        let status = Command::new("useradd")
            .args(["--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"])
            .args(["--shell", "/usr/sbin/nologin", name])
            .status()
            .expect("useradd runs");
        assert!(status.success() || status.code() == Some(9), "useradd: {status}");
    }
}

/// `rota serve` started as the systemd unit starts it: as an unprivileged user whose ambient
/// (and bounding) capabilities are exactly `CAP_SETUID CAP_SETGID CAP_CHOWN CAP_KILL`
/// (`AmbientCapabilities=` in `packaging/debian/rota.service`). Its jobs run as the tenant's
/// user, in their directory, stop at their timeout, and never hold a capability, whoever they
/// run as. Before the fix a job run as another user kept all four (a switch between two
/// non-root users keeps capabilities), and a job of a tenant without a run-as user inherited
/// them directly.
#[tokio::test(flavor = "multi_thread")]
async fn the_service_user_runs_jobs_as_their_users_and_none_keeps_a_capability() {
    let Some(job_uid) = job_user() else { return };
    ensure_system_user(SERVICE_USER);
    let service = nix::unistd::User::from_name(SERVICE_USER).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
    let work = dir.path().join("work");
    let probe = "id -u; grep -E '^Cap(Inh|Prm|Eff|Amb)' /proc/self/status; pwd";
    cli_ok(&url, &["migrate"]);
    cli_ok(&url, &["tenant", "add", "plain"]);
    cli_ok(&url, &["tenant", "add", "confined"]);
    cli_ok(&url, &["tenant", "set", "confined", "--run-as", JOB_USER]);
    for (tenant, name, script, timeout) in [
        ("plain", "probe", probe, "30"),
        ("confined", "probe", probe, "30"),
        ("confined", "sleeper", "sleep 4242", "1"),
    ] {
        cli_ok(
            &url,
            &[
                "job",
                "add",
                "--tenant",
                tenant,
                "--name",
                name,
                "--schedule",
                "0 0 1 1 *",
                "--timeout",
                timeout,
                "--command",
                "/bin/sh",
                "--arg",
                "-c",
                "--arg",
                script,
            ],
        );
    }
    // The service's own files, as StateDirectory= gives them to it.
    let chown = Command::new("chown")
        .arg("-R")
        .arg(format!("{SERVICE_USER}:{SERVICE_USER}"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(chown.success());
    let caps = "+setuid,+setgid,+chown,+kill";
    let mut daemon = Command::new("setpriv")
        .args(["--reuid", SERVICE_USER, "--regid", SERVICE_USER, "--init-groups"])
        .arg(format!("--inh-caps={caps}"))
        .arg(format!("--ambient-caps={caps}"))
        .arg(format!("--bounding-set=-all,{caps}"))
        .args(["--", ROTA, "--database", &url, "serve", "--shutdown-grace", "5"])
        .arg("--work-root")
        .arg(&work)
        .env("ROTA_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setpriv starts rota serve");
    for (tenant, name) in [("plain", "probe"), ("confined", "probe"), ("confined", "sleeper")] {
        cli_ok(&url, &["job", "trigger", "--tenant", tenant, "--name", name]);
    }
    let store = AnyStore::connect(&url).await.unwrap();
    let api = Rota::new(store.clone(), Arc::new(SystemClock));
    let job = |tenant: &'static str, name: &'static str| {
        let api = api.clone();
        async move { api.job(JobRef::named(tenant, name)).await.unwrap().id }
    };
    let plain = finished(&store, job("plain", "probe").await, LONG).await;
    let confined = finished(&store, job("confined", "probe").await, LONG).await;
    let sleeper = finished(&store, job("confined", "sleeper").await, LONG).await;
    let _ = Command::new("kill").arg("-TERM").arg(daemon.id().to_string()).status();
    let status = daemon.wait().unwrap();
    let mut log = String::new();
    std::io::Read::read_to_string(daemon.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(status.success(), "rota serve as {SERVICE_USER}: {status}\n{log}");

    let no_capabilities = |run: &Run| {
        let output = run.output.clone().unwrap_or_default();
        let lines: Vec<&str> = output.lines().filter(|line| line.starts_with("Cap")).collect();
        assert_eq!(lines.len(), 4, "{run:?}");
        for line in lines {
            assert!(line.ends_with("0000000000000000"), "a job holds a capability: {line}");
        }
        output
    };
    assert_eq!(confined.status, RunStatus::Succeeded, "{confined:?}");
    let output = no_capabilities(&confined);
    assert_eq!(output.lines().next(), Some(job_uid.to_string().as_str()), "{output}");
    let tenant_dir = work.join("confined");
    assert_eq!(output.lines().last(), Some(tenant_dir.to_str().unwrap()), "{output}");
    assert_eq!(std::fs::metadata(&tenant_dir).unwrap().uid(), job_uid);

    assert_eq!(plain.status, RunStatus::Succeeded, "{plain:?}");
    let output = no_capabilities(&plain);
    assert_eq!(output.lines().next(), Some(service.uid.to_string().as_str()), "{output}");

    // CAP_KILL: the run-as user's process group is stopped at the timeout.
    assert_eq!(sleeper.status, RunStatus::TimedOut, "{sleeper:?}");
    let left = Command::new("pgrep").args(["-u", JOB_USER, "-f", "sleep 4242"]).output().unwrap();
    assert!(left.stdout.is_empty(), "the timed-out job still runs");
}
