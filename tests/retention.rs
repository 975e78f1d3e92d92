//! Retention in every node (`rota serve --keep-runs`): old finished runs go, each job's latest
//! stay, running work is never touched; and where Postgres does not vacuum by itself (this
//! project's CI servers run with autovacuum off), the pass reclaims the space itself, so a
//! database under retention stops growing (the soak found `runs` growing at constant rows).

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rota::api::{JobPolicy, Rota, TenantPolicy};
use rota::clock::{Clock, ManualClock};
use rota::engine::retention::RetentionPolicy;
use rota::engine::{Engine, EngineConfig};
use rota::handler::{HandlerRegistry, HandlerSpec, Outcome};
use rota::job::JobDefinition;
use rota::run::RunStatus;
use rota::store::prelude::*;
use rota::store::{AnyStore, RunFilter};
use rota::tenant::NewTenant;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct Ok;

#[async_trait::async_trait]
impl rota::handler::Handler for Ok {
    async fn run(
        &self,
        _envelope: &rota::handler::Envelope,
        _cancel: tokio_util::sync::CancellationToken,
    ) -> Outcome {
        Outcome::succeeded("ok")
    }
}

fn registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register("ok", Arc::new(Ok)).unwrap();
    registry
}

fn engine(store: &AnyStore, clock: &ManualClock, retention: RetentionPolicy) -> Engine<AnyStore> {
    let mut config = EngineConfig::new("retention-node");
    config.retention = retention;
    Engine::with_registry(store.clone(), Arc::new(clock.clone()), config, registry())
}

async fn runs_of(store: &AnyStore) -> Vec<rota::run::Run> {
    store.list_runs(&RunFilter { limit: Some(10_000), ..RunFilter::default() }).await.unwrap()
}

backend_test!(a_pass_deletes_old_finished_runs_and_keeps_each_jobs_latest, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T00:00:00Z"));
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_registry(registry());
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    let definition = JobDefinition {
        name: "minutely".into(),
        schedule: "* * * * *".into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Named { name: "ok".into() },
        payload: serde_json::Value::Null,
        timeout: Duration::from_secs(10),
    };
    rota.add_job("acme", &definition, &JobPolicy::default()).await.unwrap();
    let policy = RetentionPolicy {
        runs_older_than: Some(Duration::from_secs(10 * 60)),
        keep_last_per_job: 3,
        notifications_older_than: Some(Duration::from_secs(10 * 60)),
        every: Duration::from_secs(60),
    };
    let engine = engine(&store, &clock, policy);
    // Thirty minutes of runs, one a minute.
    for _ in 0..30 {
        clock.advance(TimeDelta::minutes(1));
        engine.tick_once().await.unwrap();
        while engine.dispatch_once().await.unwrap() > 0 {}
        // The run executes on its own task: its result is recorded once it is there (else the
        // next minute's occurrence finds it running and is skipped as overlapping).
        engine.wait_idle().await;
        engine.record_results_once().await.unwrap();
    }
    let before = runs_of(&store).await;
    assert_eq!(before.iter().filter(|run| run.status == RunStatus::Succeeded).count(), 30);

    let pruned = engine.prune_once().await.unwrap();
    let after = runs_of(&store).await;
    let now = clock.now();
    assert!(
        after.iter().all(|run| now - run.scheduled_at <= TimeDelta::minutes(10)),
        "runs older than ten minutes are gone"
    );
    assert_eq!(pruned.runs as usize, before.len() - after.len());
    assert!((9..=11).contains(&after.len()), "the last ten minutes stay: {}", after.len());

    // Far later, only the job's latest three stay, however old.
    clock.advance(TimeDelta::days(30));
    engine.prune_once().await.unwrap();
    assert_eq!(runs_of(&store).await.len(), 3);

    // Keeping everything deletes nothing.
    let keep_all = engine_keep_all(&store, &clock);
    assert_eq!(keep_all.prune_once().await.unwrap().runs, 0);
    assert_eq!(runs_of(&store).await.len(), 3);
});

fn engine_keep_all(store: &AnyStore, clock: &ManualClock) -> Engine<AnyStore> {
    engine(store, clock, RetentionPolicy::KEEP_ALL)
}

/// Where Postgres's autovacuum is off, a retention pass vacuums the tables Rota churns; where it
/// is on, it leaves them to autovacuum.
#[tokio::test]
async fn a_pass_reclaims_space_where_postgres_does_not_vacuum_by_itself() {
    use sqlx::Connection;
    let Some(db) = support::TestDatabase::create(support::Backend::Postgres).await else { return };
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T00:00:00Z"));
    let engine = engine(&store, &clock, RetentionPolicy::default());
    let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let autovacuum: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    let before = runs_vacuumed(&mut connection).await;
    let pruned = engine.prune_once().await.unwrap();
    assert_eq!(pruned.reclaimed, autovacuum == "off", "autovacuum is {autovacuum}");
    let after = runs_vacuumed(&mut connection).await;
    if autovacuum == "off" {
        assert!(after > before, "runs was not vacuumed: {before} → {after}");
    } else {
        assert_eq!(after, before, "autovacuum is on: Rota leaves vacuuming to it");
    }
    connection.close().await.unwrap();
    store.close().await;
}

/// How many times `runs` was vacuumed by hand (a new statement reads fresh statistics).
async fn runs_vacuumed(connection: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'runs'")
        .fetch_one(connection)
        .await
        .unwrap()
}
