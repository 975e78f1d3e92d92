//! The engine on both backends, on virtual time: firing, catch-up after downtime, fairness, and
//! several engines sharing one database without double runs or exceeded limits.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::api::TenantUpdate;
use rota::api::{JobPolicy, JobRef, Rota, TenantPolicy};
use rota::clock::{Clock, ManualClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{Envelope, Handler, HandlerRegistry, HandlerSpec, Outcome};
use rota::health::LoopName;
use rota::job::JobDefinition;
use rota::run::{RunStatus, Trigger};
use rota::store::{AnyStore, RunFilter};
use rota::tenant::NewTenant;
use tokio_util::sync::CancellationToken;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// One execution as the handler saw it: job, scheduled instant, trigger, attempt.
type Execution = (String, DateTime<Utc>, Trigger, u32);

/// An in-process handler that measures what the engine did: how many runs of each tenant were
/// executing at once (the real concurrency, not what the database claims), and every
/// occurrence it executed.
#[derive(Default)]
struct Probe {
    running: Mutex<HashMap<String, u32>>,
    max_running: Mutex<HashMap<String, u32>>,
    executed: Mutex<Vec<Execution>>,
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl Handler for Probe {
    async fn run(&self, envelope: &Envelope, _cancel: CancellationToken) -> Outcome {
        {
            let mut running = self.running.lock().unwrap();
            let now = running.entry(envelope.tenant.clone()).or_default();
            *now += 1;
            let mut max = self.max_running.lock().unwrap();
            let max = max.entry(envelope.tenant.clone()).or_default();
            *max = (*max).max(*now);
        }
        // Long enough for runs of one tenant to overlap if the engine let them.
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.executed.lock().unwrap().push((
            envelope.job.clone(),
            envelope.scheduled_for,
            envelope.trigger,
            envelope.attempt,
        ));
        self.calls.fetch_add(1, Ordering::Relaxed);
        *self.running.lock().unwrap().get_mut(&envelope.tenant).unwrap() -= 1;
        Outcome::succeeded("ok")
    }
}

fn registry(probe: &Arc<Probe>) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register("probe", probe.clone()).unwrap();
    registry
}

fn job(name: &str, schedule: &str) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: schedule.into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Named { name: "probe".into() },
        payload: serde_json::json!({"job": name}),
        timeout: Duration::from_secs(30),
    }
}

fn engine(
    store: &AnyStore,
    clock: &ManualClock,
    node: &str,
    workers: u32,
    probe: &Arc<Probe>,
) -> Engine<AnyStore> {
    let mut config = EngineConfig::new(node);
    config.workers = workers;
    let clock: Arc<dyn Clock> = Arc::new(clock.clone());
    Engine::with_registry(store.clone(), clock, config, registry(probe))
}

/// Runs `engine` (`Engine::run`) on a task of its own until the token returned is cancelled.
fn run_in_background(
    engine: &Engine<AnyStore>,
) -> (CancellationToken, tokio::task::JoinHandle<rota::error::Result<()>>) {
    let shutdown = CancellationToken::new();
    let running = tokio::spawn({
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        async move { engine.run(shutdown).await }
    });
    (shutdown, running)
}

/// Claims, executes and records until `engines` find nothing more to run at this instant.
async fn run_until_quiet(engines: &[Engine<AnyStore>]) {
    loop {
        let started: usize = futures::future::join_all(engines.iter().map(|engine| async move {
            let started = engine.dispatch_once().await.unwrap();
            engine.wait_idle().await;
            engine.record_results_once().await.unwrap();
            started
        }))
        .await
        .into_iter()
        .sum();
        if started == 0 {
            break;
        }
    }
}

