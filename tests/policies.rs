//! Run-lifecycle policies on both backends, on virtual time: retries, overlap, missed
//! occurrences, auto-disable, probation, rate limits, pause and resume, backfill, jitter and
//! retention. Engines are driven step by step (`tick_once`, `dispatch_once`, ...) on a
//! `ManualClock`, with an in-process handler whose behaviour each test switches per job.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::api::{BackfillRequest, JobRef, Rota};
use rota::clock::{Clock, ManualClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{Envelope, Handler, HandlerRegistry, HandlerSpec, Outcome, OutcomeStatus};
use rota::job::{Job, JobDefinition};
use rota::policy::{
    jitter_offset, Backoff, JobPolicy, MissedPolicy, OverlapPolicy, RateLimit, TenantPolicy,
    WaitedFor,
};
use rota::run::{Run, RunStatus, Trigger};
use rota::store::prelude::*;
use rota::store::{AnyStore, JobState, RunFilter, TenantUpdate};
use rota::tenant::NewTenant;
use rota::ErrorCode;
use tokio_util::sync::CancellationToken;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn secs(seconds: i64) -> chrono::Duration {
    chrono::Duration::seconds(seconds)
}

/// (job, scheduled instant, trigger, attempt) of an execution.
type Execution = (String, DateTime<Utc>, Trigger, u32);

/// An in-process handler whose behaviour is switched per job: succeed (the default), fail, or
/// block until released or cancelled. It records every execution.
#[derive(Default)]
struct Switchboard {
    failing: Mutex<HashSet<String>>,
    blocking: Mutex<HashSet<String>>,
    /// Blocked runs wait for this gate (or their own cancellation).
    gate: Mutex<CancellationToken>,
    executed: Mutex<Vec<Execution>>,
    running: Mutex<HashMap<String, u32>>,
    max_running: Mutex<HashMap<String, u32>>,
}

impl Switchboard {
    fn fail(&self, job: &str, failing: bool) {
        let mut set = self.failing.lock().unwrap();
        if failing {
            set.insert(job.to_owned());
        } else {
            set.remove(job);
        }
    }

    fn block(&self, job: &str) {
        self.blocking.lock().unwrap().insert(job.to_owned());
    }

    /// Lets every blocked run finish (successfully), and stops blocking.
    fn release(&self) {
        self.blocking.lock().unwrap().clear();
        let mut gate = self.gate.lock().unwrap();
        gate.cancel();
        *gate = CancellationToken::new();
    }

    fn executed_by(&self, job: &str) -> Vec<(DateTime<Utc>, Trigger, u32)> {
        let executed = self.executed.lock().unwrap();
        executed
            .iter()
            .filter(|(name, ..)| name == job)
            .map(|(_, at, t, a)| (*at, *t, *a))
            .collect()
    }
}

#[async_trait::async_trait]
impl Handler for Switchboard {
    async fn run(&self, envelope: &Envelope, cancel: CancellationToken) -> Outcome {
        let job = envelope.job.clone();
        self.executed.lock().unwrap().push((
            job.clone(),
            envelope.scheduled_for,
            envelope.trigger,
            envelope.attempt,
        ));
        {
            let mut running = self.running.lock().unwrap();
            let now = running.entry(job.clone()).or_default();
            *now += 1;
            let mut max = self.max_running.lock().unwrap();
            let max = max.entry(job.clone()).or_default();
            *max = (*max).max(*now);
        }
        let blocked = self.blocking.lock().unwrap().contains(&job);
        if blocked {
            let gate = self.gate.lock().unwrap().clone();
            tokio::select! {
                () = gate.cancelled() => {}
                () = cancel.cancelled() => {}
            }
        }
        *self.running.lock().unwrap().get_mut(&job).unwrap() -= 1;
        if cancel.is_cancelled() {
            // A handler that honours cancellation says so.
            return Outcome {
                status: OutcomeStatus::Cancelled,
                error: Some("cancelled".into()),
                ..Outcome::failed("")
            };
        }
        if self.failing.lock().unwrap().contains(&job) {
            Outcome::failed("boom")
        } else {
            Outcome::succeeded("ok")
        }
    }
}

/// Everything a test needs: the API, the store, a clock, the handler, and engines.
struct World {
    store: AnyStore,
    clock: ManualClock,
    rota: Rota<AnyStore>,
    board: Arc<Switchboard>,
}

impl World {
    async fn new(db: &support::TestDatabase, start: &str) -> World {
        let store = db.store().await;
        let clock = ManualClock::new(at(start));
        let board = Arc::new(Switchboard::default());
        let rota =
            Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry(&board));
        World { store, clock, rota, board }
    }

    /// An engine with its own connection pool, as another process would have.
    async fn engine(
        &self,
        db: &support::TestDatabase,
        node: &str,
        workers: u32,
    ) -> Engine<AnyStore> {
        let store = AnyStore::connect(&db.url).await.unwrap();
        let mut config = EngineConfig::new(node);
        config.workers = workers;
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        let engine = Engine::with_registry(store, clock, config, registry(&self.board));
        engine.register().await.unwrap();
        engine
    }

    async fn tenant(&self, name: &str, max_concurrent: u32) {
        self.rota
            .add_tenant(
                &NewTenant { name: name.into(), max_concurrent, weight: 1 },
                &TenantPolicy::default(),
            )
            .await
            .unwrap();
    }

    async fn job(&self, tenant: &str, name: &str, schedule: &str, policy: JobPolicy) -> Job {
        self.rota.add_job(tenant, &definition(name, schedule), &policy).await.unwrap()
    }

    async fn runs(&self, job: &str) -> Vec<Run> {
        let filter =
            RunFilter { job: Some(job.into()), limit: Some(10_000), ..RunFilter::default() };
        let mut runs = self.rota.list_runs(&filter).await.unwrap();
        runs.reverse(); // oldest first
        runs
    }

    async fn statuses(&self, job: &str) -> Vec<(DateTime<Utc>, RunStatus)> {
        self.runs(job).await.iter().map(|run| (run.scheduled_at, run.status)).collect()
    }

    fn set(&self, text: &str) {
        self.clock.set(at(text));
    }
}

