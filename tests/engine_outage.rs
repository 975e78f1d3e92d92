//! The engine's steps through a database outage, on virtual time: each engine reaches Postgres
//! through its own pool and the fault proxy (`support::fault_proxy`), so a cut is a real one
//! (connections closed, new ones refused), while the instants the engines and their leases see
//! come from a `ManualClock`.
//!
//! - Results that could not be recorded are kept, and recorded when the database answers, after
//!   the node's leases were renewed: a run that finished during the outage is not run again.
//! - A reaper that lost the database too gives the owners of leases that expired meanwhile a
//!   lease period after it reconnects; only then is a node that stays silent taken for dead.
//! - A reaper that kept the database recovers a cut-off node's runs when its lease expires.
//! - A running engine told to stop while its connection is frozen returns a moment after its
//!   shutdown grace (on tokio's wall-clock timers), saying what it left undone.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::api::{JobPolicy, JobRef, Rota, TenantPolicy};
use rota::clock::{Clock, ManualClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{
    CommandSpec, Envelope, Handler, HandlerRegistry, HandlerSpec, Outcome, OutcomeStatus,
};
use rota::job::JobDefinition;
use rota::run::{Run, RunStatus, Trigger};
use rota::store::prelude::*;
use rota::store::{AnyStore, RunFilter};
use rota::tenant::NewTenant;
use support::fault_proxy::FaultProxy;
use support::{Backend, TestDatabase};
use tokio_util::sync::CancellationToken;

const LEASE: Duration = Duration::from_secs(30);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn t0() -> DateTime<Utc> {
    at("2027-01-01T10:00:00Z")
}

fn seconds(count: i64) -> chrono::Duration {
    chrono::Duration::seconds(count)
}

/// Runs of the job `held` wait until released; every other run succeeds at once.
#[derive(Default)]
struct Held {
    release: Mutex<CancellationToken>,
    executed: Mutex<Vec<(String, Trigger, u32)>>,
}

#[async_trait::async_trait]
impl Handler for Held {
    async fn run(&self, envelope: &Envelope, cancel: CancellationToken) -> Outcome {
        self.executed.lock().unwrap().push((
            envelope.job.clone(),
            envelope.trigger,
            envelope.attempt,
        ));
        if envelope.job == "held" {
            let release = self.release.lock().unwrap().clone();
            tokio::select! {
                () = release.cancelled() => {}
                // Stopped (the shutdown's hard stop): cancelled, so that its run is handed
                // back whether the executor or the handler notices the stop first.
                () = cancel.cancelled() => {
                    let stopped = Outcome::failed("stopped");
                    return Outcome { status: OutcomeStatus::Cancelled, ..stopped };
                }
            }
        }
        Outcome::succeeded("ok")
    }
}

fn registry(handler: &Arc<Held>) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register("held", handler.clone()).unwrap();
    registry
}

/// A database with tenant `acme` and the jobs `quick` and `held` (run by manual triggers), a
/// direct store to look at it, and engines that reach it through fault proxies.
struct World {
    db: TestDatabase,
    store: AnyStore,
    clock: ManualClock,
    handler: Arc<Held>,
    rota: Rota<AnyStore>,
}

