//! The soak: two `rota serve` nodes on Postgres (through the fault proxy), HTTP and command
//! jobs of four tenants, failing jobs that auto-disable and notify, and a fault every few
//! minutes (an outage longer than the lease, a stall, a node killed with SIGKILL and started
//! again), with retention on, for `ROTA_SOAK_MINUTES` (default 5). Every minute it prints a
//! line: runs by status, occurrences lost and delivered twice, each node's resident memory,
//! the log size, and the tables' sizes; memory and tables must level off.
//!
//! Not part of `cargo test` (it is `#[ignore]`d): `cargo xtask soak [--minutes N]` runs it.
//! It fails if an occurrence was lost or delivered again after its delivery succeeded, except
//! the recoveries of a node that was killed (the same `Idempotency-Key`, a higher attempt, the
//! `recovery` trigger).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, Utc};
use rota::store::prelude::*;
use rota::store::{AnyStore, JobFilter};
use support::fault_proxy::FaultProxy;
use support::receiver::Receiver;
use support::serve_node::ServeNode;
use support::{rota_ok as rota, socket_address, Backend, TestDatabase};

const TENANTS: usize = 4;
/// HTTP jobs per tenant, each firing every [`HTTP_EVERY_S`] seconds.
const HTTP_JOBS: usize = 10;
const HTTP_EVERY_S: i64 = 2;
const LEASE_S: u64 = 6;
/// Retention as a long-running node would have it, compressed: runs older than this go.
const KEEP_RUNS: &str = "3min";
/// One fault per this many minutes, in turn: outage, stall, kill.
const FAULT_EVERY_MIN: u64 = 2;

fn minutes() -> u64 {
    std::env::var("ROTA_SOAK_MINUTES").ok().and_then(|text| text.parse().ok()).unwrap_or(5)
}

/// The faults, in turn.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Every connection closed and new ones refused for longer than the lease.
    Outage,
    /// Traffic frozen, nothing closed, for most of the lease.
    Stall,
    /// One node killed with SIGKILL, started again 5 s later with the same id.
    Kill,
}

struct Sample {
    minute: u64,
    runs_by_status: BTreeMap<String, u64>,
    lost: usize,
    repeated: usize,
    resident_mib: Vec<f64>,
    log_kib: u64,
    table_kib: BTreeMap<String, u64>,
}

struct Soak {
    db: TestDatabase,
    store: AnyStore,
    url: String,
    proxy: FaultProxy,
    receiver: Receiver,
    webhooks: Receiver,
    nodes: Vec<ServeNode>,
    logs: tempfile::TempDir,
    node_args: Vec<String>,
    /// The HTTP jobs that must run every time: job id → its first second delivered.
    http_jobs: BTreeSet<String>,
    started: DateTime<Utc>,
    /// When nodes were killed: repeats of runs that were in flight then are recoveries.
    kills: Vec<DateTime<Utc>>,
}