backend_test!(fires_on_time_and_catches_up_once_after_downtime, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
    let probe = Arc::new(Probe::default());
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry(&probe));
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    let created = rota
        .add_job("acme", &job("every-five", "*/5 * * * *"), &JobPolicy::default())
        .await
        .unwrap();
    assert_eq!(created.next_run_at, Some(at("2027-01-01T10:05:00Z")));
    let engine = engine(&store, &clock, "node-a", 4, &probe);

    // Nothing is due before the first occurrence.
    clock.set(at("2027-01-01T10:04:59Z"));
    assert_eq!(engine.tick_once().await.unwrap().enqueued, 0);

    clock.set(at("2027-01-01T10:05:00Z"));
    assert_eq!(engine.tick_once().await.unwrap().enqueued, 1);
    // A second tick at the same instant finds nothing new.
    assert_eq!(engine.tick_once().await.unwrap().enqueued, 0);
    run_until_quiet(std::slice::from_ref(&engine)).await;
    let runs = rota.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].scheduled_at, at("2027-01-01T10:05:00Z"));
    assert_eq!(runs[0].trigger, Trigger::Schedule);

    // A three-hour outage: one catch-up run for the latest occurrence, then back on schedule.
    clock.set(at("2027-01-01T13:07:30Z"));
    assert_eq!(engine.tick_once().await.unwrap().enqueued, 1);
    run_until_quiet(std::slice::from_ref(&engine)).await;
    let job = rota.job(JobRef::named("acme", "every-five")).await.unwrap();
    assert_eq!(job.next_run_at, Some(at("2027-01-01T13:10:00Z")));
    let executed = probe.executed.lock().unwrap().clone();
    let scheduled: Vec<_> = executed.iter().map(|(_, at, _, _)| *at).collect();
    assert_eq!(scheduled, vec![at("2027-01-01T10:05:00Z"), at("2027-01-01T13:05:00Z")]);
});

backend_test!(a_flooding_tenant_does_not_delay_another_tenants_run, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
    let probe = Arc::new(Probe::default());
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry(&probe));
    rota.add_tenant(
        &NewTenant { name: "flood".into(), max_concurrent: 100, weight: 1 },
        &TenantPolicy::default(),
    )
    .await
    .unwrap();
    rota.add_tenant(&NewTenant::named("light"), &TenantPolicy::default()).await.unwrap();
    rota.add_job("flood", &job("bulk", "0 0 1 1 *"), &JobPolicy::default()).await.unwrap();
    rota.add_job("light", &job("report", "0 0 1 1 *"), &JobPolicy::default()).await.unwrap();
    for _ in 0..300 {
        rota.trigger(JobRef::named("flood", "bulk"), None).await.unwrap();
    }
    clock.advance(chrono::Duration::seconds(1));
    rota.trigger(JobRef::named("light", "report"), None).await.unwrap();

    // The light tenant's single run is in the very first dispatch round of a small engine.
    let engine = engine(&store, &clock, "node-a", 4, &probe);
    assert_eq!(engine.dispatch_once().await.unwrap(), 4);
    engine.wait_idle().await;
    engine.record_results_once().await.unwrap();
    let first_round: Vec<_> =
        probe.executed.lock().unwrap().iter().map(|(job, ..)| job.clone()).collect();
    assert!(first_round.contains(&"report".to_owned()), "first round was {first_round:?}");
});

backend_test!(several_engines_run_every_occurrence_exactly_once_within_limits, |db| {
    let store = db.store().await;
    let start = at("2027-01-01T00:00:00Z");
    let clock = ManualClock::new(start);
    let probe = Arc::new(Probe::default());
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry(&probe));
    let limits = [("alpha", 1), ("beta", 2), ("gamma", 3)];
    let jobs_per_tenant = 6;
    for (tenant, max_concurrent) in limits {
        rota.add_tenant(
            &NewTenant { name: tenant.into(), max_concurrent, weight: 1 },
            &TenantPolicy::default(),
        )
        .await
        .unwrap();
        for index in 0..jobs_per_tenant {
            // Every second (six-field expression), so each step of the clock makes work.
            rota.add_job(
                tenant,
                &job(&format!("{tenant}-{index}"), "* * * * * *"),
                &JobPolicy::default(),
            )
            .await
            .unwrap();
        }
    }
    // Four engines, each with its own connection pool, as four processes would have.
    let mut engines = Vec::new();
    for node in 0..4 {
        let store = AnyStore::connect(&db.url).await.unwrap();
        engines.push(engine(&store, &clock, &format!("node-{node}"), 3, &probe));
    }
    let seconds = 120;
    for _ in 0..seconds {
        clock.advance(chrono::Duration::seconds(1));
        futures::future::join_all(engines.iter().map(|engine| engine.tick_once())).await;
        run_until_quiet(&engines).await;
    }

    let executed = probe.executed.lock().unwrap().clone();
    let expected = limits.len() * jobs_per_tenant * seconds;
    let mut seen = HashMap::new();
    for (job, scheduled, _, _) in &executed {
        *seen.entry((job.clone(), *scheduled)).or_insert(0u32) += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, count)| **count > 1).collect();
    assert!(repeated.is_empty(), "occurrences run more than once: {repeated:?}");
    assert_eq!(seen.len(), expected, "every occurrence runs");
    let max_running = probe.max_running.lock().unwrap().clone();
    for (tenant, limit) in limits {
        let observed = max_running.get(tenant).copied().unwrap_or(0);
        assert!(observed <= limit, "{tenant} ran {observed} at once, limit {limit}");
    }
    let succeeded = rota
        .list_runs(&RunFilter {
            status: Some(RunStatus::Succeeded),
            limit: Some(100_000),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(succeeded.len(), expected);
});