impl World {
    async fn start() -> Option<World> {
        let db = TestDatabase::create(Backend::Postgres).await?;
        let store = db.store().await;
        let clock = ManualClock::new(t0());
        let handler = Arc::new(Held::default());
        let rota =
            Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry(&handler));
        rota.add_tenant(
            &NewTenant { name: "acme".into(), max_concurrent: 10, weight: 1 },
            &TenantPolicy::default(),
        )
        .await
        .unwrap();
        for name in ["quick", "held"] {
            let job = JobDefinition {
                name: name.into(),
                // Never due during the test: runs come from triggers.
                schedule: "0 0 1 1 *".into(),
                timezone: "UTC".into(),
                handler: HandlerSpec::Named { name: "held".into() },
                payload: serde_json::json!({}),
                timeout: Duration::from_secs(600),
            };
            rota.add_job("acme", &job, &JobPolicy::default()).await.unwrap();
        }
        Some(World { db, store, clock, handler, rota })
    }

    async fn proxy(&self) -> FaultProxy {
        let url = self.db.url.clone();
        let authority = url.split("://").nth(1).unwrap().split('/').next().unwrap();
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let upstream = tokio::net::lookup_host(host).await.unwrap().next().unwrap();
        FaultProxy::start(upstream).await
    }

    /// A registered engine with its own connections through `proxy`.
    async fn engine(&self, node: &str, proxy: &FaultProxy) -> Engine<AnyStore> {
        let store = AnyStore::connect(&proxy.url_for(&self.db.url)).await.unwrap();
        let mut config = EngineConfig::new(node);
        config.workers = 4;
        config.lease_ttl = LEASE;
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        let engine = Engine::with_registry(store, clock, config, registry(&self.handler));
        engine.register().await.unwrap();
        engine
    }

    async fn run_of(&self, job: &str, attempt: u32) -> Run {
        let runs = self
            .store
            .list_runs(&RunFilter { job: Some(job.into()), ..RunFilter::default() })
            .await
            .unwrap();
        runs.into_iter().find(|run| run.attempt == attempt).unwrap()
    }

    fn release_held(&self) {
        self.handler.release.lock().unwrap().cancel();
    }
}