impl Soak {
    async fn start(total: Duration) -> Soak {
        let db = TestDatabase::create(Backend::Postgres).await.expect("the soak needs Postgres");
        let store = db.store().await;
        let lifetime = total + Duration::from_secs(300);
        let receiver = Receiver::start(Duration::from_millis(100), lifetime).await;
        let webhooks = Receiver::start(Duration::ZERO, lifetime).await;
        for tenant in 0..TENANTS {
            let name = format!("tenant-{tenant}");
            rota(&db.url, &["tenant", "add", &name, "--max-concurrent", "16"]);
            let webhook = webhooks.url();
            rota(
                &db.url,
                &[
                    "tenant",
                    "set",
                    &name,
                    "--webhook-url",
                    &webhook,
                    "--webhook-secret",
                    "soak-secret",
                ],
            );
            // Command jobs run as an unprivileged user, as a root daemon requires.
            rota(&db.url, &["tenant", "set", &name, "--run-as", "nobody"]);
            for index in 0..HTTP_JOBS {
                let schedule = format!("*/{HTTP_EVERY_S} * * * * *");
                rota(
                    &db.url,
                    &[
                        "job",
                        "add",
                        "--tenant",
                        &name,
                        "--name",
                        &format!("http-{index}"),
                        "--schedule",
                        &schedule,
                        "--timeout",
                        "10",
                        "--overlap",
                        "allow",
                        "--http-url",
                        &receiver.url(),
                    ],
                );
            }
            rota(
                &db.url,
                &[
                    "job",
                    "add",
                    "--tenant",
                    &name,
                    "--name",
                    "command",
                    "--schedule",
                    "*/10 * * * * *",
                    "--timeout",
                    "10",
                    "--command",
                    "/bin/true",
                ],
            );
            // Fails every time (nothing listens there): auto-disabled after three failed
            // occurrences, which notifies the tenant; the soak enables it again each minute.
            rota(
                &db.url,
                &[
                    "job",
                    "add",
                    "--tenant",
                    &name,
                    "--name",
                    "failing",
                    "--schedule",
                    "*/5 * * * * *",
                    "--timeout",
                    "5",
                    "--max-retries",
                    "0",
                    "--auto-disable-after",
                    "3",
                    "--http-url",
                    "http://127.0.0.1:9/unreachable",
                ],
            );
        }
        let jobs = store.list_jobs(&JobFilter::default()).await.expect("jobs");
        let http_jobs =
            jobs.iter().filter(|job| job.name.starts_with("http-")).map(|job| job.id.to_string());
        let proxy = FaultProxy::start(socket_address(&db.url)).await;
        let url = proxy.url_for(&db.url);
        let logs = tempfile::tempdir().expect("log dir");
        let node_args: Vec<String> = [
            "--workers",
            "16",
            "--lease-ttl",
            &LEASE_S.to_string(),
            "--shutdown-grace",
            "20",
            "--keep-runs",
            KEEP_RUNS,
            "--keep-last-runs",
            "5",
            "--keep-notifications",
            KEEP_RUNS,
            "--retention-every",
            "30s",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect();
        let mut soak = Soak {
            started: rota::clock::Clock::now(&rota::clock::SystemClock),
            http_jobs: http_jobs.collect(),
            db,
            store,
            url,
            proxy,
            receiver,
            webhooks,
            nodes: Vec::new(),
            logs,
            node_args,
            kills: Vec::new(),
        };
        for id in ["soak-a", "soak-b"] {
            let node = soak.start_node(id);
            soak.nodes.push(node);
        }
        soak
    }

    fn start_node(&self, id: &str) -> ServeNode {
        let args: Vec<&str> = self.node_args.iter().map(String::as_str).collect();
        ServeNode::start(&self.url, id, self.logs.path(), &args)
    }

    async fn inflict(&mut self, fault: Fault) {
        eprintln!("{:>6} fault: {fault:?}", self.elapsed_label());
        match fault {
            Fault::Outage => {
                self.proxy.cut();
                tokio::time::sleep(Duration::from_secs(LEASE_S * 3 / 2)).await;
                self.proxy.pass();
            }
            Fault::Stall => {
                self.proxy.freeze();
                tokio::time::sleep(Duration::from_secs(LEASE_S * 2 / 3)).await;
                self.proxy.pass();
            }
            Fault::Kill => {
                self.kills.push(rota::clock::Clock::now(&rota::clock::SystemClock));
                self.nodes[1].kill();
                tokio::time::sleep(Duration::from_secs(5)).await;
                self.nodes[1] = self.start_node("soak-b");
            }
        }
    }

    fn elapsed_label(&self) -> String {
        let seconds =
            (rota::clock::Clock::now(&rota::clock::SystemClock) - self.started).num_seconds();
        format!("{}:{:02}", seconds / 60, seconds % 60)
    }

    /// Auto-disabled jobs are enabled again, so that failures and notifications keep coming.
    fn enable_failing_jobs(&self) {
        for tenant in 0..TENANTS {
            let tenant = format!("tenant-{tenant}");
            rota(&self.db.url, &["job", "enable", "--tenant", &tenant, "--name", "failing"]);
        }
    }

    /// Occurrences of the HTTP jobs from their first delivery to `until` never delivered, and
    /// those delivered again after a delivery succeeded, other than recoveries after a kill.
    fn lost_and_repeated(&self, until: DateTime<Utc>) -> (Vec<String>, Vec<String>) {
        let deliveries = self.receiver.deliveries();
        let mut seconds_by_job: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
        let mut repeated = Vec::new();
        for (key, list) in &deliveries {
            let Some((job, at)) = key.split_once(':') else { continue };
            let Ok(at) = DateTime::parse_from_rfc3339(at) else { continue };
            seconds_by_job.entry(job).or_default().insert(at.timestamp());
            let succeeded = list.iter().position(|delivery| delivery.answered);
            if let Some(first) = succeeded {
                let again: Vec<_> = list[first + 1..]
                    .iter()
                    .filter(|delivery| delivery.trigger != "recovery")
                    .collect();
                if !again.is_empty() {
                    repeated.push(format!("{key}: {list:?}"));
                }
            }
        }
        let mut lost = Vec::new();
        for job in &self.http_jobs {
            let Some(seen) = seconds_by_job.get(job.as_str()) else {
                lost.push(format!("{job}: never delivered"));
                continue;
            };
            let first = *seen.first().unwrap();
            let mut second = first;
            while second <= until.timestamp() {
                if !seen.contains(&second) {
                    lost.push(format!("{job} at {second}"));
                }
                second += HTTP_EVERY_S;
            }
        }
        (lost, repeated)
    }

    async fn sample(&self, minute: u64) -> Sample {
        let until = rota::clock::Clock::now(&rota::clock::SystemClock)
            .duration_trunc(chrono::Duration::seconds(1))
            .unwrap()
            - chrono::Duration::seconds(20);
        let (lost, repeated) = self.lost_and_repeated(until);
        let mut runs_by_status = BTreeMap::new();
        let mut table_kib = BTreeMap::new();
        {
            use sqlx::Connection;
            let mut connection = sqlx::PgConnection::connect(&self.db.url).await.expect("connect");
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT status, COUNT(*) FROM runs GROUP BY status")
                    .fetch_all(&mut connection)
                    .await
                    .expect("count runs");
            for (status, count) in rows {
                runs_by_status.insert(status, count as u64);
            }
            let rows: Vec<(String, i64)> = sqlx::query_as(
                "SELECT relname::text, pg_total_relation_size(oid) FROM pg_class \
                 WHERE relname IN ('runs', 'outbox', 'deliveries', 'audit_log', 'jobs')",
            )
            .fetch_all(&mut connection)
            .await
            .expect("table sizes");
            for (table, bytes) in rows {
                table_kib.insert(table, bytes as u64 / 1024);
            }
            let _ = connection.close().await;
        }
        Sample {
            minute,
            runs_by_status,
            lost: lost.len(),
            repeated: repeated.len(),
            resident_mib: self
                .nodes
                .iter()
                .map(|node| node.resident_kib().unwrap_or(0) as f64 / 1024.0)
                .collect(),
            log_kib: self.nodes.iter().map(ServeNode::log_bytes).sum::<u64>() / 1024,
            table_kib,
        }
    }
}

fn table(samples: &[Sample]) -> String {
    let tables: BTreeSet<&String> = samples.iter().flat_map(|s| s.table_kib.keys()).collect();
    let mut text = String::from("| min | runs (succeeded/failed/lost/other) | lost | twice | RSS a MiB | RSS b MiB | log KiB |");
    for table in &tables {
        let _ = write!(text, " {table} KiB |");
    }
    text.push('\n');
    text.push_str(&"|---".repeat(7 + tables.len()));
    text.push_str("|\n");
    for sample in samples {
        let count = |status: &str| sample.runs_by_status.get(status).copied().unwrap_or(0);
        let total: u64 = sample.runs_by_status.values().sum();
        let other = total - count("succeeded") - count("failed") - count("lost");
        let _ = write!(
            text,
            "| {} | {}/{}/{}/{} | {} | {} | {:.1} | {:.1} | {} |",
            sample.minute,
            count("succeeded"),
            count("failed"),
            count("lost"),
            other,
            sample.lost,
            sample.repeated,
            sample.resident_mib.first().copied().unwrap_or_default(),
            sample.resident_mib.get(1).copied().unwrap_or_default(),
            sample.log_kib,
        );
        for table in &tables {
            let _ = write!(text, " {} |", sample.table_kib.get(*table).copied().unwrap_or(0));
        }
        text.push('\n');
    }
    text
}

/// Whether the second half's peak is within 25% (plus `slack`) of the first half's: the
/// figure levelled off instead of growing with time.
fn levels_off(values: &[f64], slack: f64) -> bool {
    if values.len() < 4 {
        return true;
    }
    let half = values.len() / 2;
    let peak = |slice: &[f64]| slice.iter().copied().fold(0.0_f64, f64::max);
    peak(&values[half..]) <= peak(&values[..half]) * 1.25 + slack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs for minutes: `cargo xtask soak [--minutes N]`"]
async fn soak() {
    let minutes = minutes();
    let total = Duration::from_secs(minutes * 60);
    eprintln!(
        "soak: {minutes} min, two nodes, {TENANTS} tenants, faults every {FAULT_EVERY_MIN} min"
    );
    let mut soak = Soak::start(total).await;
    let began = Instant::now();
    let faults = [Fault::Outage, Fault::Stall, Fault::Kill];
    let mut samples = Vec::new();
    for minute in 1..=minutes {
        let mark = Duration::from_secs(minute * 60);
        if minute % FAULT_EVERY_MIN == 0 && minute < minutes {
            // A fault in the middle of the minute.
            tokio::time::sleep((mark - Duration::from_secs(30)).saturating_sub(began.elapsed()))
                .await;
            let fault = faults[(minute / FAULT_EVERY_MIN - 1) as usize % faults.len()];
            soak.inflict(fault).await;
        }
        tokio::time::sleep(mark.saturating_sub(began.elapsed())).await;
        soak.enable_failing_jobs();
        let sample = soak.sample(minute).await;
        eprintln!(
            "{:>6} runs {:?} lost {} twice {} RSS {:?} MiB log {} KiB tables {:?} KiB",
            soak.elapsed_label(),
            sample.runs_by_status,
            sample.lost,
            sample.repeated,
            sample.resident_mib,
            sample.log_kib,
            sample.table_kib
        );
        samples.push(sample);
    }
    // The last occurrences finish, then both nodes stop cleanly.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let end = rota::clock::Clock::now(&rota::clock::SystemClock)
        .duration_trunc(chrono::Duration::seconds(1))
        .unwrap()
        - chrono::Duration::seconds(10);
    for node in &soak.nodes {
        node.terminate();
    }
    let mut problems = Vec::new();
    for node in &mut soak.nodes {
        if !node.wait_exit(Duration::from_secs(40)).await.is_some_and(|status| status.success()) {
            problems.push(format!("{} did not stop cleanly", node.id));
        }
    }
    let (lost, repeated) = soak.lost_and_repeated(end);
    let report = table(&samples);
    println!("\n{report}");
    if let Ok(path) = std::env::var("ROTA_SOAK_TABLE") {
        std::fs::write(&path, &report).expect("write the table");
    }
    let notifications = soak.webhooks.count();
    println!("notifications delivered to the tenants' webhook: {notifications}");
    for (index, node) in ["a", "b"].iter().enumerate() {
        let resident: Vec<f64> = samples.iter().map(|s| s.resident_mib[index]).collect();
        println!("node {node}: resident memory levels off: {}", levels_off(&resident, 8.0));
    }
    let runs_kib: Vec<f64> =
        samples.iter().map(|s| s.table_kib.get("runs").copied().unwrap_or(0) as f64).collect();
    println!("runs table levels off: {}", levels_off(&runs_kib, 512.0));
    println!("node kills: {}", soak.kills.len());
    if !lost.is_empty() {
        problems.push(format!(
            "{} occurrences lost: {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        ));
    }
    if !repeated.is_empty() {
        problems.push(format!(
            "{} occurrences delivered again after a success (not a recovery): {:?}",
            repeated.len(),
            &repeated[..repeated.len().min(10)]
        ));
    }
    if notifications == 0 {
        problems.push("no notification reached the tenants' webhook".to_owned());
    }
    if !problems.is_empty() {
        let kept = soak.logs.keep();
        panic!(
            "{} problems (logs in {}):\n- {}",
            problems.len(),
            kept.display(),
            problems.join("\n- ")
        );
    }
    soak.store.close().await;
}