fn registry(board: &Arc<Switchboard>) -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register("board", board.clone()).unwrap();
    registry
}

fn definition(name: &str, schedule: &str) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: schedule.into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Named { name: "board".into() },
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(30),
    }
}

fn policy(overlap: OverlapPolicy) -> JobPolicy {
    JobPolicy { overlap, ..JobPolicy::default() }
}

/// Claims, executes and records until `engines` find nothing more to run at this instant.
async fn run_until_quiet(engines: &[Engine<AnyStore>]) -> usize {
    let mut total = 0;
    loop {
        let started: usize = futures::future::join_all(engines.iter().map(|engine| async move {
            let started = engine.dispatch_once().await.unwrap();
            engine.wait_idle().await;
            started
        }))
        .await
        .into_iter()
        .sum();
        // Both engines record at once: concurrent completions of the same job.
        futures::future::join_all(engines.iter().map(|engine| engine.record_results_once())).await;
        total += started;
        if started == 0 {
            return total;
        }
    }
}

/// Waits until the handler has started `count` executions (blocked runs never finish alone).
async fn started(board: &Switchboard, count: usize) {
    for _ in 0..2_000 {
        if board.executed.lock().unwrap().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the handler never started {count} runs");
}

backend_test!(retries_back_off_to_the_computed_instants, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 1).await;
    let retry = JobPolicy {
        max_retries: Some(3),
        backoff: Backoff::Exponential {
            initial: Duration::from_secs(10),
            multiplier: 3.0,
            max: Duration::from_secs(60),
        },
        retry_jitter: 0.5,
        ..JobPolicy::default()
    };
    let flaky = world.job("acme", "flaky", "0 0 1 1 *", retry.clone()).await;
    world.job("acme", "steady", "0 0 1 1 *", JobPolicy::default()).await;
    world.board.fail("flaky", true);
    let engine = world.engine(&db, "node-a", 2).await;

    let first = world.rota.trigger(JobRef::named("acme", "flaky"), None).await.unwrap();
    let effective = retry.retry_policy(None);
    let mut expected_at = world.clock.now();
    for attempt in 1..=4u32 {
        // Not a millisecond early.
        world.clock.set(expected_at - chrono::Duration::milliseconds(1));
        if attempt > 1 {
            assert_eq!(engine.dispatch_once().await.unwrap(), 0, "attempt {attempt} is early");
            assert_eq!(world.store.next_ready_at().await.unwrap(), Some(expected_at));
            // A waiting retry holds no slot: another job of the tenant (limit 1) runs meanwhile.
            world.rota.trigger(JobRef::named("acme", "steady"), None).await.unwrap();
            assert_eq!(run_until_quiet(std::slice::from_ref(&engine)).await, 1);
        }
        world.clock.set(expected_at);
        assert_eq!(run_until_quiet(std::slice::from_ref(&engine)).await, 1, "attempt {attempt}");
        let delay = effective.delay(attempt, flaky.id, first.scheduled_at);
        assert!(delay <= effective.backoff.base(attempt), "jitter only shortens");
        expected_at += chrono::Duration::from_std(delay).unwrap();
    }
    let runs = world.runs("flaky").await;
    let attempts: Vec<_> = runs.iter().map(|run| (run.attempt, run.trigger, run.status)).collect();
    assert_eq!(
        attempts,
        [
            (1, Trigger::Manual, RunStatus::Failed),
            (2, Trigger::Retry, RunStatus::Failed),
            (3, Trigger::Retry, RunStatus::Failed),
            (4, Trigger::Retry, RunStatus::Failed),
        ]
    );
    // Each retry became ready exactly at finish + delay (the clock stood still while it ran).
    for pair in runs.windows(2) {
        let delay = effective.delay(pair[0].attempt, flaky.id, first.scheduled_at);
        let finished = pair[0].finished_at.unwrap();
        assert_eq!(pair[1].not_before, finished + chrono::Duration::from_std(delay).unwrap());
        assert_eq!(pair[1].started_at, Some(pair[1].not_before));
    }
    // One failed occurrence, however many attempts it took.
    let job = world.rota.job(JobRef::named("acme", "flaky")).await.unwrap();
    assert_eq!((job.consecutive_failures, job.last_error.as_deref()), (1, Some("boom")));
    assert_eq!(world.store.next_ready_at().await.unwrap(), None, "no fifth attempt");
});

backend_test!(overlap_skip_records_the_skipped_occurrence, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 5).await;
    world.job("acme", "slow", "* * * * *", policy(OverlapPolicy::Skip)).await;
    world.board.block("slow");
    let engine = world.engine(&db, "node-a", 4).await;

    world.set("2027-01-01T10:01:00Z");
    engine.tick_once().await.unwrap();
    assert_eq!(engine.dispatch_once().await.unwrap(), 1);
    started(&world.board, 1).await;
    world.set("2027-01-01T10:02:00Z");
    let report = engine.tick_once().await.unwrap();
    assert_eq!((report.enqueued, report.recorded), (0, 1));
    let runs = world.runs("slow").await;
    assert_eq!(runs[1].status, RunStatus::Skipped);
    assert_eq!(runs[1].reason.as_deref(), Some("previous run still running"));

    world.board.release();
    engine.wait_idle().await;
    engine.record_results_once().await.unwrap();
    world.set("2027-01-01T10:03:00Z");
    assert_eq!(engine.tick_once().await.unwrap().enqueued, 1);
    run_until_quiet(std::slice::from_ref(&engine)).await;
    assert_eq!(
        world.statuses("slow").await,
        [
            (at("2027-01-01T10:01:00Z"), RunStatus::Succeeded),
            (at("2027-01-01T10:02:00Z"), RunStatus::Skipped),
            (at("2027-01-01T10:03:00Z"), RunStatus::Succeeded),
        ]
    );
});

