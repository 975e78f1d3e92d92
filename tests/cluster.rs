//! Three `rota serve` processes on one Postgres database against a local HTTP receiver, on the
//! wall clock. One is killed with SIGKILL mid-run and restarted. No occurrence is lost, the only
//! repeats are the killed node's in-flight runs (a later attempt with the same Idempotency-Key),
//! and no tenant ever has more requests in flight than its limit.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rota::run::{RunStatus, Trigger};
use rota::store::prelude::*;
use rota::store::RunFilter;
use support::{Backend, TestDatabase};

#[derive(Default)]
struct Receiver {
    in_flight: HashMap<String, u32>,
    max_in_flight: HashMap<String, u32>,
    /// Idempotency key → attempts delivered (trigger, attempt).
    deliveries: BTreeMap<String, Vec<(String, u64)>>,
}

async fn hook(
    State(state): State<Arc<Mutex<Receiver>>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> &'static str {
    let tenant = body["tenant"].as_str().unwrap_or_default().to_owned();
    let key =
        headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    {
        let mut state = state.lock().unwrap();
        let now = state.in_flight.entry(tenant.clone()).or_default();
        *now += 1;
        let now = *now;
        let max = state.max_in_flight.entry(tenant.clone()).or_default();
        *max = (*max).max(now);
        let trigger = body["trigger"].as_str().unwrap_or_default().to_owned();
        let attempt = body["attempt"].as_u64().unwrap_or_default();
        state.deliveries.entry(key).or_default().push((trigger, attempt));
    }
    // The server drops this future when the client disconnects (the killed node's requests),
    // so the in-flight count is decremented by a guard, not by code after the await.
    let _in_flight = InFlight { state: state.clone(), tenant };
    // Each call takes a while, so runs are in flight when a node is killed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    "ok"
}

struct InFlight {
    state: Arc<Mutex<Receiver>>,
    tenant: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(count) = state.in_flight.get_mut(&self.tenant) {
            *count -= 1;
        }
    }
}