/// Waits (on the wall clock, briefly) until `engine` has `count` results waiting.
async fn wait_for_results(engine: &Engine<AnyStore>, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while engine.results_waiting() < count {
        assert!(std::time::Instant::now() < deadline, "no result within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_the_database_could_not_take_are_kept_and_recorded_after_renewing_the_leases() {
    let Some(world) = World::start().await else { return };
    let proxy = world.proxy().await;
    let node = world.engine("node-a", &proxy).await;
    world.rota.trigger(JobRef::named("acme", "quick"), None).await.unwrap();
    world.rota.trigger(JobRef::named("acme", "held"), None).await.unwrap();
    assert_eq!(node.dispatch_once().await.unwrap(), 2);
    wait_for_results(&node, 1).await;

    // The database goes away with one result finished and one run still executing.
    proxy.cut();
    world.clock.advance(seconds(10));
    assert!(node.record_results_once().await.is_err());
    assert_eq!(node.results_waiting(), 1, "the result is kept");
    let report = node.health().report();
    assert!(!report.is_healthy());
    assert_eq!(report.problems[0].component, "database", "{report:?}");
    assert!(node.record_and_dispatch_once().await.is_err());
    assert_eq!(node.results_waiting(), 1);

    // It comes back after the held run's lease (until t0 + 30 s) expired. Nothing renewed it:
    // the dispatcher's next step renews it before recording and claiming.
    world.clock.set(t0() + seconds(45));
    proxy.pass();
    assert_eq!(node.record_and_dispatch_once().await.unwrap(), 0);
    assert_eq!(node.results_waiting(), 0);
    let quick = world.run_of("quick", 1).await;
    assert_eq!(quick.status, RunStatus::Succeeded);
    let held = world.run_of("held", 1).await;
    assert_eq!(
        (held.status, held.lease_expires_at),
        (RunStatus::Running, Some(t0() + seconds(45) + seconds(30))),
        "the lease was renewed at the reconnection"
    );
    assert_eq!(node.stats().fenced_out.load(std::sync::atomic::Ordering::Relaxed), 0);
    assert_eq!((node.health().database_errors(), node.health().reconnects()), (2, 1));
    assert!(node.health().report().is_healthy());

    world.release_held();
    node.wait_idle().await;
    assert_eq!(node.record_results_once().await.unwrap(), 1);
    assert_eq!(world.run_of("held", 1).await.status, RunStatus::Succeeded);
    let executed = world.handler.executed.lock().unwrap().len();
    assert_eq!(executed, 2, "each run executed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaper_that_lost_the_database_too_gives_owners_a_lease_period_after_reconnecting() {
    let Some(world) = World::start().await else { return };
    let proxy = world.proxy().await;
    let owner = world.engine("node-a", &proxy).await;
    let reaper = world.engine("node-b", &proxy).await;
    world.rota.trigger(JobRef::named("acme", "held"), None).await.unwrap();
    assert_eq!(owner.dispatch_once().await.unwrap(), 1, "leased until t0 + 30 s");

    proxy.cut();
    world.clock.advance(seconds(5));
    assert!(owner.maintain_once().await.is_err());
    assert!(reaper.reap_once().await.is_err());

    // Both reconnect at t0 + 40 s; the owner's lease expired during the outage.
    world.clock.set(t0() + seconds(40));
    proxy.pass();
    assert_eq!(reaper.reap_once().await.unwrap(), 0, "the owner gets until t0 + 70 s");
    world.clock.set(t0() + seconds(45));
    owner.maintain_once().await.unwrap();
    world.clock.set(t0() + seconds(71));
    assert_eq!(reaper.reap_once().await.unwrap(), 0, "the owner renewed (until t0 + 75 s)");
    assert_eq!(world.run_of("held", 1).await.status, RunStatus::Running);

    // The owner is never heard of again: a lease period the reaper watched has passed.
    world.clock.set(t0() + seconds(76));
    assert_eq!(reaper.reap_once().await.unwrap(), 1);
    assert_eq!(world.run_of("held", 1).await.status, RunStatus::Lost);
    let recovery = world.run_of("held", 2).await;
    assert_eq!((recovery.status, recovery.trigger), (RunStatus::Queued, Trigger::Recovery));

    // The owner's late result is fenced out: the database keeps one outcome.
    world.release_held();
    owner.wait_idle().await;
    owner.record_results_once().await.unwrap();
    assert_eq!(owner.stats().fenced_out.load(std::sync::atomic::Ordering::Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reaper_that_kept_the_database_recovers_a_cut_off_node_when_its_lease_expires() {
    let Some(world) = World::start().await else { return };
    let owner_proxy = world.proxy().await;
    let reaper_proxy = world.proxy().await;
    let owner = world.engine("node-a", &owner_proxy).await;
    let reaper = world.engine("node-b", &reaper_proxy).await;
    world.rota.trigger(JobRef::named("acme", "held"), None).await.unwrap();
    assert_eq!(owner.dispatch_once().await.unwrap(), 1, "leased until t0 + 30 s");

    // Only the owner is cut off.
    owner_proxy.cut();
    world.clock.set(t0() + seconds(10));
    assert!(owner.maintain_once().await.is_err());
    world.clock.set(t0() + seconds(29));
    reaper.maintain_once().await.unwrap();
    assert_eq!(reaper.reap_once().await.unwrap(), 0, "not expired yet");
    world.clock.set(t0() + seconds(31));
    assert_eq!(reaper.reap_once().await.unwrap(), 1, "no grace: the reaper saw it all");
    world.release_held();
    owner.wait_idle().await;
}

/// What the engine holds when its connection to the database freezes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeldAtFreeze {
    /// A run still executing: the shutdown stops it after the grace and must hand it back.
    Executing,
    /// A finished run's result: the shutdown must record it.
    Result,
    /// A run about to read its handler's stored definition, which it then waits for: the
    /// shutdown stops it after the grace and must hand it back.
    Resolving,
}

/// Tasks alive on this test's runtime: the engine's, the proxy's and the pools'.
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current().metrics().num_alive_tasks()
}

/// An engine running on the wall clock through a proxy that freezes (no byte moves, nothing is
/// closed: a network partition, a server that stalls), holding a run or a result, is told to
/// stop. Its shutdown waits for the database up to the grace, but no longer than the short
/// time after it that the hand-back gets: `run()` returns an error saying what was left
/// undone, and no task it spawned outlives it.
///
/// Before, the shutdown's database calls had no client-side limit: the recording of results
/// and the hand-back waited for an answer that never came, and so did the shutdown for a run
/// reading its handler's definition (the hard stop did not interrupt that read); `run()` never
/// returned (a systemd stop ended in SIGKILL, a console window did not close).
async fn shutdown_with_frozen_database(held: HeldAtFreeze) {
    let Some(world) = World::start().await else { return };
    let baseline = alive_tasks();
    let proxy = world.proxy().await;
    let store = AnyStore::connect(&proxy.url_for(&world.db.url)).await.unwrap();
    let grace = Duration::from_secs(2);
    let mut config = EngineConfig::new("node-a");
    config.workers = 4;
    config.lease_ttl = LEASE;
    config.shutdown_grace = grace;
    // The run `stored` is queued 1.5 s ahead: claimed at once, it waits for its instant.
    config.claim_ahead = Duration::from_secs(5);
    let clock: Arc<dyn Clock> = Arc::new(world.clock.clone());
    let engine = Engine::with_registry(store.clone(), clock, config, registry(&world.handler));
    let shutdown = CancellationToken::new();
    let mut running = tokio::spawn({
        let (engine, shutdown) = (engine.clone(), shutdown.clone());
        async move { engine.run(shutdown).await }
    });
    let held_run = if held == HeldAtFreeze::Resolving {
        // A command kept as a named handler: a run reads its definition as it starts.
        let command = HandlerSpec::Command(CommandSpec::new("/bin/true", [] as [&str; 0]));
        world.rota.set_named_handler("stored", &command).await.unwrap();
        let job = JobDefinition {
            name: "stored".into(),
            schedule: "0 0 1 1 *".into(),
            timezone: "UTC".into(),
            handler: HandlerSpec::Named { name: "stored".into() },
            payload: serde_json::json!({}),
            timeout: Duration::from_secs(600),
        };
        world.rota.add_job("acme", &job, &JobPolicy::default()).await.unwrap();
        let later = Arc::new(ManualClock::new(t0() + chrono::Duration::milliseconds(1500)));
        let ahead = Rota::new(world.store.clone(), later);
        ahead.trigger(JobRef::named("acme", "stored"), None).await.unwrap()
    } else {
        world.rota.trigger(JobRef::named("acme", "held"), None).await.unwrap()
    };
    engine.notify_runs_queued();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let started = || match held {
        // The read of its definition starts 1.5 s after the claim, the database frozen then
        // (and the grace, 2 s, running).
        HeldAtFreeze::Resolving => {
            engine.stats().claimed.load(std::sync::atomic::Ordering::Relaxed) > 0
        }
        _ => !world.handler.executed.lock().unwrap().is_empty(),
    };
    while !started() {
        assert!(std::time::Instant::now() < deadline, "the run did not start within 10 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    proxy.freeze();
    if held == HeldAtFreeze::Result {
        // It finishes now: the dispatcher's cycle that records it waits for the frozen database.
        world.release_held();
        wait_for_results(&engine, 1).await;
    }
    let stopping = tokio::time::Instant::now();
    shutdown.cancel();
    let stopped = match tokio::time::timeout(grace + Duration::from_secs(10), &mut running).await {
        Ok(stopped) => stopped.unwrap(),
        Err(_) => {
            running.abort();
            panic!("run() did not return within the grace + 10 s of the shutdown");
        }
    };
    let took = stopping.elapsed();
    let error = stopped.expect_err("nothing could be written: run() says what was not done");
    let text = error.to_string();
    match held {
        HeldAtFreeze::Executing | HeldAtFreeze::Resolving => {
            assert!(text.contains("not handed back"), "{text}");
        }
        HeldAtFreeze::Result => assert!(text.contains("not recorded"), "{text}"),
    }
    assert!(error.is_connection_problem(), "{error:?}");
    assert!(took >= grace, "stopped after {took:?}, before the grace ended");
    assert!(took < grace + Duration::from_secs(3), "stopped only after {took:?}");
    // Nothing reached the database (the test's own connection does not pass the proxy): the run
    // is still this node's, until its lease expires.
    let run = world.store.run(held_run.id).await.unwrap();
    assert_eq!(
        (run.status, run.lease_owner.as_deref()),
        (RunStatus::Running, Some("node-a")),
        "{run:?}"
    );

    // With the proxy gone its connections close, and the engine's pool closes without waiting
    // for a database that will never answer: then no task is left of the engine's run.
    drop(proxy);
    store.close().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive_tasks() > baseline {
        assert!(
            std::time::Instant::now() < deadline,
            "{} tasks outlive the engine's run",
            alive_tasks() - baseline
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_with_a_frozen_database_connection_hands_back_no_later_than_after_its_grace() {
    shutdown_with_frozen_database(HeldAtFreeze::Executing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_with_a_frozen_database_connection_gives_up_its_results_after_its_grace() {
    shutdown_with_frozen_database(HeldAtFreeze::Result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_with_a_frozen_database_connection_stops_a_run_reading_its_handler() {
    shutdown_with_frozen_database(HeldAtFreeze::Resolving).await;
}
