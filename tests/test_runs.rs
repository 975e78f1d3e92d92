//! The job editor's test runs (issue 15) on both backends: an unsaved definition run once by the
//! engine (trigger `test`, no job row), validated as a save is, counted as its tenant's work, and
//! touching no job. Engines are driven step by step on a `ManualClock`. Who may start one on
//! Postgres is in `tests/access.rs` (`a_test_run_needs_edit_in_its_tenant`).

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::api::{AuditFilter, JobRef, Rota, TenantUpdate};
use rota::clock::{Clock, ManualClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{CommandSpec, Envelope, Handler, HandlerRegistry, HandlerSpec, Outcome};
use rota::job::JobDefinition;
use rota::policy::{JobPolicy, TenantPolicy};
use rota::run::{RunStatus, Trigger};
use rota::store::{AnyStore, RunFilter};
use rota::tenant::NewTenant;
use tokio_util::sync::CancellationToken;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// An in-process handler that fails for the job names in `failing` and records the trigger of
/// every execution.
#[derive(Default)]
struct Board {
    failing: Mutex<HashSet<String>>,
    executed: Mutex<Vec<(String, Trigger)>>,
}

#[async_trait::async_trait]
impl Handler for Board {
    async fn run(&self, envelope: &Envelope, _cancel: CancellationToken) -> Outcome {
        self.executed.lock().unwrap().push((envelope.job.clone(), envelope.trigger));
        if self.failing.lock().unwrap().contains(&envelope.job) {
            Outcome::failed("boom")
        } else {
            Outcome::succeeded("ok")
        }
    }
}

fn definition(name: &str, handler: HandlerSpec) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: "*/5 * * * *".into(),
        timezone: "UTC".into(),
        handler,
        payload: serde_json::json!({"from": "the editor"}),
        timeout: Duration::from_secs(30),
    }
}

fn board_handler() -> HandlerSpec {
    HandlerSpec::Named { name: "board".into() }
}

struct World {
    rota: Rota<AnyStore>,
    board: Arc<Board>,
    engine: Engine<AnyStore>,
}

impl World {
    async fn new(db: &support::TestDatabase, max_concurrent: u32) -> World {
        let clock = ManualClock::new(at("2027-03-01T09:00:00Z"));
        let board = Arc::new(Board::default());
        let mut registry = HandlerRegistry::new();
        registry.register("board", board.clone()).unwrap();
        let rota = Rota::new(db.store().await, Arc::new(clock.clone()) as Arc<dyn Clock>)
            .with_registry(registry.clone());
        rota.add_tenant(
            &NewTenant { name: "acme".into(), max_concurrent, weight: 1 },
            &TenantPolicy::default(),
        )
        .await
        .unwrap();
        let mut config = EngineConfig::new("node-a");
        config.workers = 4;
        let store = AnyStore::connect(&db.url).await.unwrap();
        let engine = Engine::with_registry(store, Arc::new(clock.clone()), config, registry);
        engine.register().await.unwrap();
        World { rota, board, engine }
    }

    /// Claims, executes and records once; how many runs started.
    async fn dispatch(&self) -> usize {
        let started = self.engine.dispatch_once().await.unwrap();
        self.engine.wait_idle().await;
        self.engine.record_results_once().await.unwrap();
        started
    }

    async fn count_runs(&self, db: &support::TestDatabase) -> i64 {
        with_connection!(db, |connection| {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM runs")
                .fetch_one(&mut connection)
                .await
                .unwrap()
        })
    }
}

backend_test!(a_failing_test_run_records_its_error_and_touches_no_job, |db| {
    let world = World::new(&db, 3).await;
    // A saved job of the same name that one failure would disable.
    let strict = JobPolicy { auto_disable_after: Some(1), ..JobPolicy::default() };
    let saved =
        world.rota.add_job("acme", &definition("flaky", board_handler()), &strict).await.unwrap();
    world.board.failing.lock().unwrap().insert("flaky".into());

    let edited = JobDefinition { timeout: Duration::from_secs(5), ..saved.definition() };
    let queued = world.rota.test_run("acme", &edited).await.unwrap();
    assert_eq!(
        (queued.trigger, queued.job_id, queued.job.as_str(), queued.status),
        (Trigger::Test, None, "flaky", RunStatus::Queued)
    );
    assert_eq!(queued.payload, Some(serde_json::json!({"from": "the editor"})));
    assert_eq!(world.dispatch().await, 1);

    let run = world.rota.run(queued.id).await.unwrap();
    assert_eq!((run.status, run.error.as_deref()), (RunStatus::Failed, Some("boom")));
    assert_eq!(run.trigger, Trigger::Test);
    assert_eq!(*world.board.executed.lock().unwrap(), vec![("flaky".to_owned(), Trigger::Test)]);
    // The job is as it was: no streak, no auto-disable, no last run, the same next run and
    // version, no history; no retry was queued, and no event written.
    let job = world.rota.job(saved.id).await.unwrap();
    assert_eq!((job.consecutive_failures, job.enabled, job.last_error), (0, true, None));
    assert_eq!((job.last_run_at, job.next_run_at, job.version), (None, saved.next_run_at, 1));
    assert!(world.rota.job_runs(saved.id, 10).await.unwrap().is_empty());
    let listed = world.rota.list_runs(&RunFilter::default()).await.unwrap();
    assert!(listed.is_empty(), "a test run is no job's history: {listed:?}");
    assert_eq!(world.count_runs(&db).await, 1, "no retry");
    assert!(world.rota.outbox_events(10).await.unwrap().is_empty());
    // A second dispatch finds nothing: the test run ran once.
    assert_eq!(world.dispatch().await, 0);
    // The audit log says who ran what.
    let entries = world.rota.audit_log(&AuditFilter::default()).await.unwrap();
    let entry = entries
        .iter()
        .find(|entry| entry.job.as_deref() == Some("flaky") && entry.job_id.is_none())
        .unwrap();
    assert_eq!(entry.action.as_str(), "job.triggered");
    let after = entry.after.as_ref().unwrap();
    assert_eq!(
        (after["trigger"].as_str(), after["run_id"].as_str()),
        (Some("test"), Some(&*queued.id.to_string()))
    );
    assert_eq!(after["definition"]["timeout"]["secs"], 5);
    // A test run is no job's occurrence.
    assert!(world.rota.occurrence(queued.id).await.is_err());
});