/// Records the wall-clock instant each run's handler was entered.
#[derive(Default)]
struct StartTimes {
    entered: Mutex<Vec<(DateTime<Utc>, DateTime<Utc>)>>,
}

#[async_trait::async_trait]
impl Handler for StartTimes {
    async fn run(&self, envelope: &Envelope, _cancel: CancellationToken) -> Outcome {
        let now = rota::clock::SystemClock.now();
        self.entered.lock().unwrap().push((envelope.scheduled_for, now));
        Outcome::succeeded("ok")
    }
}

// On the wall clock: the running engine queues occurrences 250 ms ahead and, with a claim-ahead
// longer than that, claims them at once; each still starts on its instant, never before, and
// its recorded start is that instant.
backend_test!(runs_claimed_ahead_start_on_their_instant_never_before, |db| {
    let store = db.store().await;
    let clock: Arc<dyn Clock> = Arc::new(rota::clock::SystemClock);
    let starts = Arc::new(StartTimes::default());
    let mut registry = HandlerRegistry::new();
    registry.register("probe", starts.clone()).unwrap();
    let rota = Rota::new(store.clone(), clock.clone()).with_registry(registry.clone());
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    rota.add_job("acme", &job("every-second", "* * * * * *"), &JobPolicy::default()).await.unwrap();
    let mut config = EngineConfig::new("node-a");
    config.claim_ahead = Duration::from_secs(2);
    let engine = Engine::with_registry(store.clone(), clock, config, registry);
    let (shutdown, running) = run_in_background(&engine);
    tokio::time::sleep(Duration::from_millis(4_200)).await;
    shutdown.cancel();
    running.await.unwrap().unwrap();

    let entered = starts.entered.lock().unwrap().clone();
    assert!(entered.len() >= 3, "about four occurrences in 4.2 s, got {entered:?}");
    for (scheduled, at) in &entered {
        assert!(at >= scheduled, "started {at} before its instant {scheduled}");
    }
    let runs = rota
        .list_runs(&RunFilter { status: Some(RunStatus::Succeeded), ..RunFilter::default() })
        .await
        .unwrap();
    assert!(runs.len() >= 3);
    // Never recorded as started early. A run claimed ahead records its instant; one the
    // machine was too busy to queue or claim before its instant (the first, right after the
    // start, or any on a loaded machine) records the claim. The ticker queues 250 ms ahead, so
    // on any but a stalled machine most are claimed ahead.
    for run in &runs {
        assert!(run.started_at >= Some(run.scheduled_at), "recorded early: {run:?}");
    }
    let claimed_ahead = runs.iter().filter(|run| run.started_at == Some(run.scheduled_at)).count();
    assert!(claimed_ahead >= 1, "none claimed ahead: {runs:?}");
});