backend_test!(overlap_queue_one_waits_for_the_running_run, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 5).await;
    world.job("acme", "slow", "* * * * *", policy(OverlapPolicy::QueueOne)).await;
    world.board.block("slow");
    let engine = world.engine(&db, "node-a", 4).await;

    world.set("2027-01-01T10:01:00Z");
    engine.tick_once().await.unwrap();
    assert_eq!(engine.dispatch_once().await.unwrap(), 1);
    started(&world.board, 1).await;
    world.set("2027-01-01T10:02:00Z");
    assert_eq!(engine.tick_once().await.unwrap().enqueued, 1, "one may wait");
    assert_eq!(engine.dispatch_once().await.unwrap(), 0, "it waits for the running run");
    world.set("2027-01-01T10:03:00Z");
    let report = engine.tick_once().await.unwrap();
    assert_eq!((report.enqueued, report.recorded), (0, 1), "only one waits");

    world.board.release();
    engine.wait_idle().await;
    engine.record_results_once().await.unwrap();
    run_until_quiet(std::slice::from_ref(&engine)).await;
    let runs = world.runs("slow").await;
    let rows: Vec<_> = runs.iter().map(|run| (run.status, run.waited_for)).collect();
    assert_eq!(
        rows,
        [
            (RunStatus::Succeeded, None),
            (RunStatus::Succeeded, Some(WaitedFor::Overlap)),
            (RunStatus::Skipped, None),
        ]
    );
    assert_eq!(
        runs[2].reason.as_deref(),
        Some("a run of this job is already waiting (overlap queue_one)")
    );
    assert_eq!(world.board.max_running.lock().unwrap()["slow"], 1, "never side by side");
});

backend_test!(overlap_allow_runs_side_by_side, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 5).await;
    world.job("acme", "slow", "* * * * *", policy(OverlapPolicy::Allow)).await;
    world.board.block("slow");
    let engine = world.engine(&db, "node-a", 4).await;
    for minute in ["2027-01-01T10:01:00Z", "2027-01-01T10:02:00Z"] {
        world.set(minute);
        assert_eq!(engine.tick_once().await.unwrap().enqueued, 1);
        assert_eq!(engine.dispatch_once().await.unwrap(), 1);
    }
    started(&world.board, 2).await;
    assert_eq!(world.board.max_running.lock().unwrap()["slow"], 2);
    world.board.release();
    engine.wait_idle().await;
    engine.record_results_once().await.unwrap();
    let statuses: Vec<_> = world.statuses("slow").await.into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, [RunStatus::Succeeded, RunStatus::Succeeded]);
});

backend_test!(overlap_cancel_previous_stops_the_running_run, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 5).await;
    world.job("acme", "slow", "* * * * *", policy(OverlapPolicy::CancelPrevious)).await;
    world.board.block("slow");
    let engine = world.engine(&db, "node-a", 4).await;

    world.set("2027-01-01T10:01:00Z");
    engine.tick_once().await.unwrap();
    assert_eq!(engine.dispatch_once().await.unwrap(), 1);
    started(&world.board, 1).await;
    world.set("2027-01-01T10:02:00Z");
    assert_eq!(engine.tick_once().await.unwrap().enqueued, 1);
    let runs = world.runs("slow").await;
    assert!(runs[0].cancel_requested);
    assert_eq!(engine.dispatch_once().await.unwrap(), 0, "the new run waits for the old to stop");

    // The node sees the request when it renews its leases.
    engine.maintain_once().await.unwrap();
    engine.wait_idle().await;
    engine.record_results_once().await.unwrap();
    world.board.release();
    run_until_quiet(std::slice::from_ref(&engine)).await;
    let runs = world.runs("slow").await;
    assert_eq!(runs[0].status, RunStatus::Cancelled);
    assert_eq!(
        runs[0].reason.as_deref(),
        Some("superseded by the occurrence at 2027-01-01T10:02:00+00:00 (overlap cancel_previous)")
    );
    assert_eq!(
        (runs[1].status, runs[1].waited_for),
        (RunStatus::Succeeded, Some(WaitedFor::Overlap))
    );
    assert_eq!(runs.len(), 2, "a cancelled run is not retried");
});

backend_test!(a_three_hour_outage_replays_per_missed_policy, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 100).await;
    let allow =
        |missed| JobPolicy { missed, overlap: OverlapPolicy::Allow, ..JobPolicy::default() };
    world.job("acme", "once", "*/5 * * * *", allow(MissedPolicy::RunOnce)).await;
    world.job("acme", "all", "*/5 * * * *", allow(MissedPolicy::RunAll { max_runs: 100 })).await;
    world.job("acme", "capped", "*/5 * * * *", allow(MissedPolicy::RunAll { max_runs: 3 })).await;
    world.job("acme", "none", "*/5 * * * *", allow(MissedPolicy::Skip)).await;
    let engine = world.engine(&db, "node-a", 8).await;
    world.set("2027-01-01T10:05:00Z");
    assert_eq!(engine.tick_once().await.unwrap().enqueued, 4);
    run_until_quiet(std::slice::from_ref(&engine)).await;

    // The engine is down from 10:05 to 13:07:30: 10:10 to 13:05 are 36 missed occurrences.
    world.set("2027-01-01T13:07:30Z");
    let report = engine.tick_once().await.unwrap();
    assert_eq!(report.enqueued, 1 + 36 + 3);
    assert_eq!(report.recorded, 35 + 33 + 36);
    run_until_quiet(std::slice::from_ref(&engine)).await;

    let count = |runs: &[Run], status| runs.iter().filter(|run| run.status == status).count();
    let once = world.runs("once").await;
    assert_eq!((count(&once, RunStatus::Succeeded), count(&once, RunStatus::Missed)), (2, 35));
    let catch_up = once.last().unwrap();
    assert_eq!(catch_up.scheduled_at, at("2027-01-01T13:05:00Z"));
    assert_eq!(catch_up.reason.as_deref(), Some("catch-up for 36 missed occurrences"));
    assert_eq!(catch_up.trigger, Trigger::Schedule);
    assert_eq!(
        once[1].reason.as_deref(),
        Some("no scheduler was running; missed policy run_once: one catch-up run for the gap")
    );
    let all = world.runs("all").await;
    assert_eq!((count(&all, RunStatus::Succeeded), count(&all, RunStatus::Missed)), (37, 0));
    assert_eq!(
        all[1].reason.as_deref(),
        Some("late: no scheduler was running (missed policy run_all)")
    );
    let capped = world.runs("capped").await;
    assert_eq!((count(&capped, RunStatus::Succeeded), count(&capped, RunStatus::Missed)), (4, 33));
    let none = world.runs("none").await;
    assert_eq!((count(&none, RunStatus::Succeeded), count(&none, RunStatus::Skipped)), (1, 36));
    assert_eq!(none[1].reason.as_deref(), Some("no scheduler was running; missed policy skip"));
    // Back on schedule, without a burst.
    let job = world.rota.job(JobRef::named("acme", "once")).await.unwrap();
    assert_eq!(job.next_run_at, Some(at("2027-01-01T13:10:00Z")));
    world.set("2027-01-01T13:10:00Z");
    assert_eq!(
        engine.tick_once().await.unwrap(),
        rota::store::TickReport { jobs: 4, enqueued: 4, recorded: 0 }
    );
});

