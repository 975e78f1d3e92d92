//! Command handlers against real processes: capture, exit statuses, bounded output, the run's
//! environment, and stopping whole process trees on timeout and cancellation.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use rota::handler::{
    CommandSpec, Envelope, Executor, Outcome, OutcomeStatus, ResolvedSpec, Trigger, OUTPUT_LIMIT,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const GRACE: Duration = Duration::from_millis(300);
const LONG: Duration = Duration::from_secs(60);

fn envelope() -> Envelope {
    Envelope {
        run_id: Uuid::from_u128(0x11),
        job_id: Uuid::from_u128(0x22),
        job: "nightly-backup".into(),
        tenant_id: Uuid::from_u128(0x33),
        tenant: "acme".into(),
        scheduled_for: Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap(),
        attempt: 1,
        trigger: Trigger::Schedule,
        payload: serde_json::json!({"full": true, "note": "naïve €"}),
    }
}

/// `/bin/sh -c SCRIPT sh ARGS...` as an argument vector (no `shell: true` needed).
fn sh(script: &str, args: &[&str]) -> CommandSpec {
    let mut argv = vec!["-c", script, "sh"];
    argv.extend_from_slice(args);
    CommandSpec::new("/bin/sh", argv)
}

async fn run(spec: CommandSpec, timeout: Duration) -> Outcome {
    run_with(spec, timeout, CancellationToken::new()).await
}

async fn run_with(spec: CommandSpec, timeout: Duration, cancel: CancellationToken) -> Outcome {
    let executor = Executor::new().with_kill_grace(GRACE);
    executor.execute(&ResolvedSpec::Command(spec), &envelope(), timeout, cancel).await
}

/// Whether `pid` is a running process (a zombie awaiting its reaper is not).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().next();
            !matches!(state, Some("Z" | "X"))
        }
    }
}