// A tick that looks ahead queues the occurrence early, ready at its instant, and records when
// it really queued it (not the instant it looked ahead to).
backend_test!(a_tick_ahead_records_when_it_queued_and_readies_the_run_at_its_instant, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:04:59.800Z"));
    let probe = Arc::new(Probe::default());
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry(&probe));
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    rota.add_job("acme", &job("every-five", "*/5 * * * *"), &JobPolicy::default()).await.unwrap();
    let engine = engine(&store, &clock, "node-a", 4, &probe);

    let report = engine.tick_until(at("2027-01-01T10:05:00.050Z")).await.unwrap();
    assert_eq!(report.enqueued, 1);
    let runs = rota.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].scheduled_at, at("2027-01-01T10:05:00Z"));
    assert_eq!(runs[0].queued_at, at("2027-01-01T10:04:59.800Z"));
    assert_eq!(runs[0].not_before, at("2027-01-01T10:05:00Z"));
    // Not claimable before its instant.
    assert_eq!(engine.dispatch_once().await.unwrap(), 0);
});

// A claim whose COMMIT succeeded but whose answer the node never received (the connection
// dropped at that moment) leaves runs `running` under the node's id that it is not executing.
// Before: lease maintenance renewed every run the node owned, so such a run was renewed forever
// and never ran. Now only the runs the node holds are renewed; the orphan expires and is
// recovered.
backend_test!(a_run_claimed_for_this_node_but_never_received_is_not_renewed_forever, |db| {
    use rota::store::prelude::*;
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
    let probe = Arc::new(Probe::default());
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry(&probe));
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    rota.add_job("acme", &job("manual", "0 0 1 1 *"), &JobPolicy::default()).await.unwrap();
    rota.trigger(JobRef::named("acme", "manual"), None).await.unwrap();
    let engine = engine(&store, &clock, "node-a", 4, &probe);
    engine.register().await.unwrap();
    let ttl = EngineConfig::new("node-a").lease_ttl;
    // The claim lands in the database, its answer never reaches the engine.
    let orphan = store.claim("node-a", clock.now(), 1, ttl).await.unwrap();
    assert_eq!(orphan.len(), 1);

    // The node keeps maintaining its leases well past the lease.
    for _ in 0..6 {
        clock.advance(chrono::TimeDelta::from_std(ttl / 3).unwrap());
        engine.maintain_once().await.unwrap();
    }
    let recovered = store.recover_expired(clock.now()).await.unwrap();
    assert_eq!(
        recovered.iter().map(|run| run.id).collect::<Vec<_>>(),
        vec![orphan[0].run.id],
        "the orphaned run expired and is recovered"
    );
    // Its next attempt runs.
    run_until_quiet(std::slice::from_ref(&engine)).await;
    let runs = rota.list_runs(&RunFilter::default()).await.unwrap();
    assert!(
        runs.iter().any(|run| run.status == RunStatus::Succeeded && run.attempt == 2),
        "{runs:?}"
    );
});

/// Runs of the job `held` wait until `release` is cancelled; every other run succeeds at once.
/// Each execution is noted by run id.
#[derive(Default)]
struct Gate {
    release: CancellationToken,
    executing: CancellationToken,
    executed: Mutex<Vec<uuid::Uuid>>,
}

#[async_trait::async_trait]
impl Handler for Gate {
    async fn run(&self, envelope: &Envelope, cancel: CancellationToken) -> Outcome {
        self.executed.lock().unwrap().push(envelope.run_id);
        if envelope.job == "held" {
            self.executing.cancel();
            tokio::select! {
                () = self.release.cancelled() => {}
                () = cancel.cancelled() => return Outcome::failed("stopped"),
            }
        }
        Outcome::succeeded("ok")
    }
}

/// Holds the engine's next record-and-claim cycle in flight, the way each backend can be caught
/// mid-cycle: on SQLite a connection of the test's own holds the write lock, so the cycle waits
/// for it inside the hot path's thread (which runs it to the end once the lock is free, whatever
/// the engine did meanwhile); on Postgres a deferred trigger makes the commit of a claim take
/// `commit_s` seconds (a COMMIT that was sent lands, whatever the client does meanwhile).
enum CycleHold {
    Sqlite(sqlx::SqliteConnection),
    Postgres { connection: sqlx::PgConnection, commit_s: f64 },
}