backend_test!(five_failures_disable_once_even_with_two_engines, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 10).await;
    world.job("acme", "flaky", "* * * * *", policy(OverlapPolicy::Allow)).await;
    world.board.fail("flaky", true);
    let engines = [world.engine(&db, "node-a", 3).await, world.engine(&db, "node-b", 3).await];

    // Six failing occurrences queue up while the tenant is paused, then both engines run them
    // at once and record their failures concurrently.
    let pause = |paused| TenantUpdate { paused: Some(paused), ..TenantUpdate::default() };
    world.rota.update_tenant("acme", &pause(true), None).await.unwrap();
    for minute in 1..=6 {
        world.clock.set(at("2027-01-01T10:00:00Z") + chrono::Duration::minutes(minute));
        futures::future::join_all(engines.iter().map(|engine| engine.tick_once())).await;
    }
    world.rota.update_tenant("acme", &pause(false), None).await.unwrap();
    assert_eq!(run_until_quiet(&engines).await, 6);

    let job = world.rota.job(JobRef::named("acme", "flaky")).await.unwrap();
    assert_eq!(JobState::of(&job), JobState::AutoDisabled);
    assert_eq!((job.enabled, job.disabled_reason.as_deref()), (false, Some("auto")));
    assert_eq!((job.consecutive_failures, job.last_error.as_deref()), (6, Some("boom")));
    let events = world.rota.outbox_events(100).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].event.kind().as_str(), events[0].job_id),
        ("job.auto_disabled", Some(job.id))
    );
    assert_eq!(events[0].tenant_id, job.tenant_id);
    assert_eq!(events[0].event.data()["last_error"], "boom");
    assert_eq!(events[0].delivered_at, None);

    // A disabled job is not due.
    world.set("2027-01-01T12:00:00Z");
    assert_eq!(engines[0].tick_once().await.unwrap().jobs, 0);

    // Re-enabling restarts the streak, says who, and does not replay the two hours.
    world.board.fail("flaky", false);
    let job = world.rota.enable_job(JobRef::named("acme", "flaky"), "alice", false).await.unwrap();
    assert_eq!((job.enabled, job.consecutive_failures), (true, 0));
    let alice = db.recorded_as("alice");
    assert_eq!((job.enabled_by.as_deref(), job.on_probation), (Some(alice.as_str()), false));
    assert_eq!(job.next_run_at, Some(at("2027-01-01T12:01:00Z")));
    let events = world.rota.outbox_events(100).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        (events[1].event.kind().as_str(), &events[1].event.data()["operator"]),
        ("job.re_enabled", &serde_json::json!(alice))
    );
    world.set("2027-01-01T12:01:00Z");
    let report = engines[0].tick_once().await.unwrap();
    assert_eq!((report.enqueued, report.recorded), (1, 0), "no burst, no backlog");
    // Enabling an enabled job changes nothing and writes no event.
    world.rota.enable_job(JobRef::named("acme", "flaky"), "bob", false).await.unwrap();
    assert_eq!(world.rota.outbox_events(100).await.unwrap().len(), 2);
});

backend_test!(probation_disables_on_the_first_failure_after_re_enable, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 10).await;
    let twice = JobPolicy { auto_disable_after: Some(2), ..JobPolicy::default() };
    world.job("acme", "flaky", "* * * * *", twice).await;
    let engine = world.engine(&db, "node-a", 2).await;
    let mut minute = 0;
    let mut next_minute = || {
        minute += 1;
        world.clock.set(at("2027-01-01T10:00:00Z") + chrono::Duration::minutes(minute));
    };
    world.board.fail("flaky", true);
    for _ in 0..2 {
        next_minute();
        engine.tick_once().await.unwrap();
        run_until_quiet(std::slice::from_ref(&engine)).await;
    }
    assert!(!world.rota.job(JobRef::named("acme", "flaky")).await.unwrap().enabled);

    // On probation, one failure is enough. (Events are ordered by their instant; a person
    // re-enables a job later than Rota disabled it.)
    world.clock.advance(secs(10));
    let job = world.rota.enable_job(JobRef::named("acme", "flaky"), "alice", true).await.unwrap();
    assert!(job.on_probation);
    next_minute();
    engine.tick_once().await.unwrap();
    run_until_quiet(std::slice::from_ref(&engine)).await;
    let job = world.rota.job(JobRef::named("acme", "flaky")).await.unwrap();
    assert_eq!((job.enabled, job.consecutive_failures), (false, 1));
    let kinds: Vec<_> = world
        .rota
        .outbox_events(100)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.event.kind().to_string(), e.event.data()["probation"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("job.auto_disabled".to_owned(), serde_json::json!(false)),
            ("job.re_enabled".to_owned(), serde_json::json!(true)),
            ("job.auto_disabled".to_owned(), serde_json::json!(true)),
        ]
    );

    // A success ends the probation: the next failure alone does not disable.
    world.rota.enable_job(JobRef::named("acme", "flaky"), "alice", true).await.unwrap();
    world.board.fail("flaky", false);
    next_minute();
    engine.tick_once().await.unwrap();
    run_until_quiet(std::slice::from_ref(&engine)).await;
    assert!(!world.rota.job(JobRef::named("acme", "flaky")).await.unwrap().on_probation);
    world.board.fail("flaky", true);
    next_minute();
    engine.tick_once().await.unwrap();
    run_until_quiet(std::slice::from_ref(&engine)).await;
    let job = world.rota.job(JobRef::named("acme", "flaky")).await.unwrap();
    assert_eq!((job.enabled, job.consecutive_failures), (true, 1));
});