/// Waits up to five seconds for `pid` to stop running.
async fn wait_until_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Waits up to ten seconds for the file that a script writes (atomically, via `mv`).
async fn read_when_written(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(Instant::now() < deadline, "{} was never written", path.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn pid_in(path: &Path) -> i32 {
    let text = std::fs::read_to_string(path).expect("the script wrote its pid");
    text.trim().parse().expect("a pid")
}

#[tokio::test]
async fn success_captures_stdout_and_passes_the_envelope_on_stdin() {
    let outcome = run(sh("cat; echo; echo done", &[]), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(outcome.error, None);
    let (stdin, rest) = outcome.output.split_once('\n').unwrap();
    assert_eq!(serde_json::from_str::<Envelope>(stdin).unwrap(), envelope());
    assert_eq!(rest, "done\n");
}

#[tokio::test]
async fn non_zero_exit_is_a_failure_with_its_code() {
    let outcome = run(sh("echo before; exit 3", &[]), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert_eq!(outcome.exit_code, Some(3));
    assert_eq!(outcome.error.as_deref(), Some("exit status 3"));
    assert_eq!(outcome.output, "before\n");
}

#[tokio::test]
async fn death_by_signal_is_a_failure_without_an_exit_code() {
    let outcome = run(sh("kill -KILL $$", &[]), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert_eq!(outcome.exit_code, None);
    assert_eq!(outcome.error.as_deref(), Some("killed by signal 9 (SIGKILL)"));
}

#[tokio::test]
async fn stderr_is_captured_and_marked() {
    let outcome = run(sh("echo to-out; echo to-err >&2; exit 1", &[]), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert!(outcome.output.contains("to-out\n"), "{:?}", outcome.output);
    assert!(outcome.output.contains("[stderr] to-err\n"), "{:?}", outcome.output);
}

#[tokio::test]
async fn huge_output_keeps_only_the_tail() {
    let script = "head -c 10000000 /dev/zero | tr '\\0' x; echo; echo THE-END";
    let outcome = run(sh(script, &[]), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{:?}", outcome.error);
    assert!(outcome.output.len() <= OUTPUT_LIMIT, "{} bytes", outcome.output.len());
    assert!(outcome.output.ends_with("xxx\nTHE-END\n"));
    let marker_end = outcome.output.find(']').unwrap();
    assert!(outcome.output.starts_with("…["), "{:?}", &outcome.output[..40]);
    let dropped: u64 = outcome.output["…[".len()..].split(' ').next().unwrap().parse().unwrap();
    let shown = (outcome.output.len() - marker_end - 1) as u64;
    assert_eq!(dropped + shown, 10_000_000 + "\nTHE-END\n".len() as u64);
}

#[tokio::test]
async fn the_run_is_described_in_the_environment() {
    let mut spec = sh("env | grep -E '^(ROTA_|MODE=)' | sort", &[]);
    spec.env.insert("MODE".into(), "full".into());
    let outcome = run(spec, LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{:?}", outcome.error);
    let expected = [
        "MODE=full",
        "ROTA_ATTEMPT=1",
        "ROTA_IDEMPOTENCY_KEY=00000000-0000-0000-0000-000000000022:2027-03-14T07:00:00Z",
        "ROTA_JOB=nightly-backup",
        "ROTA_JOB_ID=00000000-0000-0000-0000-000000000022",
        r#"ROTA_PAYLOAD={"full":true,"note":"naïve €"}"#,
        "ROTA_RUN_ID=00000000-0000-0000-0000-000000000011",
        "ROTA_SCHEDULED_FOR=2027-03-14T07:00:00Z",
        "ROTA_TENANT=acme",
        "ROTA_TENANT_ID=00000000-0000-0000-0000-000000000033",
        "ROTA_TRIGGER=schedule",
    ];
    assert_eq!(outcome.output.lines().collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn runs_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = CommandSpec::new("pwd", Vec::<String>::new());
    spec.working_dir = Some(dir.path().to_owned());
    let outcome = run(spec, LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{:?}", outcome.error);
    let shown = std::fs::canonicalize(outcome.output.trim_end()).unwrap();
    assert_eq!(shown, std::fs::canonicalize(dir.path()).unwrap());
}

#[tokio::test]
async fn shell_mode_runs_a_script_with_positional_arguments() {
    let mut spec = CommandSpec::shell(r#"echo "$1-$2" && wc -c | tr -d ' '"#);
    spec.args = vec!["a b".into(), "c".into()];
    let outcome = run(spec, LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{:?}", outcome.error);
    let length = envelope().to_json().len();
    assert_eq!(outcome.output, format!("a b-c\n{length}\n"));
}

/// A megabyte of payload: too big for the environment (Linux caps one variable at 128 KiB), and
/// far more than a pipe holds, written to a child that never reads it.
#[tokio::test]
async fn a_huge_payload_goes_to_stdin_only_and_may_be_ignored() {
    let mut envelope = envelope();
    envelope.payload = serde_json::json!("x".repeat(1 << 20));
    let script = r#"if [ -z "${ROTA_PAYLOAD+set}" ]; then echo not-in-env; fi"#;
    let spec = ResolvedSpec::Command(sh(script, &[]));
    let outcome = Executor::new().execute(&spec, &envelope, LONG, CancellationToken::new()).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{:?}", outcome.error);
    assert_eq!(outcome.output, "not-in-env\n");
}

#[tokio::test]
async fn a_missing_program_says_so() {
    let outcome = run(CommandSpec::new("/nonexistent/rota-test", ["x"]), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert_eq!(outcome.exit_code, None);
    assert_eq!(
        outcome.error.as_deref(),
        Some("cannot start `/nonexistent/rota-test`: No such file or directory")
    );

    let outcome = run(CommandSpec::new("rota-no-such-program", ["x"]), LONG).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("cannot start `rota-no-such-program`: No such file or directory")
    );

    let mut spec = CommandSpec::new("true", ["x"]);
    spec.working_dir = Some("/nonexistent/rota-dir".into());
    let outcome = run(spec, LONG).await;
    assert_eq!(
        outcome.error.as_deref(),
        Some("cannot start `true`: working directory /nonexistent/rota-dir does not exist")
    );
}

/// The direct child starts a grandchild that ignores SIGTERM, writes its pid, and sleeps; the
/// direct child itself dies of the SIGTERM. The grandchild still holds the group (and the
/// pipes), so only SIGKILL after the grace ends the run, and it must not survive.
#[tokio::test]
async fn timeout_kills_the_whole_process_tree() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let script = r#"
        /bin/sh -c 'trap "" TERM; echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 300' grandchild "$1" &
        echo started
        wait
    "#;
    let timeout = Duration::from_secs(2);
    let started = Instant::now();
    let outcome = run(sh(script, &[pidfile.to_str().unwrap()]), timeout).await;
    let elapsed = started.elapsed();

    assert_eq!(outcome.status, OutcomeStatus::TimedOut, "{outcome:?}");
    assert_eq!(
        outcome.error.as_deref(),
        Some("timed out after 2s (the process group got SIGTERM, then SIGKILL after the 300ms grace)")
    );
    assert_eq!(outcome.output, "started\n");
    assert!(elapsed >= timeout + GRACE, "returned after {elapsed:?}");
    assert!(elapsed < timeout + GRACE + Duration::from_secs(3), "returned after {elapsed:?}");
    let grandchild = pid_in(&pidfile);
    assert!(wait_until_gone(grandchild).await, "grandchild {grandchild} survived the timeout");
}

/// A job that exits normally but leaves a background process behind: the orphan is stopped,
/// and the output says so.
#[tokio::test]
async fn processes_left_behind_after_a_normal_exit_are_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("orphan.pid");
    let script = r#"sleep 300 & echo $! > "$1"; echo parent done"#;
    let outcome = run(sh(script, &[pidfile.to_str().unwrap()]), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(
        outcome.output,
        "parent done\n[rota] the command exited but left processes in its group; the process \
         group was stopped with SIGTERM\n"
    );
    let orphan = pid_in(&pidfile);
    assert!(wait_until_gone(orphan).await, "orphan {orphan} survived");
}

#[tokio::test]
async fn cancellation_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let script = r#"echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 300"#;
    let cancel = CancellationToken::new();
    let run = run_with(sh(script, &[pidfile.to_str().unwrap()]), LONG, cancel.clone());
    let canceller = async {
        read_when_written(&pidfile).await;
        cancel.cancel();
        Instant::now()
    };
    let (outcome, cancelled_at) = tokio::join!(run, canceller);
    assert_eq!(outcome.status, OutcomeStatus::Cancelled, "{outcome:?}");
    assert_eq!(
        outcome.error.as_deref(),
        Some("cancelled (the process group was stopped with SIGTERM)")
    );
    assert!(cancelled_at.elapsed() < Duration::from_secs(2), "SIGTERM should end `sleep` at once");
    let child = pid_in(&pidfile);
    assert!(wait_until_gone(child).await, "child {child} survived cancellation");
}

/// The engine may drop a run's future (shutdown, a panic elsewhere): the group must not outlive
/// it.
#[tokio::test]
async fn dropping_a_run_kills_its_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let script = r#"trap "" TERM; echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 300"#;
    let run = run(sh(script, &[pidfile.to_str().unwrap()]), LONG);
    tokio::select! {
        outcome = run => panic!("the run ended by itself: {outcome:?}"),
        _ = read_when_written(&pidfile) => {}
    }
    let child = pid_in(&pidfile);
    assert!(wait_until_gone(child).await, "child {child} outlived its dropped run");
}