impl CycleHold {
    async fn prepare(db: &support::TestDatabase, commit_s: f64) -> CycleHold {
        use sqlx::Connection;
        match db.backend {
            support::Backend::Sqlite => {
                CycleHold::Sqlite(sqlx::SqliteConnection::connect(&db.url).await.unwrap())
            }
            support::Backend::Postgres => {
                let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
                for statement in [
                    "CREATE TABLE slow_commits (seconds DOUBLE PRECISION NOT NULL)",
                    "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN PERFORM pg_sleep(seconds) FROM slow_commits; RETURN NULL; END $$",
                    // At COMMIT, once per claimed run.
                    "CREATE CONSTRAINT TRIGGER slow_commit AFTER UPDATE ON runs \
                     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
                     WHEN (OLD.status = 'queued' AND NEW.status = 'running') \
                     EXECUTE FUNCTION slow_commit()",
                ] {
                    sqlx::query(statement).execute(&mut connection).await.unwrap();
                }
                CycleHold::Postgres { connection, commit_s }
            }
        }
    }

    /// From now on, the engine's cycles cannot finish: on SQLite until [`Self::release`], on
    /// Postgres for `commit_s` each. `resume` (SQLite only) is a tenant to resume in the
    /// same transaction: a claim waiting for the lock then finds its runs.
    async fn hold(&mut self, resume: Option<&str>) {
        match self {
            CycleHold::Sqlite(connection) => {
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await.unwrap();
                if let Some(tenant) = resume {
                    sqlx::query("UPDATE tenants SET paused = 0 WHERE name = $1")
                        .bind(tenant)
                        .execute(&mut *connection)
                        .await
                        .unwrap();
                }
            }
            CycleHold::Postgres { connection, commit_s } => {
                assert!(resume.is_none(), "on Postgres, claims are held at their commit");
                sqlx::query("INSERT INTO slow_commits VALUES ($1)")
                    .bind(*commit_s)
                    .execute(&mut *connection)
                    .await
                    .unwrap();
            }
        }
    }