backend_test!(rate_limits_hold_across_two_engines, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 100).await;
    let limit = RateLimit { count: 5, window: Duration::from_secs(60) };
    let tenant = world
        .rota
        .set_tenant_policy(
            "acme",
            &TenantPolicy { rate_limit: Some(limit), ..TenantPolicy::default() },
        )
        .await
        .unwrap();
    assert_eq!(tenant.policy.rate_limit, Some(limit));
    world.job("acme", "burst", "0 0 1 1 *", policy(OverlapPolicy::Allow)).await;
    let start = world.clock.now();
    // "Run now" counts against the limit too, and stays marked manual.
    for _ in 0..12 {
        world.rota.trigger(JobRef::named("acme", "burst"), None).await.unwrap();
    }
    let engines = [world.engine(&db, "node-a", 8).await, world.engine(&db, "node-b", 8).await];

    // The window slides: a start at +0 no longer counts at +60.
    let steps = [(0, 5), (30, 0), (59, 0), (60, 5), (61, 0), (119, 0), (120, 2), (200, 0)];
    for (second, expected) in steps {
        world.clock.set(start + secs(second) + chrono::Duration::milliseconds(1));
        assert_eq!(run_until_quiet(&engines).await, expected, "at +{second} s");
    }
    let runs = world.runs("burst").await;
    assert!(runs
        .iter()
        .all(|run| run.status == RunStatus::Succeeded && run.trigger == Trigger::Manual));
    let mut starts: Vec<DateTime<Utc>> = runs.iter().map(|run| run.started_at.unwrap()).collect();
    starts.sort();
    for (index, first) in starts.iter().enumerate() {
        let within = starts[index..].iter().filter(|s| **s < *first + secs(60)).count();
        assert!(within <= 5, "{within} starts within a minute from {first}");
    }
    // Runs that started late show that they waited for the rate limit.
    let waited = runs.iter().filter(|run| run.waited_for == Some(WaitedFor::RateLimit)).count();
    assert_eq!(waited, 7);
    assert!(runs
        .iter()
        .filter(|run| run.started_at == Some(start + chrono::Duration::milliseconds(1)))
        .all(|run| run.waited_for.is_none()));
});

// Starts are indexed for the rate limit only while the tenant has one (migration 0013,
// `runs.rate_counted`): a limit set later still counts the starts already in its window.
backend_test!(a_rate_limit_set_later_counts_the_starts_already_in_its_window, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 100).await;
    world.job("acme", "burst", "0 0 1 1 *", policy(OverlapPolicy::Allow)).await;
    for _ in 0..6 {
        world.rota.trigger(JobRef::named("acme", "burst"), None).await.unwrap();
    }
    let engines = [world.engine(&db, "node-a", 8).await];
    world.clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(run_until_quiet(&engines).await, 6, "no limit yet");

    world.clock.advance(secs(10));
    let limit = RateLimit { count: 5, window: Duration::from_secs(60) };
    world
        .rota
        .set_tenant_policy(
            "acme",
            &TenantPolicy { rate_limit: Some(limit), ..TenantPolicy::default() },
        )
        .await
        .unwrap();
    for _ in 0..3 {
        world.rota.trigger(JobRef::named("acme", "burst"), None).await.unwrap();
    }
    world.clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(run_until_quiet(&engines).await, 0, "six starts in the window already");
    // The first six leave the window at +60 s: room for five again.
    world.clock.advance(secs(51));
    assert_eq!(run_until_quiet(&engines).await, 3);
});

backend_test!(runs_record_that_they_waited_for_the_tenant_limit, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 1).await;
    world.job("acme", "a", "0 0 1 1 *", JobPolicy::default()).await;
    world.job("acme", "b", "0 0 1 1 *", JobPolicy::default()).await;
    world.board.block("a");
    let engine = world.engine(&db, "node-a", 4).await;
    world.rota.trigger(JobRef::named("acme", "a"), None).await.unwrap();
    world.clock.advance(chrono::Duration::milliseconds(500));
    world.rota.trigger(JobRef::named("acme", "b"), None).await.unwrap();
    assert_eq!(engine.dispatch_once().await.unwrap(), 1, "limit 1");
    started(&world.board, 1).await;
    world.clock.advance(secs(30));
    assert_eq!(engine.dispatch_once().await.unwrap(), 0);
    world.board.release();
    engine.wait_idle().await;
    engine.record_results_once().await.unwrap();
    run_until_quiet(std::slice::from_ref(&engine)).await;
    assert_eq!(world.runs("a").await[0].waited_for, None);
    let b = &world.runs("b").await[0];
    assert_eq!((b.status, b.waited_for), (RunStatus::Succeeded, Some(WaitedFor::TenantLimit)));
});

