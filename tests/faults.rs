//! Faults real machines have, between two `rota serve` processes and Postgres, on the wall
//! clock: a TCP proxy (`support::fault_proxy`) cuts every connection and refuses new ones (a
//! restart, a failover), or freezes traffic without closing anything (a network that stops
//! delivering), for less and for more than the lease. HTTP jobs fire every second at a local
//! receiver that answers after half a second, so runs are in flight when the fault begins.
//!
//! What must hold, as a user sees it:
//! - no occurrence is lost: every second of every job succeeded exactly once;
//! - no occurrence is delivered again after its delivery succeeded (no node dies here, so the
//!   receiver sees each `Idempotency-Key` once);
//! - `/healthz` answers 503 while the database is away and 200 again after;
//! - the logs stay readable: a bounded number of warnings, not one per loop iteration;
//! - a node told to stop during the outage keeps its finished results and records them when
//!   the database is back, within its shutdown grace.
//!
//! The scenarios run one at a time (each starts two daemons; in parallel on a small machine
//! they would measure the machine, not Rota).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, Utc};
use rota::clock::{Clock, SystemClock};
use rota::run::{Run, RunStatus};
use rota::store::prelude::*;
use rota::store::{AnyStore, RunFilter};
use support::fault_proxy::{Fault, FaultProxy};
use support::receiver::Receiver;
use support::serve_node::ServeNode;
use support::{rota_ok as rota, socket_address, Backend, TestDatabase};

/// Seconds a claimed run stays a node's without renewal.
const LEASE_S: u64 = 4;
const LEASE: Duration = Duration::from_secs(LEASE_S);
/// Jobs firing every second.
const JOBS: usize = 4;
/// How long the receiver takes to answer: runs are in flight about half of the time.
const ANSWER_DELAY: Duration = Duration::from_millis(500);
/// Warnings and errors a node may log over a whole scenario (a fault of up to 9 s): a few per
/// loop, not one per iteration.
const MAX_WARNINGS: usize = 40;
const SHUTDOWN_GRACE_S: u64 = 20;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn now() -> DateTime<Utc> {
    SystemClock.now()
}

/// Two nodes behind the fault proxy, the receiver their jobs call, and what went wrong so far.
struct Cluster {
    db: TestDatabase,
    store: AnyStore,
    proxy: FaultProxy,
    receiver: Receiver,
    nodes: Vec<ServeNode>,
    logs: tempfile::TempDir,
    problems: Vec<String>,
}