    /// Waits until a cycle of `engine` is held, with `results` results waiting in it. On SQLite
    /// the dispatcher is the only loop that writes meanwhile (see `MidCycle::start`), so a
    /// call waiting is its cycle, waiting for the lock; on Postgres a backend sleeps in a
    /// claim's commit.
    async fn wait_until_held(&mut self, engine: &Engine<AnyStore>, results: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let held = engine.results_waiting() == results
                && match self {
                    CycleHold::Sqlite(_) => {
                        engine.health().report().database.longest_wait_s.is_some()
                    }
                    CycleHold::Postgres { connection, .. } => {
                        sleeping_commits(connection).await > 0
                    }
                };
            if held {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "no cycle in flight within 10 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Lets held cycles finish, and waits until no cycle is held any more.
    async fn release(&mut self) {
        match self {
            CycleHold::Sqlite(connection) => {
                sqlx::query("COMMIT").execute(&mut *connection).await.unwrap();
            }
            CycleHold::Postgres { connection, .. } => {
                sqlx::query("DELETE FROM slow_commits").execute(&mut *connection).await.unwrap();
                // A commit already sleeping finishes its sleep.
                while sleeping_commits(connection).await > 0 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }
}

/// Postgres backends of this database sleeping in a held commit.
async fn sleeping_commits(connection: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event = 'PgSleep'",
    )
    .fetch_one(connection)
    .await
    .unwrap()
}

/// Polls `condition` every 10 ms for up to `limit`; panics with `what` if it never holds.
async fn wait_for<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Tenant `acme` with the jobs `held` and `queued` (run by triggers, executed by a [`Gate`]), an
/// engine running on it with one worker slot and a shutdown grace, and a [`CycleHold`].
struct MidCycle {
    rota: Rota<AnyStore>,
    engine: Engine<AnyStore>,
    gate: Arc<Gate>,
    hold: CycleHold,
    shutdown: CancellationToken,
    running: tokio::task::JoinHandle<rota::Result<()>>,
}

impl MidCycle {
    async fn start(db: &support::TestDatabase, grace: Duration, commit_s: f64) -> MidCycle {
        let store = db.store().await;
        let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
        let gate = Arc::new(Gate::default());
        let mut registry = HandlerRegistry::new();
        registry.register("gate", gate.clone()).unwrap();
        let rota =
            Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry.clone());
        rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
        for name in ["held", "queued"] {
            let mut definition = job(name, "0 0 1 1 *");
            definition.handler = HandlerSpec::Named { name: "gate".into() };
            rota.add_job("acme", &definition, &JobPolicy::default()).await.unwrap();
        }
        let hold = CycleHold::prepare(db, commit_s).await;
        let mut config = EngineConfig::new("node-a");
        // One slot: while `held` runs, nothing else is claimed.
        config.workers = 1;
        // Once started, the dispatcher is the only loop that writes (the tick, the lease
        // maintenance and the reaper write at the start, then every minute or 100 s).
        config.idle_recheck = Duration::from_secs(60);
        config.lease_ttl = Duration::from_secs(300);
        config.shutdown_grace = grace;
        let engine = Engine::with_registry(store, Arc::new(clock), config, registry);
        let (shutdown, running) = run_in_background(&engine);
        MidCycle { rota, engine, gate, hold, shutdown, running }
    }
}

/// The engine is told to stop while its dispatcher's record-and-claim cycle is in flight: the
/// cycle's transaction commits (see [`CycleHold`]), claiming `queued` for this node and, when
/// `with_result`, recording the result of the run `held`. Whatever the cycle did must be
/// finished or handed back when `run` returns: no run left `running`, each run succeeded once
/// or is queued again (executed at most once), no result counted as fenced out, no error.
///
/// Before, the dispatcher dropped the cycle at the shutdown. On Postgres a claim's COMMIT
/// already sent landed after the hand-back had released this node's runs (`RELEASE` passes
/// over rows that are still `queued` in its snapshot), and the claimed run stayed `running`,
/// leased to a stopped node, until its lease expired.
async fn shutdown_mid_cycle(db: support::TestDatabase, with_result: bool) {
    let MidCycle { rota, engine, gate, mut hold, shutdown, running } =
        MidCycle::start(&db, Duration::from_secs(10), 3.0).await;
    let held = rota.trigger(JobRef::named("acme", "held"), None).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), gate.executing.cancelled())
        .await
        .expect("`held` starts");
    let sqlite = db.backend == support::Backend::Sqlite;
    if with_result {
        // Queued behind `held` (no free slot): the cycle that records `held` claims it.
        rota.trigger(JobRef::named("acme", "queued"), None).await.unwrap();
        hold.hold(None).await;
        gate.release.cancel();
    } else {
        gate.release.cancel();
        wait_for("`held` recorded", Duration::from_secs(10), || async {
            rota.run(held.id).await.unwrap().status == RunStatus::Succeeded
        })
        .await;
        if sqlite {
            // Queued while its tenant is paused; resumed in the transaction holding the lock,
            // so the claim waiting for the lock takes it.
            let pause = TenantUpdate { paused: Some(true), ..TenantUpdate::default() };
            rota.update_tenant("acme", &pause, None).await.unwrap();
            rota.trigger(JobRef::named("acme", "queued"), None).await.unwrap();
            hold.hold(Some("acme")).await;
        } else {
            hold.hold(None).await;
            rota.trigger(JobRef::named("acme", "queued"), None).await.unwrap();
            engine.notify_runs_queued();
        }
    }
    hold.wait_until_held(&engine, usize::from(with_result)).await;

    shutdown.cancel();
    if sqlite {
        // The loops that stop at once have stopped: the dispatcher saw the shutdown too.
        wait_for("the tick loop stopped", Duration::from_secs(10), || async {
            engine.health().loop_ages().iter().all(|(name, _)| *name != LoopName::Tick)
        })
        .await;
    }
    // On Postgres, this waits for the held commit to land.
    hold.release().await;
    let stopped = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the engine stops within its grace")
        .unwrap();
    assert!(stopped.is_ok(), "run() failed: {stopped:?}");

    let runs = rota.list_runs(&RunFilter::default()).await.unwrap();
    let executed = gate.executed.lock().unwrap().clone();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        let executions = executed.iter().filter(|id| **id == run.id).count();
        match run.status {
            RunStatus::Succeeded => assert_eq!(executions, 1, "{run:?}"),
            RunStatus::Queued => assert_eq!(executions, 0, "{run:?}"),
            _ => panic!("left {}: {run:?}", run.status),
        }
    }
    assert_eq!(rota.run(held.id).await.unwrap().status, RunStatus::Succeeded);
    assert_eq!(engine.stats().fenced_out.load(Ordering::Relaxed), 0, "a result was fenced out");
}