backend_test!(pause_and_resume_a_job_and_a_tenant, |db| {
    let world = World::new(&db, "2027-01-01T10:00:00Z").await;
    world.tenant("acme", 5).await;
    world.job("acme", "report", "*/5 * * * *", JobPolicy::default()).await;
    let engine = world.engine(&db, "node-a", 4).await;
    world.set("2027-01-01T10:05:00Z");
    engine.tick_once().await.unwrap();
    run_until_quiet(std::slice::from_ref(&engine)).await;

    // A paused job is not due, and the ticker does not wake for it.
    world.set("2027-01-01T10:06:00Z");
    let paused = world.rota.pause_job(JobRef::named("acme", "report")).await.unwrap();
    assert!(paused.paused);
    assert_eq!(world.store.next_due_at().await.unwrap(), None);
    world.set("2027-01-01T10:30:30Z");
    assert_eq!(engine.tick_once().await.unwrap().jobs, 0);
    // On resume, what it missed is recorded per its missed policy (run_once): 10:30 is on
    // time and runs, 10:10 to 10:25 are missed because of the pause.
    world.rota.resume_job(JobRef::named("acme", "report")).await.unwrap();
    let report = engine.tick_once().await.unwrap();
    assert_eq!((report.enqueued, report.recorded), (1, 4));
    let runs = world.runs("report").await;
    assert_eq!(
        runs[1].reason.as_deref(),
        Some("the job was paused; missed policy run_once: one catch-up run for the gap")
    );
    run_until_quiet(std::slice::from_ref(&engine)).await;

    // A paused tenant's runs wait; its overlapping occurrences are skipped; resume runs them.
    let pause = |paused| TenantUpdate { paused: Some(paused), ..TenantUpdate::default() };
    world.rota.update_tenant("acme", &pause(true), None).await.unwrap();
    world.set("2027-01-01T10:35:00Z");
    engine.tick_once().await.unwrap();
    assert_eq!(engine.dispatch_once().await.unwrap(), 0);
    world.set("2027-01-01T10:40:00Z");
    assert_eq!(engine.tick_once().await.unwrap().recorded, 1);
    world.rota.update_tenant("acme", &pause(false), None).await.unwrap();
    assert_eq!(run_until_quiet(std::slice::from_ref(&engine)).await, 1);
    let tail: Vec<_> = world
        .runs("report")
        .await
        .iter()
        .rev()
        .take(2)
        .map(|r| (r.status, r.reason.clone()))
        .collect();
    assert_eq!(
        tail,
        [
            (RunStatus::Skipped, Some("previous run still queued".to_owned())),
            (RunStatus::Succeeded, None),
        ]
    );
});

backend_test!(backfill_is_bounded_and_idempotent, |db| {
    let world = World::new(&db, "2027-01-02T00:00:00Z").await;
    world.tenant("acme", 50).await;
    world
        .job(
            "acme",
            "hourly",
            "0 * * * *",
            JobPolicy { missed: MissedPolicy::Skip, ..JobPolicy::default() },
        )
        .await;
    let engine = world.engine(&db, "node-a", 8).await;
    // The job misses 01:00 to 03:00 (skip policy), then runs 04:00 on time.
    world.set("2027-01-02T04:00:00Z");
    engine.tick_once().await.unwrap();
    run_until_quiet(std::slice::from_ref(&engine)).await;
    assert_eq!(world.runs("hourly").await.len(), 4);

    let hourly = JobRef::named("acme", "hourly");
    let (from, to) = (at("2027-01-01T20:00:00Z"), at("2027-01-02T04:00:00Z"));
    let range = |max| BackfillRequest { from, to, max, dry_run: false };
    let error = world.rota.backfill(hourly, &range(Some(5))).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid);
    assert!(error.to_string().contains("has more than 5 occurrences"), "{error}");
    assert!(!error.to_string().contains("--"), "the console's words, no CLI flag: {error}");
    // Where a backfill form starts: the last ten occurrences, a range a backfill accepts.
    let recent = world.rota.recent_occurrences(hourly, 10).await.unwrap();
    assert_eq!(recent, Some((at("2027-01-01T19:00:00Z"), at("2027-01-02T04:00:00Z"))));
    let (from10, to10) = recent.unwrap();
    let preview = BackfillRequest { from: from10, to: to10, max: None, dry_run: true };
    assert_eq!(world.rota.backfill(hourly, &preview).await.unwrap().occurrences.len(), 10);
    let future = BackfillRequest { to: at("2027-01-03T00:00:00Z"), ..range(None) };
    assert_eq!(world.rota.backfill(hourly, &future).await.unwrap_err().code(), ErrorCode::Invalid);

    // 20:00 to 04:00 is nine occurrences: 04:00 ran; 01:00 to 03:00 were skipped and run now.
    let report = world.rota.backfill(hourly, &range(Some(9))).await.unwrap().report.unwrap();
    assert_eq!((report.occurrences, report.queued, report.already_present), (9, 8, 1));
    let again = world.rota.backfill(hourly, &range(Some(9))).await.unwrap().report.unwrap();
    assert_eq!((again.queued, again.already_present), (0, 9), "idempotent");
    run_until_quiet(std::slice::from_ref(&engine)).await;
    let runs = world.runs("hourly").await;
    let backfilled: Vec<_> = runs.iter().filter(|run| run.trigger == Trigger::Backfill).collect();
    assert_eq!(backfilled.len(), 8);
    assert!(backfilled.iter().all(|run| run.status == RunStatus::Succeeded));
    let skipped_then_run = runs
        .iter()
        .filter(|run| run.scheduled_at == at("2027-01-02T02:00:00Z"))
        .map(|run| (run.attempt, run.status))
        .collect::<Vec<_>>();
    assert_eq!(skipped_then_run, [(1, RunStatus::Skipped), (2, RunStatus::Succeeded)]);
    let dry_run = BackfillRequest { dry_run: true, ..range(None) };
    let dry = world.rota.backfill(hourly, &dry_run).await.unwrap();
    assert_eq!((dry.occurrences.len(), dry.report), (9, None), "a dry run queues nothing");
});

backend_test!(jitter_offsets_are_stable_per_job, |db| {
    let world = World::new(&db, "2027-01-01T09:30:00Z").await;
    world.tenant("acme", 5).await;
    let window = Duration::from_secs(600);
    let job = world
        .job(
            "acme",
            "spread",
            "@hourly",
            JobPolicy { jitter_window: Some(window), ..JobPolicy::default() },
        )
        .await;
    let offset = chrono::Duration::from_std(jitter_offset(job.id, window)).unwrap();
    let engine = world.engine(&db, "node-a", 4).await;
    for hour in ["2027-01-01T10:00:00Z", "2027-01-01T11:00:00Z"] {
        world.set(hour);
        assert_eq!(engine.tick_once().await.unwrap().enqueued, 1);
        let run = world.runs("spread").await.pop().unwrap();
        assert_eq!((run.scheduled_at, run.not_before), (at(hour), at(hour) + offset));
        world.clock.set(at(hour) + offset - chrono::Duration::milliseconds(1));
        assert_eq!(engine.dispatch_once().await.unwrap(), 0, "not before its offset");
        world.clock.set(at(hour) + offset);
        assert_eq!(run_until_quiet(std::slice::from_ref(&engine)).await, 1);
        assert_eq!(
            world.board.executed_by("spread").last().unwrap().0,
            at(hour),
            "the nominal instant"
        );
    }
});