impl Cluster {
    /// A database with one tenant and [`JOBS`] HTTP jobs firing every second, and two nodes
    /// serving it through the proxy, each with runs delivered already. `None` when Postgres is
    /// unavailable (and not required).
    async fn start() -> Option<Cluster> {
        let db = TestDatabase::create(Backend::Postgres).await?;
        let store = db.store().await;
        let receiver = Receiver::start(ANSWER_DELAY, Duration::from_secs(120)).await;
        rota(&db.url, &["tenant", "add", "faults", "--max-concurrent", "32"]);
        for index in 0..JOBS {
            rota(
                &db.url,
                &[
                    "job",
                    "add",
                    "--tenant",
                    "faults",
                    "--name",
                    &format!("every-second-{index}"),
                    "--schedule",
                    "* * * * * *",
                    "--timeout",
                    "10",
                    // Every occurrence runs, even while a run of the same job is in flight.
                    "--overlap",
                    "allow",
                    "--http-url",
                    &receiver.url(),
                ],
            );
        }
        let proxy = FaultProxy::start(socket_address(&db.url)).await;
        let logs = tempfile::tempdir().unwrap();
        let url = proxy.url_for(&db.url);
        let args = [
            "--workers",
            "8",
            "--lease-ttl",
            &LEASE_S.to_string(),
            "--shutdown-grace",
            &SHUTDOWN_GRACE_S.to_string(),
        ];
        let nodes = vec![
            ServeNode::start(&url, "node-a", logs.path(), &args),
            ServeNode::start(&url, "node-b", logs.path(), &args),
        ];
        let mut cluster = Cluster { db, store, proxy, receiver, nodes, logs, problems: Vec::new() };
        cluster.wait_healthy("at start", Duration::from_secs(20)).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while cluster.receiver.count() < 2 * JOBS {
            assert!(Instant::now() < deadline, "no deliveries within 20 s of starting");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(cluster)
    }

    /// Waits until the receiver is answering requests, so that the fault finds runs in flight.
    async fn wait_in_flight(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.receiver.in_flight() == 0 {
            assert!(Instant::now() < deadline, "no request in flight within 5 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Applies `fault` for `length`, checking that the running nodes' `/healthz` says so, then
    /// lets traffic pass and waits for them to be healthy again.
    async fn inflict(&mut self, fault: Fault, length: Duration) {
        self.wait_in_flight().await;
        let started = Instant::now();
        match fault {
            Fault::Cut => self.proxy.cut(),
            Fault::Freeze => self.proxy.freeze(),
            Fault::None => {}
        }
        let all: Vec<usize> = (0..self.nodes.len()).collect();
        self.watch_unhealthy(fault, started, length, &all).await;
        self.proxy.pass();
        self.wait_healthy(&format!("after the {fault:?} of {length:?}"), Duration::from_secs(15))
            .await;
    }

    /// Until `length` after `started`, polls the `/healthz` of the `watched` nodes; each must
    /// answer 503, naming the database, at some point.
    async fn watch_unhealthy(
        &mut self,
        fault: Fault,
        started: Instant,
        length: Duration,
        watched: &[usize],
    ) {
        let mut seen: Vec<Option<String>> = vec![None; self.nodes.len()];
        let mut last: Vec<String> = vec![String::new(); self.nodes.len()];
        while started.elapsed() < length {
            for (index, node) in self.nodes.iter_mut().enumerate() {
                if !watched.contains(&index) || node.try_exit().is_some() || seen[index].is_some() {
                    continue;
                }
                let answer = node.health().await;
                if answer.status == Some(503) {
                    seen[index] = Some(answer.body);
                } else {
                    last[index] = format!("{:?} {}", answer.status, answer.body);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for (index, node) in self.nodes.iter_mut().enumerate() {
            if !watched.contains(&index) || node.try_exit().is_some() {
                continue;
            }
            match &seen[index] {
                None => self.problems.push(format!(
                    "{}: /healthz never answered 503 during the {fault:?} of {length:?} (last: {})",
                    node.id, last[index]
                )),
                Some(body) if !body.contains("database") => self.problems.push(format!(
                    "{}: /healthz answered 503 during the {fault:?} without naming the database: {body}",
                    node.id
                )),
                Some(_) => {}
            }
        }
    }

    /// Waits until every running node's `/healthz` answers 200.
    async fn wait_healthy(&mut self, when: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        for node in &mut self.nodes {
            if node.try_exit().is_some() {
                continue;
            }
            loop {
                let answer = node.health().await;
                if answer.status == Some(200) {
                    break;
                }
                if Instant::now() >= deadline {
                    self.problems.push(format!(
                        "{}: /healthz not 200 within {limit:?} {when}: {:?} {}",
                        node.id, answer.status, answer.body
                    ));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    /// Every node that is still running counted the database's outage and its return.
    async fn check_metrics_saw_the_fault(&mut self) {
        for node in &self.nodes {
            let metrics = node.metrics().await;
            let reconnects = metric_value(&metrics, "rota_database_reconnects_total");
            if reconnects.is_none_or(|count| count < 1.0) {
                self.problems.push(format!(
                    "{}: /metrics shows no database reconnect after the fault: {reconnects:?}",
                    node.id
                ));
            }
        }
    }

    /// Waits until every occurrence up to a few seconds from now has finished, then stops the
    /// nodes gracefully. Returns the last instant every occurrence of which must have run.
    async fn settle_and_stop(&mut self) -> DateTime<Utc> {
        let end = now().duration_trunc(chrono::Duration::seconds(1)).unwrap()
            + chrono::Duration::seconds(3);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let runs = self.runs().await;
            let unfinished =
                runs.iter().filter(|run| run.scheduled_at <= end && !run.status.is_final()).count();
            let ticked = runs.iter().filter(|run| run.scheduled_at == end).count() >= JOBS;
            if ticked && unfinished == 0 {
                break;
            }
            if Instant::now() >= deadline {
                self.problems.push(format!(
                    "{unfinished} runs due by {end} still unfinished 30 s later (ticked: {ticked})"
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for node in &self.nodes {
            node.terminate();
        }
        for node in &mut self.nodes {
            match node.wait_exit(Duration::from_secs(SHUTDOWN_GRACE_S + 10)).await {
                Some(status) if status.success() => {}
                other => {
                    self.problems.push(format!("{}: did not stop cleanly: {other:?}", node.id))
                }
            }
        }
        end
    }

    async fn runs(&self) -> Vec<Run> {
        self.store
            .list_runs(&RunFilter { limit: Some(100_000), ..RunFilter::default() })
            .await
            .unwrap()
    }

    /// Every occurrence of every job, from its first to `end`, succeeded exactly once and was
    /// delivered exactly once; nothing was lost; the logs stayed short.
    async fn verify(&mut self, end: DateTime<Utc>) {
        let runs = self.runs().await;
        let mut by_job: BTreeMap<String, Vec<&Run>> = BTreeMap::new();
        for run in &runs {
            by_job.entry(run.job.clone()).or_default().push(run);
        }
        if by_job.len() != JOBS {
            self.problems.push(format!("runs of {} jobs, expected {JOBS}", by_job.len()));
        }
        let lost: Vec<String> = runs
            .iter()
            .filter(|run| run.status == RunStatus::Lost)
            .map(|run| format!("{} {} attempt {}", run.job, run.scheduled_at, run.attempt))
            .collect();
        if !lost.is_empty() {
            self.problems.push(format!("{} runs were lost (recovered): {lost:?}", lost.len()));
        }
        let deliveries = self.receiver.deliveries();
        let mut missing = Vec::new();
        for (job, job_runs) in &by_job {
            let first = job_runs.iter().map(|run| run.scheduled_at).min().unwrap();
            let mut expected = first;
            while expected <= end {
                let rows: Vec<&&Run> =
                    job_runs.iter().filter(|run| run.scheduled_at == expected).collect();
                let succeeded =
                    rows.iter().filter(|run| run.status == RunStatus::Succeeded).count();
                if succeeded != 1 {
                    let described: Vec<String> = rows
                        .iter()
                        .map(|run| {
                            format!("{} attempt {} ({:?})", run.status, run.attempt, run.error)
                        })
                        .collect();
                    missing
                        .push(format!("{job} at {expected}: {succeeded} successes {described:?}"));
                }
                if let Some(run) = rows.first() {
                    let key = idempotency_key(run);
                    if !deliveries.get(&key).is_some_and(|list| list.iter().any(|d| d.answered)) {
                        missing.push(format!("{job} at {expected}: never delivered"));
                    }
                }
                expected += chrono::Duration::seconds(1);
            }
        }
        if !missing.is_empty() {
            self.problems.push(format!(
                "{} occurrences did not run exactly once: {:?}",
                missing.len(),
                &missing[..missing.len().min(10)]
            ));
        }
        let repeated: Vec<String> = deliveries
            .iter()
            .filter(|(_, list)| list.len() > 1)
            .map(|(key, list)| format!("{key}: {list:?}"))
            .collect();
        if !repeated.is_empty() {
            self.problems.push(format!(
                "{} occurrences were delivered more than once: {:?}",
                repeated.len(),
                &repeated[..repeated.len().min(10)]
            ));
        }
        for node in &self.nodes {
            let warnings = node.warnings();
            if warnings.len() > MAX_WARNINGS {
                self.problems.push(format!(
                    "{}: {} warning and error lines (at most {MAX_WARNINGS}); the first: {:#?}",
                    node.id,
                    warnings.len(),
                    &warnings[..10]
                ));
            }
        }
    }

    /// Fails the test with every problem found, keeping the logs for a look (also kept when
    /// `ROTA_KEEP_LOGS` is set).
    fn finish(self) {
        let Cluster { problems, logs, db, .. } = self;
        if problems.is_empty() {
            drop(db);
            if std::env::var_os("ROTA_KEEP_LOGS").is_some() {
                eprintln!("node logs kept in {}", logs.keep().display());
            }
            return;
        }
        let kept = logs.keep();
        panic!(
            "{} problems (node logs kept in {}):\n- {}",
            problems.len(),
            kept.display(),
            problems.join("\n- ")
        );
    }
}

fn idempotency_key(run: &Run) -> String {
    format!(
        "{}:{}",
        run.job_id.unwrap(),
        run.scheduled_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

/// The sum of a metric's samples in Prometheus text, or `None` if it is absent.
fn metric_value(text: &str, name: &str) -> Option<f64> {
    let samples: Vec<f64> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse().ok())
        .collect();
    (!samples.is_empty()).then(|| samples.iter().sum())
}

async fn fault_scenario(fault: Fault, length: Duration) {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let Some(mut cluster) = Cluster::start().await else { return };
    cluster.inflict(fault, length).await;
    cluster.check_metrics_saw_the_fault().await;
    let end = cluster.settle_and_stop().await;
    cluster.verify(end).await;
    cluster.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_shorter_than_the_lease_loses_nothing_and_repeats_nothing() {
    fault_scenario(Fault::Cut, LEASE * 5 / 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_longer_than_the_lease_loses_nothing_and_repeats_nothing() {
    fault_scenario(Fault::Cut, LEASE * 9 / 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_shorter_than_the_lease_loses_nothing_and_repeats_nothing() {
    fault_scenario(Fault::Freeze, LEASE * 5 / 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_longer_than_the_lease_loses_nothing_and_repeats_nothing() {
    fault_scenario(Fault::Freeze, LEASE * 9 / 4).await;
}

/// One node is told to stop a second into an outage longer than the lease, holding results it
/// could not record; the other keeps serving. The stopping node must wait for the database
/// (within its grace), record what it finished and hand back the rest; the other must not run
/// any of it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_during_shutdown_keeps_finished_results() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let Some(mut cluster) = Cluster::start().await else { return };
    let outage = LEASE * 3 / 2;
    cluster.wait_in_flight().await;
    let started = Instant::now();
    cluster.proxy.cut();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The node whose runs finished during the outage: their results wait in it.
    let mut waiting = Vec::new();
    for node in &cluster.nodes {
        waiting.push(metric_value(&node.metrics().await, "rota_results_waiting").unwrap_or(0.0));
    }
    let stopping = if waiting[0] >= waiting[1] { 0 } else { 1 };
    if waiting[stopping] < 1.0 {
        cluster
            .problems
            .push(format!("no node holds a result a second into the outage: {waiting:?}"));
    }
    cluster.nodes[stopping].terminate();
    let remaining = outage.saturating_sub(started.elapsed());
    // The stopping node no longer serves /healthz; the other one must report the outage.
    cluster.watch_unhealthy(Fault::Cut, Instant::now(), remaining, &[1 - stopping]).await;
    let node = &mut cluster.nodes[stopping];
    if let Some(status) = node.try_exit() {
        cluster.problems.push(format!(
            "{}: exited ({status}) during the outage instead of waiting for the database",
            node.id
        ));
    }
    cluster.proxy.pass();
    let node = &mut cluster.nodes[stopping];
    match node.wait_exit(Duration::from_secs(SHUTDOWN_GRACE_S)).await {
        Some(status) if status.success() => {}
        other => cluster.problems.push(format!(
            "{}: did not stop cleanly once the database was back: {other:?}",
            node.id
        )),
    }
    cluster.wait_healthy("after the outage", Duration::from_secs(15)).await;
    let end = cluster.settle_and_stop().await;
    cluster.verify(end).await;
    cluster.finish();
}
