//! Exactly one engine executes a local (SQLite) database's jobs: the first engine on the file
//! holds its lock (`rota::runtime::engine_lock`), and a second one (a `rota serve` started
//! twice, a console opened while the user service runs) refuses to start, naming the first.
//! Real processes throughout: `rota serve` children, the CLI, and an engine in this process.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rota::clock::{Clock, SystemClock};
use rota::runtime::{CommandSettings, DatabaseConfig, Runtime, RuntimeConfig, RuntimeError};
use support::rota_ok;
use support::serve_node::ServeNode;

const LONG: Duration = Duration::from_secs(60);

/// Waits until `done` holds, failing the test after [`LONG`].
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + LONG;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn config(url: &str, node: &str, dir: &Path) -> RuntimeConfig {
    RuntimeConfig::new(
        DatabaseConfig::new(url),
        node,
        CommandSettings::new(dir.join("work"), env!("CARGO_BIN_EXE_rota")),
    )
}

fn lines(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_engine_on_a_local_database_refuses_to_start_and_nothing_runs_twice() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
    let marks = dir.path().join("runs.txt");
    rota_ok(&url, &["migrate"]);
    rota_ok(&url, &["tenant", "add", "acme", "--max-concurrent", "4"]);
    let script = format!("echo \"$ROTA_RUN_ID\" >> '{}'", marks.display());
    rota_ok(
        &url,
        &[
            "job",
            "add",
            "--tenant",
            "acme",
            "--name",
            "mark",
            "--schedule",
            "0 0 1 1 *",
            "--command",
            "/bin/sh",
            "--arg",
            "-c",
            "--arg",
            &script,
        ],
    );
    let logs = dir.path();
    let work = dir.path().join("work");
    // The tests run as root (CI): the one job runs as the daemon's user.
    let serve_args = ["--allow-root-jobs", "--work-root", work.to_str().unwrap()];
    let first = ServeNode::start(&url, "service", logs, &serve_args);
    let first_pid = first.pid();
    until("the first rota serve holds the engine lock", || {
        rota::runtime::engine_elsewhere(&url).is_some()
    })
    .await;
    let holder = rota::runtime::engine_elsewhere(&url).unwrap();
    assert!(holder.description.contains(&format!("pid {first_pid}")), "{holder}");
    assert!(holder.description.contains("node service"), "{holder}");

    // A second `rota serve` on the same file: refused, naming the first, exit status 1.
    let mut second = ServeNode::start(&url, "second", logs, &serve_args);
    let status = second.wait_exit(LONG).await.expect("the second rota serve exits");
    assert_eq!(status.code(), Some(1), "{}", second.log_text());
    let log = second.log_text();
    assert!(log.contains("another engine already executes the jobs of"), "{log}");
    assert!(log.contains(&format!("pid {first_pid}")), "{log}");

    // An engine in this process (what the console starts in Local mode): refused too.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match Runtime::open(config(&url, "console", dir.path()), Arc::clone(&clock)).await {
        Err(RuntimeError::EngineRunning { holder, .. }) => {
            assert!(holder.description.contains(&format!("pid {first_pid}")), "{holder}")
        }
        Err(other) => panic!("expected EngineRunning, got {other}"),
        Ok(_) => panic!("a second engine started on the same SQLite file"),
    }

    // Every triggered run executes once, by the one engine.
    for _ in 0..5 {
        rota_ok(&url, &["job", "trigger", "--tenant", "acme", "--name", "mark"]);
    }
    until("five runs wrote their mark", || lines(&marks).len() >= 5).await;
    let runs = rota_ok(&url, &["runs", "list", "--tenant", "acme", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&runs.stdout).unwrap();
    let ids: Vec<&str> =
        runs.as_array().unwrap().iter().map(|run| run["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "{runs}");
    let mut marked = lines(&marks);
    marked.sort();
    let mut expected: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    expected.sort();
    assert_eq!(marked, expected, "each run executed exactly once");

    // A crashed engine never blocks the next: the kernel drops its lock with the process.
    let mut first = first;
    first.kill();
    until("the lock is free after the holder died", || {
        rota::runtime::engine_elsewhere(&url).is_none()
    })
    .await;
    let runtime = Runtime::open(config(&url, "console", dir.path()), clock)
        .await
        .expect("an engine starts once the holder is gone");
    runtime.shutdown().await.expect("stops");
    drop(second);
}