backend_test!(prune_keeps_the_last_runs_of_each_job, |db| {
    let world = World::new(&db, "2027-01-01T00:00:00Z").await;
    world.tenant("acme", 5).await;
    world.job("acme", "busy", "0 0 1 1 *", policy(OverlapPolicy::Allow)).await;
    world.job("acme", "quiet", "0 0 1 1 *", policy(OverlapPolicy::Allow)).await;
    let engine = world.engine(&db, "node-a", 4).await;
    for _ in 0..10 {
        world.clock.advance(secs(60));
        world.rota.trigger(JobRef::named("acme", "busy"), None).await.unwrap();
        run_until_quiet(std::slice::from_ref(&engine)).await;
    }
    for _ in 0..2 {
        world.clock.advance(secs(60));
        world.rota.trigger(JobRef::named("acme", "quiet"), None).await.unwrap();
        run_until_quiet(std::slice::from_ref(&engine)).await;
    }
    // An old queued run is never pruned.
    world
        .store
        .update_tenant(
            "acme",
            &TenantUpdate { paused: Some(true), ..TenantUpdate::default() },
            "tester",
            world.clock.now(),
        )
        .await
        .unwrap();
    world.rota.trigger(JobRef::named("acme", "quiet"), None).await.unwrap();
    world.clock.advance(chrono::Duration::days(40));
    let error = world.rota.prune_runs(0, 3).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid);
    assert_eq!(world.rota.prune_runs(30, 3).await.unwrap(), 7, "quiet has only 3");
    let busy = world.runs("busy").await;
    assert_eq!(busy.len(), 3);
    assert_eq!(
        busy.last().unwrap().scheduled_at,
        world.board.executed_by("busy").last().unwrap().0,
        "the newest stay"
    );
    assert_eq!(world.runs("quiet").await.len(), 3);
    assert_eq!(world.rota.prune_runs(30, 0).await.unwrap(), 3 + 2);
    assert_eq!(
        world.runs("quiet").await.iter().map(|r| r.status).collect::<Vec<_>>(),
        [RunStatus::Queued]
    );
});

backend_test!(run_statuses_are_checked_by_the_database, |db| {
    let world = World::new(&db, "2027-01-01T00:00:00Z").await;
    world.tenant("acme", 5).await;
    let job = world.job("acme", "report", "@hourly", JobPolicy::default()).await;
    let insert = |status: &str| {
        format!(
            "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, attempt, status, \
             queued_at, not_before) VALUES ($1, $2, $3, {}, 'schedule', 1, '{status}', 0, 0)",
            if status == "missed" { 1000 } else { 2000 }
        )
    };
    let (url, backend) = (db.url.clone(), db.backend);
    let outcome = |status: &'static str| {
        let url = url.clone();
        let statement = insert(status);
        let (job_id, tenant_id) = (job.id, job.tenant_id);
        async move {
            match backend {
                support::Backend::Postgres => {
                    let pool = sqlx::PgPool::connect(&url).await.unwrap();
                    sqlx::query(&statement)
                        .bind(uuid::Uuid::new_v4())
                        .bind(job_id)
                        .bind(tenant_id)
                        .execute(&pool)
                        .await
                        .map(|_| ())
                }
                support::Backend::Sqlite => {
                    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                    sqlx::query(&statement)
                        .bind(uuid::Uuid::new_v4())
                        .bind(job_id)
                        .bind(tenant_id)
                        .execute(&pool)
                        .await
                        .map(|_| ())
                }
            }
        }
    };
    outcome("missed").await.unwrap();
    let error = outcome("bogus").await.unwrap_err();
    assert!(error.as_database_error().is_some(), "{error}");
    let statuses: Vec<_> = world.runs("report").await.iter().map(|run| run.status).collect();
    assert_eq!(statuses, [RunStatus::Missed]);
});