fn rota(url: &str, args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_rota"))
        .arg("--database")
        .arg(url)
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "rota {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn serve(url: &str, node: &str, logs: &std::path::Path) -> Child {
    let log = std::fs::File::create(logs.join(format!("{node}.log"))).unwrap();
    Command::new(env!("CARGO_BIN_EXE_rota"))
        .args([
            "--database",
            url,
            "serve",
            "--node-id",
            node,
            "--workers",
            "4",
            "--lease-ttl",
            "2",
            "--shutdown-grace",
            "10",
        ])
        .env("ROTA_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("rota serve did not stop within 20 s of SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_node_loses_no_occurrence_and_repeats_only_its_in_flight_runs() {
    let Some(db) = TestDatabase::create(Backend::Postgres).await else { return };
    let store = db.store().await;
    let logs = tempfile::tempdir().unwrap();

    let state = Arc::new(Mutex::new(Receiver::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let server = {
        let app = Router::new().route("/hook", post(hook)).with_state(state.clone());
        let stop = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await
        })
    };

    let limits = [("t1", 2u32), ("t2", 1), ("t3", 3)];
    for (tenant, limit) in limits {
        rota(&db.url, &["tenant", "add", tenant, "--max-concurrent", &limit.to_string()]);
        for index in 0..3 {
            rota(
                &db.url,
                &[
                    "job",
                    "add",
                    "--tenant",
                    tenant,
                    "--name",
                    &format!("job{index}"),
                    "--schedule",
                    "*/2 * * * * *",
                    "--timeout",
                    "10",
                    // Every occurrence must run, even one due while a killed node's run of the
                    // same job still counts as running (until its lease expires): no overlap
                    // policy may skip it.
                    "--overlap",
                    "allow",
                    "--http-url",
                    &format!("http://{addr}/hook"),
                ],
            );
        }
    }

    let serving_since: DateTime<Utc> = rota::clock::Clock::now(&rota::clock::SystemClock);
    let mut nodes = vec![
        serve(&db.url, "n0", logs.path()),
        serve(&db.url, "n1", logs.path()),
        serve(&db.url, "n2", logs.path()),
    ];
    let started = Instant::now();

    // Kill n0 while it has runs in flight.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "n0 never had a run in flight");
        let running = store
            .list_runs(&RunFilter {
                status: Some(RunStatus::Running),
                limit: Some(1000),
                ..RunFilter::default()
            })
            .await
            .unwrap();
        if started.elapsed() > Duration::from_secs(3)
            && running.iter().any(|run| run.lease_owner.as_deref() == Some("n0"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nodes[0].kill().unwrap();
    nodes[0].wait().unwrap();
    // Restarted at once with the same id, as a supervisor would: the new incarnation must
    // recover the runs its predecessor held instead of renewing their leases forever.
    tokio::time::sleep(Duration::from_millis(200)).await;
    nodes[0] = serve(&db.url, "n0", logs.path());
    tokio::time::sleep(Duration::from_secs(6)).await;
    // Every occurrence up to `end` must finish. The tight tenant (one at a time, three jobs)
    // may still have a backlog on a loaded machine: wait for it instead of guessing a margin.
    let end: DateTime<Utc> = rota::clock::Clock::now(&rota::clock::SystemClock);
    let drain_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = store
            .list_runs(&RunFilter { limit: Some(100_000), ..RunFilter::default() })
            .await
            .unwrap();
        let unfinished =
            runs.iter().filter(|run| run.scheduled_at <= end && !run.status.is_final()).count();
        if unfinished == 0 {
            break;
        }
        assert!(Instant::now() < drain_deadline, "{unfinished} runs still unfinished after 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for node in &mut nodes {
        terminate(node);
    }
    stop.cancel();
    server.await.unwrap().unwrap();

    let runs =
        store.list_runs(&RunFilter { limit: Some(100_000), ..RunFilter::default() }).await.unwrap();
    let lost: Vec<_> = runs.iter().filter(|run| run.status == RunStatus::Lost).collect();
    assert!(!lost.is_empty(), "the kill happened mid-run, so some run must be lost");
    assert!(lost.iter().all(|run| run.lease_owner.as_deref().is_none_or(|owner| owner == "n0")));

    // Every occurrence from the first to the end succeeded, exactly once.
    // Jobs were created one by one before the nodes started; from then on every occurrence of
    // every job must run.
    let first =
        runs.iter().map(|run| run.scheduled_at).filter(|at| *at >= serving_since).min().unwrap();
    let mut succeeded: HashMap<(String, String), Vec<DateTime<Utc>>> = HashMap::new();
    for run in runs.iter().filter(|run| run.status == RunStatus::Succeeded) {
        succeeded.entry((run.tenant.clone(), run.job.clone())).or_default().push(run.scheduled_at);
    }
    let mut expected = first;
    // (An occurrence in the last second may not have been ticked yet when `end` was read.)
    while expected <= end - chrono::Duration::seconds(1) {
        for (tenant, _) in limits {
            for index in 0..3 {
                let times = succeeded
                    .get(&(tenant.to_owned(), format!("job{index}")))
                    .cloned()
                    .unwrap_or_default();
                let count = times.iter().filter(|at| **at == expected).count();
                let rows: Vec<_> = runs
                    .iter()
                    .filter(|run| run.tenant == tenant && run.job == format!("job{index}"))
                    .filter(|run| run.scheduled_at == expected)
                    .map(|run| (run.status, run.trigger, run.reason.clone()))
                    .collect();
                assert_eq!(
                    count, 1,
                    "{tenant}/job{index} at {expected}: {count} successes: {rows:?}"
                );
            }
        }
        expected += chrono::Duration::seconds(2);
    }

    // The only repeated deliveries are the killed node's in-flight runs, delivered again as a
    // recovery attempt with the same Idempotency-Key.
    let state = state.lock().unwrap();
    let lost_keys: Vec<String> = lost
        .iter()
        .map(|run| {
            format!(
                "{}:{}",
                run.job_id.unwrap(),
                run.scheduled_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        })
        .collect();
    for (key, deliveries) in &state.deliveries {
        if deliveries.len() > 1 {
            assert!(lost_keys.contains(key), "{key} delivered {deliveries:?} but was not lost");
            assert!(
                deliveries.iter().skip(1).all(|(trigger, _)| trigger == Trigger::Recovery.as_str()),
                "{key}: {deliveries:?}"
            );
        }
    }
    for (tenant, limit) in limits {
        let observed = state.max_in_flight.get(tenant).copied().unwrap_or(0);
        assert!(observed <= limit, "{tenant} had {observed} requests in flight, limit {limit}");
    }

    // Fire lateness (start minus scheduled instant) across the cluster, for the record.
    let mut lateness: Vec<i64> = runs
        .iter()
        .filter(|run| run.trigger == Trigger::Schedule)
        .filter_map(|run| {
            run.started_at.map(|started| (started - run.scheduled_at).num_milliseconds())
        })
        .collect();
    lateness.sort_unstable();
    if !lateness.is_empty() {
        let pick = |q: f64| lateness[((lateness.len() - 1) as f64 * q) as usize];
        eprintln!(
            "fire lateness over {} scheduled runs: p50 {} ms, p99 {} ms, max {} ms",
            lateness.len(),
            pick(0.5),
            pick(0.99),
            lateness[lateness.len() - 1]
        );
    }
}