backend_test!(a_shutdown_during_a_claim_finishes_or_hands_back_what_it_claimed, |db| {
    shutdown_mid_cycle(db, false).await;
});

backend_test!(a_shutdown_during_a_record_and_claim_cycle_records_once_and_hands_back, |db| {
    shutdown_mid_cycle(db, true).await;
});

// The engine waits for the cycle in flight at its shutdown, but no longer than its grace: a
// database that stalls (here a claim's commit that takes 6 s) does not keep it from stopping.
// (Postgres only: SQLite's stall is its busy timeout, which bounds every write of the shutdown,
// the hand-back's too.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shutdown_waits_for_a_stalled_cycle_no_longer_than_its_grace() {
    let Some(db) = support::TestDatabase::create(support::Backend::Postgres).await else {
        return;
    };
    let grace = Duration::from_secs(1);
    let MidCycle { rota, engine, gate: _, mut hold, shutdown, running } =
        MidCycle::start(&db, grace, 6.0).await;
    hold.hold(None).await;
    rota.trigger(JobRef::named("acme", "queued"), None).await.unwrap();
    engine.notify_runs_queued();
    hold.wait_until_held(&engine, 0).await;

    let stopping = tokio::time::Instant::now();
    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the engine stops")
        .unwrap();
    let took = stopping.elapsed();
    assert!(stopped.is_ok(), "run() failed: {stopped:?}");
    assert!(took >= grace, "stopped after {took:?}, before the cycle or the grace ended");
    assert!(took < grace + Duration::from_millis(1500), "stopped only after {took:?}");
    hold.release().await;
}

/// Records every run a handler executed, by id.
#[derive(Default)]
struct RunIds {
    executed: Mutex<Vec<uuid::Uuid>>,
}

#[async_trait::async_trait]
impl Handler for RunIds {
    async fn run(&self, envelope: &Envelope, _cancel: CancellationToken) -> Outcome {
        self.executed.lock().unwrap().push(envelope.run_id);
        Outcome::succeeded("ok")
    }
}