backend_test!(a_test_run_executes_a_command_and_keeps_its_output, |db| {
    let world = World::new(&db, 3).await;
    let shell = CommandSpec::new("/bin/sh", ["-c", "echo tested; exit 3"]);
    let queued = world
        .rota
        .test_run("acme", &definition("draft", HandlerSpec::Command(shell)))
        .await
        .unwrap();
    assert_eq!(world.dispatch().await, 1);
    let run = world.rota.run(queued.id).await.unwrap();
    assert_eq!((run.status, run.exit_code), (RunStatus::Failed, Some(3)), "{run:?}");
    assert!(run.output.as_deref().unwrap_or("").contains("tested"), "{run:?}");
    assert!(run.started_at.is_some() && run.finished_at.is_some());
});

backend_test!(a_test_run_waits_for_its_tenants_slots_and_pause, |db| {
    let world = World::new(&db, 1).await;
    // The tenant is paused: the test run waits like the tenant's other work.
    let pause = |paused| TenantUpdate { paused: Some(paused), ..TenantUpdate::default() };
    world.rota.update_tenant("acme", &pause(true), None).await.unwrap();
    let first = world.rota.test_run("acme", &definition("one", board_handler())).await.unwrap();
    let second = world.rota.test_run("acme", &definition("two", board_handler())).await.unwrap();
    assert_eq!(world.engine.dispatch_once().await.unwrap(), 0);
    world.rota.update_tenant("acme", &pause(false), None).await.unwrap();
    // One slot (max_concurrent 1): one test run at a time.
    assert_eq!(world.engine.dispatch_once().await.unwrap(), 1);
    world.engine.wait_idle().await;
    world.engine.record_results_once().await.unwrap();
    assert_eq!(world.dispatch().await, 1);
    for id in [first.id, second.id] {
        assert_eq!(world.rota.run(id).await.unwrap().status, RunStatus::Succeeded);
    }
});

backend_test!(a_test_run_is_validated_as_a_save_and_refused_ones_write_nothing, |db| {
    let world = World::new(&db, 3).await;
    let command = |program: &str| {
        definition("draft", HandlerSpec::Command(CommandSpec::new(program, Vec::<String>::new())))
    };
    let field_of = |error: rota::Error| match error {
        rota::Error::Invalid { field, reason, .. } => (field, reason),
        other => panic!("not a validation error: {other}"),
    };
    // The same named errors as saving: a program with a space, with the split offered ...
    let typo = command("/bin/echo hello");
    let (field, reason) = field_of(world.rota.test_run("acme", &typo).await.unwrap_err());
    let saved =
        field_of(world.rota.add_job("acme", &typo, &JobPolicy::default()).await.unwrap_err());
    assert_eq!((field.as_str(), reason.as_str()), (saved.0.as_str(), saved.1.as_str()));
    assert_eq!(field, "handler.program");
    assert!(reason.contains("did you mean program `/bin/echo` with argument `hello`?"), "{reason}");
    // ... a missing program where the commands run, a bad schedule, an unknown named handler, a
    // zero timeout.
    let here = world.rota.clone().checking_programs_here();
    let missing = command("/nonexistent/rota-test-program");
    assert_eq!(field_of(here.test_run("acme", &missing).await.unwrap_err()).0, "handler.program");
    let bad_schedule = JobDefinition { schedule: "61 * * * *".into(), ..command("/bin/true") };
    assert!(world.rota.test_run("acme", &bad_schedule).await.is_err());
    let unknown = definition("draft", HandlerSpec::Named { name: "nobody".into() });
    assert_eq!(
        field_of(world.rota.test_run("acme", &unknown).await.unwrap_err()).0,
        "handler.name"
    );
    let no_time = JobDefinition { timeout: Duration::ZERO, ..command("/bin/true") };
    assert_eq!(field_of(world.rota.test_run("acme", &no_time).await.unwrap_err()).0, "timeout");
    // An unknown tenant is not found.
    assert!(world.rota.test_run("nobody", &command("/bin/true")).await.is_err());
    // Nothing was written: no run, no audit entry but the tenant's.
    assert_eq!(world.count_runs(&db).await, 0);
    let entries = world.rota.audit_log(&AuditFilter::default()).await.unwrap();
    assert!(entries.iter().all(|entry| entry.job.is_none()), "{entries:?}");
    // The same job saved and run now still has its own history.
    let job =
        world.rota.add_job("acme", &command("/bin/true"), &JobPolicy::default()).await.unwrap();
    world.rota.trigger(JobRef::Id(job.id), None).await.unwrap();
    assert_eq!(world.rota.job_runs(job.id, 10).await.unwrap().len(), 1);
});