/// Bad policy values exit with status 2 and an error naming the field, value and range.
#[test]
fn cli_rejects_bad_policies_with_exit_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rota.db").display());
    let rota = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rota"))
            .arg("--database")
            .arg(&url)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(rota(&["migrate"]).status.success());
    assert!(rota(&["tenant", "add", "acme"]).status.success());
    let add = [
        "job",
        "add",
        "--tenant",
        "acme",
        "--name",
        "hourly",
        "--schedule",
        "@hourly",
        "--http-url",
        "http://127.0.0.1:9/x",
    ];
    let cases: [(&[&str], &str); 5] = [
        (&["--catch-up-window", "600"], "catch_up_window: \"10m\" is invalid: allowed 1h-366d"),
        (&["--overlap", "sometimes"], "allowed: skip, queue_one, allow, cancel_previous"),
        (&["--missed", "later"], "allowed: run_once, run_all, skip"),
        (
            &["--backoff-initial", "-5"],
            "backoff_initial: \"-5\" is invalid: allowed 0-604800 seconds",
        ),
        (
            &["--missed-max-runs", "3"],
            "missed_max_runs: \"3\" is invalid: only applies to missed run_all",
        ),
    ];
    for (flags, message) in cases {
        let output = rota(&[&add[..], flags].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
    }
    let created = rota(&[&add[..], &["--max-retries", "3", "--overlap", "queue_one"]].concat());
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let set = rota(&[
        "job",
        "set",
        "--tenant",
        "acme",
        "--name",
        "hourly",
        "--auto-disable-after",
        "10",
        "--missed",
        "run_all",
        "--missed-max-runs",
        "24",
    ]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    let shown = rota(&["job", "show", "--tenant", "acme", "--name", "hourly", "--json"]);
    let job: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(job["policy"]["max_retries"], 3);
    assert_eq!(job["policy"]["overlap"], "queue_one");
    assert_eq!(job["policy"]["auto_disable_after"], 10);
    assert_eq!(job["policy"]["missed"], serde_json::json!({"run_all": {"max_runs": 24}}));
    let rate = rota(&["tenant", "set", "acme", "--rate-limit", "60/1x"]);
    assert_eq!(rate.status.code(), Some(2), "{}", String::from_utf8_lossy(&rate.stderr));
    let rate = rota(&["tenant", "set", "acme", "--rate-limit", "60/1m", "--max-concurrent", "4"]);
    assert!(rate.status.success(), "{}", String::from_utf8_lossy(&rate.stderr));
    let pruned = rota(&["runs", "prune", "--older-than-days", "30", "--keep-last", "5"]);
    assert!(pruned.status.success(), "{}", String::from_utf8_lossy(&pruned.stderr));
    // Checked before the daemon starts: it exits at once instead of serving.
    let serve = rota(&["serve", "--claim-ahead", "5000"]);
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert_eq!(serve.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--claim-ahead: 5000 is out of range; allowed 0-1000"), "{stderr}");
}

/// 0002 applied to a database holding data (0001's schema, filled): the runs survive the SQLite
/// table rebuild and the Postgres constraint swap, and existing jobs get the default policies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_0002_keeps_existing_data() {
    for backend in [support::Backend::Sqlite, support::Backend::Postgres] {
        let Some(db) = support::TestDatabase::create(backend).await else { continue };
        let folder = match backend {
            support::Backend::Sqlite => "sqlite",
            support::Backend::Postgres => "postgres",
        };
        let migration = |name: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(folder)
                .join(name);
            std::fs::read_to_string(path).unwrap()
        };
        let (tenant, job, run) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        let fill = [
            "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, 'acme', 0, 0)",
            "INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, payload, \
             timeout_ms, created_at, updated_at) VALUES ($2, $1, 'nightly', '@daily', 'UTC', \
             '{\"type\":\"named\",\"name\":\"x\"}', '{}', 1000, 0, 0)",
            "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, attempt, status, \
             queued_at, not_before, started_at, finished_at, error) \
             VALUES ($3, $2, $1, 1000, 'schedule', 1, 'failed', 0, 0, 5, 9, 'exit status 1')",
        ];
        let check = "SELECT r.status, r.error, r.reason, r.cancel_requested, j.overlap, \
                     j.missed, j.paused FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id = $1";
        type Row = (String, Option<String>, Option<String>, bool, String, String, bool);
        let row: Row = match backend {
            support::Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                sqlx::raw_sql(&migration("0001_init.sql")).execute(&pool).await.unwrap();
                for statement in fill {
                    sqlx::query(statement)
                        .bind(tenant)
                        .bind(job)
                        .bind(run)
                        .execute(&pool)
                        .await
                        .unwrap();
                }
                sqlx::raw_sql(&migration("0002_policies.sql")).execute(&pool).await.unwrap();
                sqlx::query_as(check).bind(run).fetch_one(&pool).await.unwrap()
            }
            support::Backend::Sqlite => {
                let options = db
                    .url
                    .parse::<sqlx::sqlite::SqliteConnectOptions>()
                    .unwrap()
                    .create_if_missing(true)
                    .foreign_keys(true);
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                sqlx::raw_sql(&migration("0001_init.sql")).execute(&pool).await.unwrap();
                for statement in fill {
                    sqlx::query(statement)
                        .bind(tenant)
                        .bind(job)
                        .bind(run)
                        .execute(&pool)
                        .await
                        .unwrap();
                }
                sqlx::raw_sql(&migration("0002_policies.sql")).execute(&pool).await.unwrap();
                sqlx::query_as(check).bind(run).fetch_one(&pool).await.unwrap()
            }
        };
        assert_eq!(
            row,
            (
                "failed".to_owned(),
                Some("exit status 1".to_owned()),
                None,
                false,
                "skip".to_owned(),
                "run_once".to_owned(),
                false
            ),
            "{folder}"
        );
    }
}

backend_test!(a_command_that_cannot_start_is_refused_before_it_is_saved, |db| {
    let world = World::new(&db, "2027-01-01T00:00:00Z").await;
    world.tenant("acme", 5).await;
    let command = |name: &str, program: &str| JobDefinition {
        handler: HandlerSpec::Command(rota::handler::CommandSpec::new(
            program,
            Vec::<String>::new(),
        )),
        ..definition(name, "@hourly")
    };
    let field_of = |error: rota::Error| match error {
        rota::Error::Invalid { field, reason, .. } => (field, reason),
        other => panic!("not a validation error: {other}"),
    };
    // Spaces are the typo wherever the job will run: refused by every Rota, with the split.
    let none = JobPolicy::default();
    let typo = command("echo", "/bin/echo hello");
    let (field, reason) = field_of(world.rota.add_job("acme", &typo, &none).await.unwrap_err());
    assert_eq!(field, "handler.program");
    assert!(reason.contains("did you mean program `/bin/echo` with argument `hello`?"), "{reason}");
    // A missing absolute program is refused only where the commands run (CLI, Local mode); a
    // Connected console's workstation may lack what the servers have.
    let missing = command("missing", "/nonexistent/rota-test-program");
    world.rota.add_job("acme", &missing, &none).await.unwrap();
    let here = world.rota.clone().checking_programs_here();
    let missing = command("missing-here", "/nonexistent/rota-test-program");
    let (field, reason) = field_of(here.add_job("acme", &missing, &none).await.unwrap_err());
    assert_eq!(field, "handler.program");
    assert!(reason.contains("does not exist on this machine"), "{reason}");
    // An edit is checked the same way; a program that exists, or a name from PATH, passes.
    let job = here.add_job("acme", &command("true", "/bin/true"), &none).await.unwrap();
    let typo = command("true", "/bin/ture");
    let edit = here.update_job(job.id, job.version, &typo, None).await;
    assert_eq!(field_of(edit.unwrap_err()).0, "handler.program");
    let from_path = command("true", "true");
    here.update_job(job.id, job.version, &from_path, None).await.unwrap();
});