// On the wall clock: a running engine burns a queue down. On Postgres, while its claims come
// back full, it records each batch of results in a transaction beside the next claim's; when
// the claim could not see the rooms those results freed (a tenant limited to one run at a
// time), it claims again at once. Every run executes once and every result is recorded once,
// none refused, whichever way each cycle went.
backend_test!(a_queue_burned_down_runs_and_records_every_run_once, |db| {
    let store = db.store().await;
    let clock: Arc<dyn Clock> = Arc::new(rota::clock::SystemClock);
    let handler = Arc::new(RunIds::default());
    let mut registry = HandlerRegistry::new();
    registry.register("probe", handler.clone()).unwrap();
    let rota = Rota::new(store.clone(), clock.clone()).with_registry(registry.clone());
    // Once the narrow tenant's few runs are done, the bulk tenant fills every claim alone: full
    // claims, so recording beside them, whatever the machine's load.
    let tenants = [("bulk", 1_000, 150), ("narrow", 1, 2)];
    let mut expected = 0;
    for (tenant, max_concurrent, per_job) in tenants {
        rota.add_tenant(
            &NewTenant { name: tenant.into(), max_concurrent, weight: 1 },
            &TenantPolicy::default(),
        )
        .await
        .unwrap();
        for index in 0..3 {
            let name = format!("{tenant}-{index}");
            rota.add_job(tenant, &job(&name, "0 0 1 1 *"), &JobPolicy::default()).await.unwrap();
            for _ in 0..per_job {
                rota.trigger(JobRef::named(tenant, &name), None).await.unwrap();
            }
            expected += per_job;
        }
    }
    let mut config = EngineConfig::new("node-a");
    config.workers = 32;
    let engine = Engine::with_registry(store.clone(), clock, config, registry);
    let (shutdown, running) = run_in_background(&engine);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while engine.stats().succeeded.load(Ordering::Relaxed) < expected as u64 {
        assert!(std::time::Instant::now() < deadline, "not burned down within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    running.await.unwrap().unwrap();

    let executed = handler.executed.lock().unwrap().clone();
    let distinct: std::collections::HashSet<_> = executed.iter().collect();
    assert_eq!(distinct.len(), executed.len(), "a run executed twice");
    assert_eq!(executed.len(), expected);
    let stats = engine.stats();
    assert_eq!(
        stats.succeeded.load(Ordering::Relaxed),
        expected as u64,
        "each result counted once"
    );
    assert_eq!(stats.fenced_out.load(Ordering::Relaxed), 0);
    let side_by_side = stats.side_by_side_cycles.load(Ordering::Relaxed);
    match db.backend {
        support::Backend::Postgres => assert!(
            side_by_side > 0,
            "never recorded beside a claim: {} cycles asked for {} runs, claimed {}",
            stats.cycles.load(Ordering::Relaxed),
            stats.claim_asked.load(Ordering::Relaxed),
            stats.claimed.load(Ordering::Relaxed)
        ),
        support::Backend::Sqlite => assert_eq!(side_by_side, 0, "SQLite has one writer"),
    }
    let succeeded = rota
        .list_runs(&RunFilter {
            status: Some(RunStatus::Succeeded),
            limit: Some(100_000),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(succeeded.len(), expected);
});

// Postgres: while results cannot be written but claims can (here a trigger refuses every
// finished run; in production, say, a statement timeout waiting for a job row), a recording
// that failed beside a claim makes the next cycle one transaction again, which fails as a
// whole: nothing more is claimed, and the results waiting stay bounded by the slots. Before,
// every retry ran beside another claim, and each added a claim's worth of runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn results_that_cannot_be_written_stop_the_claims_beside_them() {
    use sqlx::Connection;
    let Some(db) = support::TestDatabase::create(support::Backend::Postgres).await else {
        return;
    };
    let store = db.store().await;
    let clock: Arc<dyn Clock> = Arc::new(rota::clock::SystemClock);
    let handler = Arc::new(RunIds::default());
    let mut registry = HandlerRegistry::new();
    registry.register("probe", handler.clone()).unwrap();
    let rota = Rota::new(store.clone(), clock.clone()).with_registry(registry.clone());
    rota.add_tenant(
        &NewTenant { name: "bulk".into(), max_concurrent: 1_000, weight: 1 },
        &TenantPolicy::default(),
    )
    .await
    .unwrap();
    rota.add_job("bulk", &job("bulk-0", "0 0 1 1 *"), &JobPolicy::default()).await.unwrap();
    for _ in 0..300 {
        rota.trigger(JobRef::named("bulk", "bulk-0"), None).await.unwrap();
    }
    let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_finish() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.status = 'succeeded' THEN RAISE EXCEPTION 'refused by the test'; END IF; \
         RETURN NEW; END $$; \
         CREATE TRIGGER refuse_finish BEFORE UPDATE ON runs FOR EACH ROW \
         EXECUTE FUNCTION refuse_finish();",
    )
    .execute(&mut connection)
    .await
    .unwrap();
    let workers = 16;
    let mut config = EngineConfig::new("node-a");
    config.workers = workers;
    config.claim_batch = workers;
    config.shutdown_grace = Duration::from_secs(1);
    let engine = Engine::with_registry(store.clone(), clock, config, registry);
    let (shutdown, running) = run_in_background(&engine);
    // The first claim (no results yet) and the first cycle beside its results are full, so
    // the cycle after that would run beside a claim again.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while engine.stats().side_by_side_cycles.load(Ordering::Relaxed) == 0 {
        assert!(std::time::Instant::now() < deadline, "never recorded beside a claim");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let claimed = engine.stats().claimed.load(Ordering::Relaxed);
    let waiting = engine.results_waiting();
    shutdown.cancel();
    // The results can never be written: the shutdown ends with an error after its grace.
    let _ = running.await.unwrap();
    assert!(
        claimed <= u64::from(2 * workers),
        "{claimed} runs claimed while no result could be written (slots: {workers})"
    );
    assert!(waiting <= 2 * workers as usize, "{waiting} results waiting");
    assert_eq!(engine.stats().succeeded.load(Ordering::Relaxed), 0);
}
