//! Command isolation against real processes: the cleared environment, tenants' working
//! directories, resource limits applied by the `rota __exec` wrapper (CPU time, address space,
//! open files, processes), the run-as user, and a fork bomb and a memory hog in one tenant's jobs
//! running next to another tenant's job.
//!
//! The process limit counts every process of a user, so the fork bomb runs as a dedicated
//! unprivileged user, created here when the tests run as root (`useradd`); without root that
//! test says so and returns.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rota::handler::{
    CommandLimits, CommandPolicy, CommandSpec, Envelope, Executor, Outcome, OutcomeStatus,
    ResolvedSpec, RunContext, Trigger,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WRAPPER: &str = env!("CARGO_BIN_EXE_rota");
const LONG: Duration = Duration::from_secs(60);
const PYTHON: &str = "/usr/bin/python3";
/// The unprivileged user the fork bomb runs as.
const JOB_USER: &str = "rota-test-job";

fn envelope(tenant: &str) -> Envelope {
    Envelope {
        run_id: Uuid::new_v4(),
        job_id: Uuid::from_u128(0x22),
        job: "isolated".into(),
        tenant_id: Uuid::from_u128(0x33),
        tenant: tenant.into(),
        scheduled_for: Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap(),
        attempt: 1,
        trigger: Trigger::Schedule,
        payload: serde_json::json!({}),
    }
}

fn executor() -> Executor {
    Executor::new().with_kill_grace(Duration::from_millis(300)).with_exec_wrapper(WRAPPER)
}

fn sh(script: &str) -> CommandSpec {
    CommandSpec::new("/bin/sh", ["-c", script])
}

fn limited(mut spec: CommandSpec, limits: CommandLimits) -> CommandSpec {
    spec.limits = Some(limits);
    spec
}

async fn run(executor: &Executor, spec: CommandSpec, tenant: &str, timeout: Duration) -> Outcome {
    run_in(executor, spec, tenant, &RunContext::default(), timeout).await
}

async fn run_in(
    executor: &Executor,
    spec: CommandSpec,
    tenant: &str,
    context: &RunContext,
    timeout: Duration,
) -> Outcome {
    executor
        .execute_in(
            &ResolvedSpec::Command(spec),
            &envelope(tenant),
            context,
            timeout,
            CancellationToken::new(),
        )
        .await
}

fn error(outcome: &Outcome) -> &str {
    outcome.error.as_deref().unwrap_or("")
}

fn variables(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

#[tokio::test]
async fn the_environment_is_the_allow_list_the_job_and_the_run() {
    // Cargo sets these for every test process; the daemon's environment must not leak.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let mut spec = CommandSpec::new("/usr/bin/env", Vec::<String>::new());
    spec.env.insert("MODE".into(), "full".into());
    let outcome = run(&executor(), spec.clone(), "acme", LONG).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let env = variables(&outcome.output);
    assert_eq!(env.get("MODE").map(String::as_str), Some("full"));
    assert_eq!(env.get("ROTA_TENANT").map(String::as_str), Some("acme"));
    assert!(env.contains_key("PATH"));
    for name in env.keys() {
        let allowed = name.starts_with("ROTA_")
            || name == "MODE"
            || rota::handler::isolation::DEFAULT_ENV_ALLOW.contains(&name.as_str());
        assert!(allowed, "{name} leaked into the command's environment: {env:?}");
    }

    // The allow-list is the policy's to choose.
    let policy =
        CommandPolicy { env_allow: vec!["CARGO_PKG_NAME".into()], ..CommandPolicy::default() };
    let outcome = run(&executor().with_command_policy(policy), spec, "acme", LONG).await;
    let env = variables(&outcome.output);
    assert_eq!(env.get("CARGO_PKG_NAME").map(String::as_str), Some("rota"));
    assert_eq!(
        env.get("PATH").map(String::as_str),
        Some(rota::handler::isolation::DEFAULT_PATH),
        "PATH falls back to the default when it is not passed through"
    );
}

#[tokio::test]
async fn each_tenant_runs_in_its_own_working_directory() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let policy = CommandPolicy {
        work_root: Some(root.path().to_owned()),
        exec_wrapper: Some(WRAPPER.into()),
        ..CommandPolicy::default()
    };
    let executor = executor().with_command_policy(policy);
    let pwd = || CommandSpec::new("/bin/pwd", Vec::<String>::new());
    for (tenant, dir) in [("acme", "acme"), ("glo/bex", "glo%2Fbex"), ("..", "%2E.")] {
        let outcome = run(&executor, pwd(), tenant, LONG).await;
        let expected = root.path().join(dir);
        assert_eq!(outcome.output.trim(), expected.to_str().unwrap(), "{outcome:?}");
        let mode = std::fs::metadata(&expected).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{}", expected.display());
    }
    // A file one tenant's job leaves is not in another's directory.
    run(&executor, sh("echo mine > note.txt"), "acme", LONG).await;
    let outcome = run(&executor, sh("cat note.txt"), "globex", LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    // The tenant's own directory, then the job's, take precedence.
    let own = tempfile::tempdir().unwrap();
    let context = RunContext { work_dir: Some(own.path().join("acme")), ..RunContext::default() };
    let outcome = run_in(&executor, pwd(), "acme", &context, LONG).await;
    assert_eq!(Path::new(outcome.output.trim()), own.path().join("acme"));
    let mut spec = pwd();
    spec.working_dir = Some("/".into());
    let outcome = run_in(&executor, spec, "acme", &context, LONG).await;
    assert_eq!(outcome.output.trim(), "/");
}

#[tokio::test]
async fn a_busy_loop_is_stopped_by_the_cpu_limit_and_the_reason_says_so() {
    let limits = CommandLimits { cpu_seconds: Some(1), ..CommandLimits::default() };
    let started = Instant::now();
    let outcome = run(&executor(), limited(sh("while :; do :; done"), limits), "acme", LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert!(error(&outcome).starts_with("CPU time limit (1 s) exceeded"), "{outcome:?}");
    assert!(error(&outcome).contains("SIGXCPU"), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
}

#[tokio::test]
async fn the_tenants_default_limits_apply_when_the_job_sets_none() {
    let context = RunContext {
        limits: CommandLimits { cpu_seconds: Some(1), ..CommandLimits::default() },
        ..RunContext::default()
    };
    let outcome = run_in(&executor(), sh("while :; do :; done"), "acme", &context, LONG).await;
    assert!(error(&outcome).starts_with("CPU time limit (1 s) exceeded"), "{outcome:?}");
}

#[tokio::test]
async fn a_memory_hog_fails_with_the_address_space_reason() {
    if !Path::new(PYTHON).exists() {
        eprintln!("SKIPPED: {PYTHON} is not installed");
        return;
    }
    let limits = CommandLimits { address_space_bytes: Some(256 << 20), ..CommandLimits::default() };
    let hog = CommandSpec::new(PYTHON, ["-c", "x = bytearray(4 << 30)"]);
    let outcome = run(&executor(), limited(hog, limits), "acme", LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert!(error(&outcome).starts_with("address-space limit (256 MiB) exceeded"), "{outcome:?}");
    assert!(outcome.output.contains("MemoryError"), "{outcome:?}");
}

#[tokio::test]
async fn too_many_open_files_fails_with_the_open_files_reason() {
    if !Path::new(PYTHON).exists() {
        eprintln!("SKIPPED: {PYTHON} is not installed");
        return;
    }
    let limits = CommandLimits { open_files: Some(16), ..CommandLimits::default() };
    let script = "import os\nfor _ in range(100): os.open('/dev/null', os.O_RDONLY)";
    let opener = CommandSpec::new(PYTHON, ["-c", script]);
    let outcome = run(&executor(), limited(opener.clone(), limits), "acme", LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert!(error(&outcome).starts_with("open-files limit (16) exceeded"), "{outcome:?}");
    // Without the limit the same program succeeds.
    let outcome = run(&executor(), opener, "acme", LONG).await;
    assert!(outcome.is_success(), "{outcome:?}");
}

#[tokio::test]
async fn the_wrapper_reports_a_program_it_cannot_start() {
    let limits = CommandLimits { open_files: Some(64), ..CommandLimits::default() };
    let spec = CommandSpec::new("/nonexistent/program", Vec::<String>::new());
    let outcome = run(&executor(), limited(spec, limits), "acme", LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert_eq!(
        outcome.error.as_deref(),
        Some("cannot start `/nonexistent/program`: No such file or directory"),
        "{outcome:?}"
    );
    assert_eq!(outcome.exit_code, Some(127));
}

#[tokio::test]
async fn limits_without_a_wrapper_fail_rather_than_run_unlimited() {
    let limits = CommandLimits { cpu_seconds: Some(5), ..CommandLimits::default() };
    let outcome = Executor::new()
        .execute(
            &ResolvedSpec::Command(limited(sh("true"), limits)),
            &envelope("acme"),
            LONG,
            CancellationToken::new(),
        )
        .await;
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert!(error(&outcome).contains("no `rota __exec` wrapper"), "{outcome:?}");
}

/// Held by the tests that run as [`JOB_USER`]: the process limit counts all of the user's
/// processes, so one test's fork bomb would otherwise count against another's.
static JOB_USER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The uid of [`JOB_USER`], creating the user if needed; `None` when not root.
fn job_user() -> Option<u32> {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: run-as and process-limit tests need root (to switch users)");
        return None;
    }
    if nix::unistd::User::from_name(JOB_USER).unwrap().is_none() {
        let status = std::process::Command::new("useradd")
            .args(["--system", "--no-create-home", "--home-dir", "/nonexistent"])
            .args(["--shell", "/usr/sbin/nologin", JOB_USER])
            .status()
            .expect("useradd runs");
        // Another test binary may have created it at the same time (exit status 9).
        assert!(status.success() || status.code() == Some(9), "useradd: {status}");
    }
    Some(nix::unistd::User::from_name(JOB_USER).unwrap().expect("the job user exists").uid.as_raw())
}

/// Processes whose real user is `uid`.
fn processes_of(uid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .flatten()
        .filter(|entry| {
            entry.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("status")).ok())
        .filter(|status| {
            status.lines().any(|line| {
                line.strip_prefix("Uid:")
                    .and_then(|ids| ids.split_whitespace().next())
                    .is_some_and(|real| real == uid.to_string())
            })
        })
        .count()
}

#[tokio::test]
async fn commands_run_as_the_requested_user() {
    let _user = JOB_USER_LOCK.lock().await;
    let Some(uid) = job_user() else { return };
    let mut spec = sh("id -u; echo $HOME $USER");
    spec.run_as = Some(JOB_USER.into());
    let outcome = run(&executor(), spec, "acme", LONG).await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.output, format!("{uid}\n/nonexistent {JOB_USER}\n"));
    // The tenant's default user applies too, and its working directory becomes the user's.
    let root = tempfile::tempdir().unwrap();
    let policy = CommandPolicy {
        work_root: Some(root.path().to_owned()),
        exec_wrapper: Some(WRAPPER.into()),
        ..CommandPolicy::default()
    };
    let context = RunContext { run_as: Some(JOB_USER.into()), ..RunContext::default() };
    let executor = executor().with_command_policy(policy);
    let outcome = run_in(&executor, sh("id -u > mine && cat mine"), "acme", &context, LONG).await;
    // The work root itself is private (tempdir mode 0700), but the process keeps its directory.
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.output.trim(), uid.to_string());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(root.path().join("acme")).unwrap().uid(), uid);

    let mut spec = sh("true");
    spec.run_as = Some("no-such-user-here".into());
    let outcome = run(&executor, spec, "acme", LONG).await;
    assert_eq!(outcome.error.as_deref(), Some("run_as: there is no user \"no-such-user-here\""));
}

#[tokio::test]
async fn a_fork_bomb_is_held_at_the_process_limit_and_the_reason_says_so() {
    let _user = JOB_USER_LOCK.lock().await;
    let Some(uid) = job_user() else { return };
    let mut bomb = sh("bomb() { bomb | bomb; }; bomb");
    bomb.run_as = Some(JOB_USER.into());
    bomb.limits = Some(CommandLimits { processes: Some(20), ..CommandLimits::default() });
    let outcome = run(&executor(), bomb, "mallory", LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert!(error(&outcome).starts_with("process limit (20) reached"), "{outcome:?}");
    assert!(outcome.output.contains("Cannot fork"), "{outcome:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_of(uid) > 0 {
        assert!(Instant::now() < deadline, "{} bomb processes survived", processes_of(uid));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A fork bomb and a memory hog in one tenant's jobs while another tenant's job runs: the other
/// job completes, promptly; the bomb is held at the process limit and stopped by its timeout;
/// nothing of it survives; and the executor goes on running commands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fork_bomb_and_a_memory_hog_do_not_stop_another_tenants_runs() {
    let _user = JOB_USER_LOCK.lock().await;
    let Some(uid) = job_user() else { return };
    let executor = executor();
    if !Path::new(PYTHON).exists() {
        eprintln!("SKIPPED: {PYTHON} is not installed");
        return;
    }
    // Every process forks forever, waiting a little when the limit refuses: a shell would give
    // up at the first failed fork, this one runs until the timeout stops it.
    let script = "import os, time\n\
                  while True:\n\
                  \x20   try:\n\
                  \x20       os.fork()\n\
                  \x20   except OSError:\n\
                  \x20       time.sleep(0.01)\n";
    let mut bomb = CommandSpec::new(PYTHON, ["-c", script]);
    bomb.run_as = Some(JOB_USER.into());
    bomb.limits = Some(CommandLimits { processes: Some(20), ..CommandLimits::default() });
    // mawk (Debian's awk) says "out of memory" when an allocation fails.
    let hog = limited(
        CommandSpec::new("awk", ["BEGIN { s = \"x\"; while (1) s = s s }"]),
        CommandLimits { address_space_bytes: Some(64 << 20), ..CommandLimits::default() },
    );
    let bomb_timeout = Duration::from_secs(4);

    let bombing = run(&executor, bomb, "mallory", bomb_timeout);
    let hogging = run(&executor, hog, "mallory", Duration::from_secs(20));
    let others = async {
        // Give the bomb a moment to reach its limit, then run the other tenant's jobs.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let during = processes_of(uid);
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            let outcome = run(&executor, sh("echo ok"), "acme", Duration::from_secs(10)).await;
            outcomes.push((outcome, started.elapsed()));
        }
        (during, outcomes)
    };
    let (bombed, hogged, (during, outcomes)) = tokio::join!(bombing, hogging, others);

    for (outcome, took) in &outcomes {
        assert!(outcome.is_success(), "{outcome:?}");
        assert_eq!(outcome.output, "ok\n");
        assert!(*took < Duration::from_secs(2), "the other tenant's run took {took:?}");
    }
    assert!(during <= 20, "{during} processes of the job user; the limit is 20");
    assert!(during > 1, "the bomb did not run ({during} processes)");
    assert_eq!(bombed.status, OutcomeStatus::TimedOut, "{bombed:?}");
    assert!(bombed.duration < bomb_timeout + Duration::from_secs(3), "{bombed:?}");
    assert_eq!(hogged.status, OutcomeStatus::Failed, "{hogged:?}");
    assert!(error(&hogged).starts_with("address-space limit (64 MiB) exceeded"), "{hogged:?}");

    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_of(uid) > 0 {
        assert!(Instant::now() < deadline, "{} bomb processes survived", processes_of(uid));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let outcome = run(&executor, sh("echo still here"), "acme", LONG).await;
    assert_eq!(outcome.output, "still here\n");
}
