//! The store's behavioural suite: every test runs on SQLite and on Postgres, and both must pass.
//! It replaces the compile-time query checks that sqlx can only do for one database, and it is
//! the reference for what the `Store` methods promise.
//!
//! Each test is an `async fn(store: AnyStore)` registered in [`store_tests!`], which makes a
//! module per test holding two `#[tokio::test]`s: `sqlite` (a fresh file in a temporary
//! directory) and `postgres` (a fresh database `rota_test_<random>` on the server at
//! `ROTA_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`, dropped at the
//! end even when the test fails). Without a reachable server the Postgres half prints a notice
//! and passes, unless `CI` is set or `ROTA_REQUIRE_POSTGRES=1`, where it fails.
//!
//! Every instant is fixed (the store never reads a clock), and tests wait on results, never on
//! sleeps.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::engine::{DueJob, PlannedRun, TickPlan};
use rota::handler::HandlerSpec;
use rota::job::{Job, JobDefinition};
use rota::policy::{
    Backoff, JobPolicy, MissedPolicy, OverlapPolicy, RateLimit, TenantPolicy, WaitedFor,
};
use rota::run::{RunStatus, Trigger};
use rota::store::prelude::*;
use rota::store::{
    AnyStore, Backend, ClaimedRun, JobFilter, NodeHealth, NodeInfo, RunFilter, RunResult,
    TenantUpdate, TickReport,
};
use rota::tenant::{NewTenant, Tenant};
use rota::ErrorCode;
use serde_json::json;
use uuid::Uuid;

/// Makes `mod name { sqlite(), postgres() }` for each listed test function.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    crate::harness::on_sqlite(super::$name).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    crate::harness::on_postgres(super::$name).await;
                }
            }
        )*
    };
}

store_tests!(
    migrate_twice_is_idempotent,
    tenants_are_unique_by_name,
    tenant_updates_change_only_what_is_given,
    jobs_are_unique_per_tenant,
    update_job_with_stale_version_changes_nothing,
    named_handlers_upsert,
    enqueue_due_enqueues_each_occurrence_once,
    enqueue_due_batches_many_jobs,
    disabled_jobs_are_not_due,
    enqueue_manual_never_takes_a_scheduled_instant,
    claim_respects_max_concurrent,
    paused_tenant_is_not_claimed,
    future_not_before_is_not_claimed,
    claim_ahead_takes_runs_due_within_the_horizon_and_starts_them_on_their_instant,
    claim_serves_a_small_tenant_next_to_a_big_one,
    claim_gives_each_tenant_up_to_its_weight,
    claim_rotates_between_tenants,
    claimed_run_carries_what_execution_needs,
    complete_rejects_a_stale_claim,
    expired_lease_is_recovered_as_a_new_attempt,
    renew_extends_the_lease,
    renew_leaves_unlisted_runs_to_expire,
    release_requeues_the_nodes_runs,
    retry_queues_the_next_attempt,
    failure_streak_counts_and_resets,
    one_batch_of_results_keeps_each_jobs_order,
    a_result_sent_again_after_its_commit_counts_as_recorded,
    record_and_claim_claims_the_slots_the_results_free,
    complete_bounds_output_and_error,
    list_runs_filters_and_orders,
    concurrent_claims_never_exceed_max_concurrent,
    nodes_register_heartbeat_and_stop,
    claim_respects_the_rate_limit,
    exclusive_jobs_run_one_at_a_time,
    tick_records_occurrences_that_do_not_run_and_supersedes,
    complete_auto_disables_once_with_an_outbox_event,
    job_policies_round_trip,
    a_closed_store_reports_a_connection_problem,
);

/// Measurements, not tests: `#[ignore]`d, run with
/// `cargo test --release --test store_suite throughput -- --ignored --nocapture`.
macro_rules! store_measurements {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "a measurement; run it with --ignored --nocapture"]
                async fn sqlite() {
                    crate::harness::on_sqlite(super::$name).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "a measurement; run it with --ignored --nocapture"]
                async fn postgres() {
                    crate::harness::on_postgres(super::$name).await;
                }
            }
        )*
    };
}

store_measurements!(claim_throughput);

// Backend-independent checks.

#[test]
fn migration_folders_have_the_same_files() {
    let names = |dialect: &str| -> Vec<String> {
        let folder =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(dialect);
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let postgres = names("postgres");
    assert!(!postgres.is_empty());
    assert_eq!(postgres, names("sqlite"), "migrations/postgres and migrations/sqlite must match");
}

/// Both migration folders make the same tables with the same columns, each nullable on both or
/// on neither (types differ by design: `BIGINT` against `INTEGER`, `UUID` against `BLOB`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_make_the_same_tables_and_columns_on_both_backends() {
    let sqlite = harness::migrated_sqlite_schema().await;
    let Some(mut postgres) = harness::migrated_postgres_schema().await else { return };
    assert!(sqlite.contains_key("runs") && postgres.contains_key("runs"), "{sqlite:?}");
    for table in POSTGRES_ONLY_TABLES {
        assert!(postgres.remove(*table).is_some(), "{table} is listed as Postgres only");
    }
    let differences = schema_differences(&sqlite, &postgres);
    assert!(
        differences == KNOWN_SCHEMA_DIFFERENCES,
        "migrations/sqlite and migrations/postgres make different schemas:\n{}\n(known: {:?}; \
         a known difference that is gone must leave the list too)",
        differences.join("\n"),
        KNOWN_SCHEMA_DIFFERENCES
    );
}

/// Differences the migrations have today, each to be fixed by a migration on both backends.
/// `nodes.id` is `TEXT PRIMARY KEY` without `NOT NULL` in SQLite's 0001, so SQLite would accept
/// a node without an id (Rota never writes one); Postgres makes a primary key `NOT NULL`.
const KNOWN_SCHEMA_DIFFERENCES: &[&str] = &["  nodes.id: nullable on SQLite, NOT NULL on Postgres"];

/// Tables that exist only on Postgres, each for a reason. `access_grants` (migration 0010):
/// which login role may do what in which tenant, read by Postgres' row-level security
/// policies; SQLite is single-user (whoever opens the file may do everything), so it has no
/// roles to grant.
const POSTGRES_ONLY_TABLES: &[&str] = &["access_grants"];

/// Tables by name, each with its columns by name and whether the column may be `NULL`
/// (sqlx's `_sqlx_migrations` bookkeeping left out).
type Schema = BTreeMap<String, BTreeMap<String, bool>>;

/// What differs between the two schemas, one line each.
fn schema_differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let nullable = |yes: bool| if yes { "nullable" } else { "NOT NULL" };
    let mut differences = Vec::new();
    let tables: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for table in tables {
        let (on_sqlite, on_postgres) = match (sqlite.get(table), postgres.get(table)) {
            (Some(on_sqlite), Some(on_postgres)) => (on_sqlite, on_postgres),
            (Some(_), None) => {
                differences.push(format!("  table {table}: only on SQLite"));
                continue;
            }
            (None, _) => {
                differences.push(format!("  table {table}: only on Postgres"));
                continue;
            }
        };
        let columns: BTreeSet<&String> = on_sqlite.keys().chain(on_postgres.keys()).collect();
        for column in columns {
            match (on_sqlite.get(column), on_postgres.get(column)) {
                (Some(a), Some(b)) if a != b => differences.push(format!(
                    "  {table}.{column}: {} on SQLite, {} on Postgres",
                    nullable(*a),
                    nullable(*b)
                )),
                (Some(_), None) => {
                    differences.push(format!("  {table}.{column}: only on SQLite"));
                }
                (None, Some(_)) => {
                    differences.push(format!("  {table}.{column}: only on Postgres"));
                }
                _ => {}
            }
        }
    }
    differences
}

#[test]
fn schema_differences_are_listed_one_per_line() {
    let schema = |tables: &[(&str, &[(&str, bool)])]| -> Schema {
        tables
            .iter()
            .map(|(table, columns)| {
                let columns = columns.iter().map(|(name, null)| (name.to_string(), *null));
                (table.to_string(), columns.collect())
            })
            .collect()
    };
    let sqlite = schema(&[("jobs", &[("id", false), ("note", true)]), ("extra", &[("x", true)])]);
    let postgres = schema(&[("jobs", &[("id", false), ("note", false), ("name", false)])]);
    assert_eq!(
        schema_differences(&sqlite, &postgres),
        [
            "  table extra: only on SQLite",
            "  jobs.name: only on Postgres",
            "  jobs.note: nullable on SQLite, NOT NULL on Postgres",
        ]
    );
    assert!(schema_differences(&postgres, &postgres).is_empty());
}

#[tokio::test]
async fn connect_picks_the_backend_from_the_url() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/rota.db");
    let store = AnyStore::connect(&format!("sqlite:{}", nested.display())).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    assert!(nested.exists(), "the file and its directories are created");
    store.close().await;

    let memory = AnyStore::connect("sqlite::memory:").await.unwrap();
    memory.migrate().await.unwrap();
    memory.create_tenant(&NewTenant::named("acme"), "tester", t(0)).await.unwrap();
    assert_eq!(memory.list_tenants().await.unwrap().len(), 1);

    let error = AnyStore::connect("mysql://user:secret@host/db").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid);
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[tokio::test]
async fn unreachable_databases_are_connection_problems() {
    // Nothing listens on port 1: every connection is refused, until the pool gives up (after a
    // second here rather than the default 30).
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy("postgres://postgres@127.0.0.1:1/rota")
        .unwrap();
    let refused = AnyStore::from(rota::store::PgStore::from_pool(pool)).list_tenants().await;
    let refused = refused.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Database, "{refused}");
    assert!(refused.is_connection_problem(), "{refused:?}");

    // A directory where the database file should be: SQLite cannot open it.
    let dir = tempfile::tempdir().unwrap();
    let unopenable = AnyStore::connect(&format!("sqlite:{}", dir.path().display())).await;
    let error = unopenable.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Database, "{error}");
    assert!(error.is_connection_problem(), "{error:?}");
}

// Fixtures.

const NODE: &str = "node-a";
const TTL: Duration = Duration::from_secs(30);

/// A fixed instant: `seconds` after 2030-01-01T00:00:00Z.
fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_893_456_000 + seconds, 0).unwrap()
}

fn definition(name: &str) -> JobDefinition {
    JobDefinition {
        name: name.to_owned(),
        schedule: "*/5 * * * *".to_owned(),
        timezone: "Europe/Berlin".to_owned(),
        handler: HandlerSpec::Named { name: "reports.daily".to_owned() },
        payload: json!({ "report": name, "rows": [1, 2, 3] }),
        timeout: Duration::from_secs(90),
    }
}

async fn tenant(store: &AnyStore, name: &str, max_concurrent: u32, weight: u32) -> Tenant {
    let tenant = NewTenant { name: name.to_owned(), max_concurrent, weight };
    store.create_tenant(&tenant, "tester", t(0)).await.unwrap()
}

/// A job due at `t(0)`.
async fn job(store: &AnyStore, tenant: &Tenant, name: &str) -> Job {
    store
        .create_job(tenant.id, &definition(name), &JobPolicy::default(), Some(t(0)), "tester", t(0))
        .await
        .unwrap()
}

/// Runs the tick at `now` with a plan that enqueues the given occurrences of the given jobs and
/// leaves them with no next run.
async fn enqueue(
    store: &AnyStore,
    now: DateTime<Utc>,
    occurrences: &[(Uuid, Vec<DateTime<Utc>>)],
) -> TickReport {
    let planned: HashMap<Uuid, Vec<DateTime<Utc>>> = occurrences.iter().cloned().collect();
    let plan = move |due: &DueJob| {
        TickPlan::enqueue(&planned.get(&due.job_id).cloned().unwrap_or_default(), None)
    };
    store.enqueue_due(now, now, 10_000, &plan).await.unwrap()
}

/// `count` whole-second occurrences ending at `t(0)`, all ready at `t(0)`.
fn past(count: i64) -> Vec<DateTime<Utc>> {
    (0..count).map(|k| t(-k)).collect()
}

/// A job of a new tenant with `count` ready runs.
async fn tenant_with_runs(
    store: &AnyStore,
    name: &str,
    max_concurrent: u32,
    weight: u32,
    count: i64,
) -> (Tenant, Job) {
    let tenant = tenant(store, name, max_concurrent, weight).await;
    let job = job(store, &tenant, &format!("{name}-job")).await;
    let report = enqueue(store, t(0), &[(job.id, past(count))]).await;
    assert_eq!(report.enqueued, u64::try_from(count).unwrap());
    (tenant, job)
}

/// The result of `claimed` as its node would report it.
fn result(claimed: &ClaimedRun, status: RunStatus, at: DateTime<Utc>) -> RunResult {
    RunResult {
        run_id: claimed.run.id,
        node_id: claimed.run.lease_owner.clone().expect("a claimed run has an owner"),
        fencing_token: claimed.run.fencing_token,
        status,
        finished_at: at,
        duration_ms: 1500,
        exit_code: Some(if status == RunStatus::Succeeded { 0 } else { 1 }),
        http_status: None,
        output: "done\n".to_owned(),
        error: (status != RunStatus::Succeeded).then(|| "exit status 1".to_owned()),
        retry_at: None,
    }
}

fn count_by_tenant(claimed: &[ClaimedRun]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for run in claimed {
        *counts.entry(run.run.tenant.clone()).or_default() += 1;
    }
    counts
}

// Tests.

async fn migrate_twice_is_idempotent(store: AnyStore) {
    // The harness migrated once already.
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    tenant(&store, "acme", 3, 1).await;
    store.migrate().await.unwrap();
    assert_eq!(store.list_tenants().await.unwrap().len(), 1);
}

async fn a_closed_store_reports_a_connection_problem(store: AnyStore) {
    tenant(&store, "acme", 3, 1).await;
    let duplicate =
        store.create_tenant(&NewTenant::named("acme"), "tester", t(0)).await.unwrap_err();
    assert_eq!(duplicate.code(), ErrorCode::AlreadyExists);
    assert_eq!(duplicate.database_problem(), None);

    store.close().await;
    let read = store.list_tenants().await.unwrap_err();
    assert_eq!(read.code(), ErrorCode::Database, "{read}");
    assert!(read.is_connection_problem(), "{read:?}");
    let write = store.create_tenant(&NewTenant::named("other"), "tester", t(0)).await.unwrap_err();
    assert!(write.is_connection_problem(), "{write:?}");
    let migrate = store.migrate().await.unwrap_err();
    assert_eq!(migrate.code(), ErrorCode::Database, "{migrate}");
    assert!(migrate.is_connection_problem(), "{migrate:?}");
}

async fn tenants_are_unique_by_name(store: AnyStore) {
    let acme = tenant(&store, "acme", 5, 2).await;
    assert_eq!(
        (acme.name.as_str(), acme.max_concurrent, acme.weight, acme.paused),
        ("acme", 5, 2, false)
    );
    assert_eq!(acme.created_at, t(0));
    assert_eq!(store.tenant_by_name("acme").await.unwrap(), acme);

    let error = store.create_tenant(&NewTenant::named("acme"), "tester", t(1)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyExists, "{error}");

    let error = store.tenant_by_name("nobody").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound, "{error}");

    tenant(&store, "beta", 1, 1).await;
    let names: Vec<String> =
        store.list_tenants().await.unwrap().into_iter().map(|tenant| tenant.name).collect();
    assert_eq!(names, ["acme", "beta"]);
}

async fn tenant_updates_change_only_what_is_given(store: AnyStore) {
    tenant(&store, "acme", 5, 2).await;
    let paused = store
        .update_tenant(
            "acme",
            &TenantUpdate { paused: Some(true), ..TenantUpdate::default() },
            "tester",
            t(10),
        )
        .await
        .unwrap();
    assert_eq!((paused.paused, paused.max_concurrent, paused.weight), (true, 5, 2));
    assert_eq!(paused.updated_at, t(10));
    let changed = store
        .update_tenant(
            "acme",
            &TenantUpdate { max_concurrent: Some(7), weight: Some(3), paused: None },
            "tester",
            t(20),
        )
        .await
        .unwrap();
    assert_eq!((changed.paused, changed.max_concurrent, changed.weight), (true, 7, 3));

    let error =
        store.update_tenant("nobody", &TenantUpdate::default(), "tester", t(20)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound);
}

async fn jobs_are_unique_per_tenant(store: AnyStore) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let beta = tenant(&store, "beta", 3, 1).await;
    let created = job(&store, &acme, "nightly").await;
    assert_eq!(created.tenant, "acme");
    assert_eq!(created.definition_parts(), definition("nightly").definition_parts());
    assert_eq!((created.version, created.enabled, created.consecutive_failures), (1, true, 0));
    assert_eq!(created.next_run_at, Some(t(0)));
    assert_eq!(created.last_run_at, None);

    assert_eq!(store.job(created.id).await.unwrap(), created);
    assert_eq!(store.job_by_name("acme", "nightly").await.unwrap(), created);

    let error = store
        .create_job(acme.id, &definition("nightly"), &JobPolicy::default(), None, "tester", t(1))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyExists, "{error}");
    // The same name in another tenant is another job.
    let other = job(&store, &beta, "nightly").await;
    assert_ne!(other.id, created.id);

    let error = store
        .create_job(Uuid::nil(), &definition("orphan"), &JobPolicy::default(), None, "tester", t(1))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound, "{error}");
    assert_eq!(store.job(Uuid::nil()).await.unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(store.job_by_name("beta", "weekly").await.unwrap_err().code(), ErrorCode::NotFound);

    let all = store.list_jobs(&JobFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    let filter = JobFilter { tenant: Some("beta".into()), ..JobFilter::default() };
    assert_eq!(store.list_jobs(&filter).await.unwrap(), vec![other.clone()]);
    store
        .set_job_enabled(other.id, false, Some("too many failures"), None, "tester", t(2))
        .await
        .unwrap();
    let filter = JobFilter { enabled: Some(true), ..JobFilter::default() };
    assert_eq!(store.list_jobs(&filter).await.unwrap(), vec![created]);
    let filter = JobFilter { limit: Some(1), ..JobFilter::default() };
    assert_eq!(store.list_jobs(&filter).await.unwrap().len(), 1);
}

/// The editable parts of a job, to compare with a definition.
trait DefinitionParts {
    fn definition_parts(&self) -> JobDefinition;
}

impl DefinitionParts for Job {
    fn definition_parts(&self) -> JobDefinition {
        JobDefinition {
            name: self.name.clone(),
            schedule: self.schedule.clone(),
            timezone: self.timezone.clone(),
            handler: self.handler.clone(),
            payload: self.payload.clone(),
            timeout: self.timeout,
        }
    }
}

impl DefinitionParts for JobDefinition {
    fn definition_parts(&self) -> JobDefinition {
        self.clone()
    }
}

async fn update_job_with_stale_version_changes_nothing(store: AnyStore) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let original = job(&store, &acme, "nightly").await;
    let mut edited = definition("nightly");
    edited.schedule = "0 3 * * *".into();
    let updated =
        store.update_job(original.id, 1, &edited, Some(t(3600)), "tester", t(5)).await.unwrap();
    assert_eq!((updated.version, updated.schedule.as_str()), (2, "0 3 * * *"));
    assert_eq!(
        (updated.next_run_at, updated.updated_at, updated.created_at),
        (Some(t(3600)), t(5), t(0))
    );

    let mut stale = definition("renamed");
    stale.timeout = Duration::from_secs(1);
    let error = store.update_job(original.id, 1, &stale, None, "tester", t(6)).await.unwrap_err();
    match &error {
        rota::Error::StaleVersion { expected, current, .. } => {
            assert_eq!((*expected, *current), (1, 2))
        }
        other => panic!("expected StaleVersion, got {other:?}"),
    }
    assert_eq!(error.code(), ErrorCode::StaleVersion);
    assert_eq!(store.job(original.id).await.unwrap(), updated, "nothing changed");

    let error = store.update_job(Uuid::nil(), 1, &edited, None, "tester", t(6)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound);

    // Renaming onto another job's name is refused.
    job(&store, &acme, "weekly").await;
    let error = store
        .update_job(original.id, 2, &definition("weekly"), None, "tester", t(7))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyExists);
}

async fn named_handlers_upsert(store: AnyStore) {
    assert_eq!(store.named_handler("reports.daily").await.unwrap(), None);
    let first = HandlerSpec::Named { name: "first".into() };
    store.upsert_named_handler("reports.daily", &first, "tester", t(0)).await.unwrap();
    assert_eq!(store.named_handler("reports.daily").await.unwrap(), Some(first));
    let second = HandlerSpec::Named { name: "second".into() };
    store.upsert_named_handler("reports.daily", &second, "tester", t(1)).await.unwrap();
    assert_eq!(store.named_handler("reports.daily").await.unwrap(), Some(second));
}

async fn enqueue_due_enqueues_each_occurrence_once(store: AnyStore) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let nightly = job(&store, &acme, "nightly").await;
    assert_eq!(store.next_due_at().await.unwrap(), Some(t(0)));
    let plan = |due: &DueJob| {
        TickPlan::enqueue(&[due.next_run_at], Some(due.next_run_at + chrono::Duration::minutes(5)))
    };

    // Not due yet.
    assert_eq!(
        store.enqueue_due(t(-1), t(-1), 100, &plan).await.unwrap(),
        TickReport { jobs: 0, enqueued: 0, recorded: 0 }
    );
    assert_eq!(
        store.enqueue_due(t(0), t(0), 100, &plan).await.unwrap(),
        TickReport { jobs: 1, enqueued: 1, recorded: 0 }
    );
    // A second tick at the same instant finds nothing due: next_run_at moved on.
    assert_eq!(
        store.enqueue_due(t(0), t(0), 100, &plan).await.unwrap(),
        TickReport { jobs: 0, enqueued: 0, recorded: 0 }
    );
    assert_eq!(store.job(nightly.id).await.unwrap().next_run_at, Some(t(300)));
    assert_eq!(store.next_due_at().await.unwrap(), Some(t(300)));

    // A plan that returns an occurrence already enqueued (another node's tick, or a rewind)
    // inserts nothing: the occurrence key is unique.
    store.set_job_enabled(nightly.id, true, None, Some(t(0)), "tester", t(1)).await.unwrap();
    assert_eq!(
        store.enqueue_due(t(1), t(1), 100, &plan).await.unwrap(),
        TickReport { jobs: 1, enqueued: 0, recorded: 0 }
    );

    let runs = store.list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(
        (run.job_id.unwrap(), run.tenant_id, run.job.as_str(), run.tenant.as_str()),
        (nightly.id, acme.id, "nightly", "acme")
    );
    assert_eq!((run.trigger, run.attempt, run.status), (Trigger::Schedule, 1, RunStatus::Queued));
    assert_eq!((run.scheduled_at, run.queued_at, run.not_before), (t(0), t(0), t(0)));
    assert_eq!((run.payload.clone(), run.started_at, run.fencing_token), (None, None, 0));

    // A plan with no next instant leaves the job enabled but never due.
    let last = |_: &DueJob| TickPlan::enqueue(&[t(2)], None);
    assert_eq!(
        store.enqueue_due(t(300), t(300), 100, &last).await.unwrap(),
        TickReport { jobs: 1, enqueued: 1, recorded: 0 }
    );
    let ended = store.job(nightly.id).await.unwrap();
    assert_eq!((ended.enabled, ended.next_run_at), (true, None));
    assert_eq!(store.next_due_at().await.unwrap(), None);
}

async fn enqueue_due_batches_many_jobs(store: AnyStore) {
    // More due jobs than one batched statement holds, two occurrences each, and a limit.
    let acme = tenant(&store, "acme", 3, 1).await;
    for n in 0..1_200 {
        store
            .create_job(
                acme.id,
                &definition(&format!("job-{n:04}")),
                &JobPolicy::default(),
                Some(t(-n)),
                "tester",
                t(0),
            )
            .await
            .unwrap();
    }
    let plan = |due: &DueJob| {
        TickPlan::enqueue(
            &[due.next_run_at, due.next_run_at + chrono::Duration::seconds(1)],
            Some(t(3600)),
        )
    };
    let first = store.enqueue_due(t(0), t(0), 1_100, &plan).await.unwrap();
    assert_eq!(first, TickReport { jobs: 1_100, enqueued: 2_200, recorded: 0 });
    // The longest overdue jobs went first.
    assert_eq!(store.job_by_name("acme", "job-1199").await.unwrap().next_run_at, Some(t(3600)));
    assert_eq!(store.job_by_name("acme", "job-0099").await.unwrap().next_run_at, Some(t(-99)));
    let second = store.enqueue_due(t(0), t(0), 1_100, &plan).await.unwrap();
    assert_eq!(second, TickReport { jobs: 100, enqueued: 200, recorded: 0 });
    assert_eq!(store.next_due_at().await.unwrap(), Some(t(3600)));
    let all = RunFilter { limit: Some(5_000), ..RunFilter::default() };
    assert_eq!(store.list_runs(&all).await.unwrap().len(), 2_400);
}

async fn disabled_jobs_are_not_due(store: AnyStore) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let nightly = job(&store, &acme, "nightly").await;
    let disabled = store
        .set_job_enabled(
            nightly.id,
            false,
            Some("failed 5 times in a row"),
            Some(t(0)),
            "tester",
            t(1),
        )
        .await
        .unwrap();
    assert_eq!(
        (disabled.enabled, disabled.disabled_reason.as_deref(), disabled.version),
        (false, Some("failed 5 times in a row"), 2)
    );
    let plan = |_: &DueJob| -> TickPlan { panic!("a disabled job is never planned") };
    assert_eq!(store.enqueue_due(t(10), t(10), 100, &plan).await.unwrap(), TickReport::default());
    assert_eq!(store.next_due_at().await.unwrap(), None);
    let enabled = store
        .set_job_enabled(nightly.id, true, Some("ignored"), Some(t(0)), "tester", t(2))
        .await
        .unwrap();
    assert_eq!((enabled.enabled, enabled.disabled_reason), (true, None));
}

async fn enqueue_manual_never_takes_a_scheduled_instant(store: AnyStore) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let nightly = job(&store, &acme, "nightly").await;
    let payload = json!({ "override": true });
    let manual = store.enqueue_manual(nightly.id, Some(&payload), "tester", t(0)).await.unwrap();
    assert_eq!(
        (manual.trigger, manual.attempt, manual.status),
        (Trigger::Manual, 1, RunStatus::Queued)
    );
    assert_eq!(manual.payload, Some(payload));
    assert_eq!((manual.queued_at, manual.not_before), (t(0), t(0)));
    // Not the whole second, where the schedule's occurrence falls.
    assert_eq!(manual.scheduled_at, t(0) + chrono::Duration::milliseconds(1));
    let again = store.enqueue_manual(nightly.id, None, "tester", t(0)).await.unwrap();
    assert_eq!(again.scheduled_at, t(0) + chrono::Duration::milliseconds(2));
    assert_eq!(again.payload, None);

    // The scheduled occurrence at the same instant is still enqueued.
    assert_eq!(enqueue(&store, t(0), &[(nightly.id, vec![t(0)])]).await.enqueued, 1);
    assert_eq!(store.list_runs(&RunFilter::default()).await.unwrap().len(), 3);

    let error = store.enqueue_manual(Uuid::nil(), None, "tester", t(0)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound);
}

async fn claim_respects_max_concurrent(store: AnyStore) {
    tenant_with_runs(&store, "acme", 2, 5, 5).await;
    let first = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    assert_eq!(first.len(), 2);
    assert!(store.claim(NODE, t(0), 10, TTL).await.unwrap().is_empty(), "the tenant is full");
    assert!(!store.claimable_now(t(0), t(0)).await.unwrap(), "ready runs wait for the limit");
    assert_eq!(
        store.complete(&[result(&first[0], RunStatus::Succeeded, t(1))]).await.unwrap(),
        [true]
    );
    assert!(store.claimable_now(t(1), t(1)).await.unwrap(), "a slot was freed");
    let next = store.claim("node-b", t(1), 10, TTL).await.unwrap();
    assert_eq!(next.len(), 1, "one slot was freed");
    assert_eq!(next[0].run.lease_owner.as_deref(), Some("node-b"));
}

async fn paused_tenant_is_not_claimed(store: AnyStore) {
    tenant_with_runs(&store, "acme", 3, 1, 2).await;
    store
        .update_tenant(
            "acme",
            &TenantUpdate { paused: Some(true), ..TenantUpdate::default() },
            "tester",
            t(0),
        )
        .await
        .unwrap();
    assert!(store.claim(NODE, t(0), 10, TTL).await.unwrap().is_empty());
    assert_eq!(store.next_ready_at().await.unwrap(), None, "a paused tenant's runs are not ready");
    assert!(!store.claimable_now(t(0), t(0)).await.unwrap());
    store
        .update_tenant(
            "acme",
            &TenantUpdate { paused: Some(false), ..TenantUpdate::default() },
            "tester",
            t(1),
        )
        .await
        .unwrap();
    assert_eq!(store.claim(NODE, t(1), 10, TTL).await.unwrap().len(), 2, "resumed: both runs");
}

async fn future_not_before_is_not_claimed(store: AnyStore) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let nightly = job(&store, &acme, "nightly").await;
    // An occurrence planned in the future waits for its instant.
    enqueue(&store, t(0), &[(nightly.id, vec![t(60)])]).await;
    assert!(store.claim(NODE, t(0), 10, TTL).await.unwrap().is_empty());
    assert_eq!(store.next_ready_at().await.unwrap(), Some(t(60)));
    assert!(!store.claimable_now(t(0), t(59)).await.unwrap(), "not ready by the horizon");
    assert!(store.claimable_now(t(0), t(60)).await.unwrap(), "ready by the horizon");
    assert!(store.claim(NODE, t(59), 10, TTL).await.unwrap().is_empty());
    let claimed = store.claim(NODE, t(60), 10, TTL).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].run.scheduled_at, t(60));
}

async fn claim_ahead_takes_runs_due_within_the_horizon_and_starts_them_on_their_instant(
    store: AnyStore,
) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let nightly = job(&store, &acme, "nightly").await;
    let hourly = job(&store, &acme, "hourly").await;
    enqueue(&store, t(0), &[(nightly.id, vec![t(60)]), (hourly.id, vec![t(10), t(61)])]).await;
    // The horizon decides what is ready; nothing beyond it is taken.
    let (_, claimed) = store.record_and_claim(&[], NODE, t(9), t(60), 10, TTL).await.unwrap();
    let mut taken: Vec<_> =
        claimed.iter().map(|run| (run.run.scheduled_at, run.run.started_at)).collect();
    taken.sort();
    // A run claimed before its instant records that instant as its start.
    assert_eq!(taken, [(t(10), Some(t(10))), (t(60), Some(t(60)))]);
    assert_eq!(store.run(claimed[0].run.id).await.unwrap().status, RunStatus::Running);
    let (_, later) = store.record_and_claim(&[], NODE, t(11), t(11), 10, TTL).await.unwrap();
    assert!(later.is_empty(), "t(61) is beyond the horizon");
    // One already ready when claimed starts now.
    let (_, late) = store.record_and_claim(&[], NODE, t(70), t(70), 10, TTL).await.unwrap();
    assert_eq!(
        late.iter().map(|run| (run.run.scheduled_at, run.run.started_at)).collect::<Vec<_>>(),
        [(t(61), Some(t(70)))]
    );
}

async fn claim_serves_a_small_tenant_next_to_a_big_one(store: AnyStore) {
    tenant_with_runs(&store, "big", 1_000, 1, 500).await;
    tenant_with_runs(&store, "small", 3, 1, 1).await;
    let claimed = store.claim(NODE, t(0), 2, TTL).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let counts = count_by_tenant(&claimed);
    assert_eq!((counts.get("big"), counts.get("small")), (Some(&1), Some(&1)), "{counts:?}");
    // The big tenant's runs come oldest first.
    let big = claimed.iter().find(|run| run.run.tenant == "big").unwrap();
    assert_eq!(big.run.scheduled_at, t(-499));
}

async fn claim_gives_each_tenant_up_to_its_weight(store: AnyStore) {
    tenant_with_runs(&store, "heavy", 100, 3, 20).await;
    tenant_with_runs(&store, "light", 100, 1, 20).await;
    // Weighted rounds: per round the heavy tenant takes three runs, the light one one.
    for round in 0..3 {
        let claimed = store.claim(NODE, t(round), 8, TTL).await.unwrap();
        let counts = count_by_tenant(&claimed);
        assert_eq!(
            (counts.get("heavy"), counts.get("light")),
            (Some(&6), Some(&2)),
            "round {round}: {counts:?}"
        );
    }
    // Once the heavy tenant runs dry, the light one fills the rest of the claim.
    let claimed = store.claim(NODE, t(3), 100, TTL).await.unwrap();
    let counts = count_by_tenant(&claimed);
    assert_eq!((counts.get("heavy"), counts.get("light")), (Some(&2), Some(&14)), "{counts:?}");
    let claimed = store.claim(NODE, t(4), 10, TTL).await.unwrap();
    assert!(claimed.is_empty(), "both queues are empty: {}", claimed.len());
}

async fn claim_rotates_between_tenants(store: AnyStore) {
    for name in ["a", "b", "c"] {
        tenant_with_runs(&store, name, 100, 1, 5).await;
    }
    let mut served = Vec::new();
    for second in 0..6 {
        let claimed = store.claim(NODE, t(second), 1, TTL).await.unwrap();
        assert_eq!(claimed.len(), 1);
        served.push(claimed[0].run.tenant.clone());
    }
    // Least recently served first: each tenant once before any twice.
    assert_eq!(served[0..3].iter().collect::<HashSet<_>>().len(), 3, "{served:?}");
    assert_eq!(served[0..3], served[3..6], "{served:?}");
}

async fn claimed_run_carries_what_execution_needs(store: AnyStore) {
    let (acme, nightly) = tenant_with_runs(&store, "acme", 3, 1, 1).await;
    let claimed = store.claim(NODE, t(5), 10, TTL).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let claim = &claimed[0];
    assert_eq!(claim.handler, nightly.handler);
    assert_eq!(claim.job_payload, nightly.payload);
    assert_eq!(claim.timeout, Duration::from_secs(90));
    let run = &claim.run;
    assert_eq!(
        (run.job.as_str(), run.tenant.as_str(), run.tenant_id),
        ("acme-job", "acme", acme.id)
    );
    assert_eq!(
        (run.status, run.started_at, run.fencing_token),
        (RunStatus::Running, Some(t(5)), 1)
    );
    assert_eq!((run.lease_owner.as_deref(), run.lease_expires_at), (Some(NODE), Some(t(35))));
    assert_eq!(store.run(run.id).await.unwrap(), *run);
    assert_eq!(store.run(Uuid::nil()).await.unwrap_err().code(), ErrorCode::NotFound);
}

async fn complete_rejects_a_stale_claim(store: AnyStore) {
    tenant_with_runs(&store, "acme", 3, 1, 1).await;
    let claimed = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    let claim = &claimed[0];
    let before = store.run(claim.run.id).await.unwrap();

    let mut wrong_token = result(claim, RunStatus::Succeeded, t(1));
    wrong_token.fencing_token += 1;
    let mut wrong_node = result(claim, RunStatus::Succeeded, t(1));
    wrong_node.node_id = "node-z".into();
    assert_eq!(store.complete(&[wrong_token, wrong_node]).await.unwrap(), [false, false]);
    assert_eq!(store.run(claim.run.id).await.unwrap(), before, "the row is untouched");

    // After the lease expired and the run was recovered, the old claim is fenced out too.
    assert_eq!(store.recover_expired(t(31)).await.unwrap().len(), 1);
    let lost = store.run(claim.run.id).await.unwrap();
    assert_eq!(
        store.complete(&[result(claim, RunStatus::Succeeded, t(32))]).await.unwrap(),
        [false]
    );
    assert_eq!(store.run(claim.run.id).await.unwrap(), lost, "the row is untouched");
    assert_eq!(lost.status, RunStatus::Lost);

    let running =
        RunResult { status: RunStatus::Running, ..result(claim, RunStatus::Succeeded, t(1)) };
    assert_eq!(store.complete(&[running]).await.unwrap_err().code(), ErrorCode::Invalid);
    assert_eq!(store.complete(&[]).await.unwrap(), Vec::<bool>::new());
}

async fn expired_lease_is_recovered_as_a_new_attempt(store: AnyStore) {
    tenant_with_runs(&store, "acme", 3, 1, 1).await;
    assert_eq!(store.next_lease_expiry().await.unwrap(), None, "nothing runs yet");
    let claimed = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    let claim = &claimed[0];
    assert_eq!(store.next_lease_expiry().await.unwrap(), Some(t(30)), "recovery wakes then");
    assert!(
        store.recover_expired(t(30)).await.unwrap().is_empty(),
        "expires after now + ttl, not at"
    );

    let lost = store.recover_expired(t(31)).await.unwrap();
    assert_eq!(lost.len(), 1);
    let lost = &lost[0];
    assert_eq!(
        (lost.id, lost.status, lost.finished_at),
        (claim.run.id, RunStatus::Lost, Some(t(31)))
    );
    assert_eq!(lost.error.as_deref(), Some("lease expired: node node-a stopped renewing"));
    assert_eq!(
        (lost.lease_owner.as_deref(), lost.lease_expires_at, lost.duration_ms),
        (None, None, Some(31_000))
    );
    assert!(store.recover_expired(t(32)).await.unwrap().is_empty(), "recovered once");

    assert_eq!(store.next_lease_expiry().await.unwrap(), None, "the lost run holds no lease");
    let next = store.claim("node-b", t(31), 10, TTL).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(store.next_lease_expiry().await.unwrap(), Some(t(61)));
    let next = &next[0].run;
    assert_eq!(
        (next.trigger, next.attempt, next.scheduled_at),
        (Trigger::Recovery, 2, claim.run.scheduled_at)
    );
    assert_eq!((next.queued_at, next.not_before), (t(31), t(31)));
}

async fn renew_extends_the_lease(store: AnyStore) {
    tenant_with_runs(&store, "acme", 3, 1, 2).await;
    let held: Vec<Uuid> =
        store.claim(NODE, t(0), 1, TTL).await.unwrap().iter().map(|c| c.run.id).collect();
    let theirs: Vec<Uuid> =
        store.claim("node-b", t(0), 1, TTL).await.unwrap().iter().map(|c| c.run.id).collect();
    // Another node's run in the list is not renewed: a node renews only what it owns.
    let listed: Vec<Uuid> = held.iter().chain(&theirs).copied().collect();
    assert_eq!(store.renew_leases(NODE, &listed, t(20), TTL).await.unwrap(), 1);
    let lost = store.recover_expired(t(40)).await.unwrap();
    assert_eq!(lost.len(), 1, "only node-b's lease expired");
    assert_eq!(lost[0].error.as_deref(), Some("lease expired: node node-b stopped renewing"));
    let mine = store
        .list_runs(&RunFilter { status: Some(RunStatus::Running), ..RunFilter::default() })
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].lease_owner.as_deref(), mine[0].lease_expires_at),
        (Some(NODE), Some(t(50)))
    );
    assert_eq!(store.renew_leases("node-z", &held, t(20), TTL).await.unwrap(), 0);
    assert_eq!(store.renew_leases(NODE, &[], t(20), TTL).await.unwrap(), 0);
}

/// A run the database says a node owns but that the node does not list (its claim's answer was
/// lost) is not renewed: it expires and is recovered.
async fn renew_leaves_unlisted_runs_to_expire(store: AnyStore) {
    tenant_with_runs(&store, "acme", 3, 2, 2).await;
    let claimed = store.claim(NODE, t(0), 2, TTL).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let known = claimed[0].run.id;
    assert_eq!(store.renew_leases(NODE, &[known], t(20), TTL).await.unwrap(), 1);
    let lost = store.recover_expired(t(40)).await.unwrap();
    assert_eq!(lost.iter().map(|run| run.id).collect::<Vec<_>>(), vec![claimed[1].run.id]);
}

async fn release_requeues_the_nodes_runs(store: AnyStore) {
    tenant_with_runs(&store, "acme", 3, 3, 3).await;
    let mine = store.claim(NODE, t(0), 2, TTL).await.unwrap();
    let theirs = store.claim("node-b", t(0), 1, TTL).await.unwrap();
    assert_eq!((mine.len(), theirs.len()), (2, 1));
    assert_eq!(store.release(NODE, t(5)).await.unwrap(), 2);
    for claim in &mine {
        let run = store.run(claim.run.id).await.unwrap();
        assert_eq!(
            (run.status, run.started_at, run.lease_owner, run.lease_expires_at),
            (RunStatus::Queued, None, None, None)
        );
    }
    assert_eq!(store.run(theirs[0].run.id).await.unwrap().status, RunStatus::Running);
    // Claimed again, with a new fencing token: a late result of the first claim is refused.
    let again = store.claim("node-c", t(6), 10, TTL).await.unwrap();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|claim| claim.run.fencing_token == 2));
    assert_eq!(
        store.complete(&[result(&mine[0], RunStatus::Succeeded, t(7))]).await.unwrap(),
        [false]
    );
}

async fn retry_queues_the_next_attempt(store: AnyStore) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let nightly = job(&store, &acme, "nightly").await;
    let payload = json!({ "only": "this run" });
    store.enqueue_manual(nightly.id, Some(&payload), "tester", t(0)).await.unwrap();
    let claimed = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    let mut failed = result(&claimed[0], RunStatus::Failed, t(2));
    failed.retry_at = Some(t(62));
    assert_eq!(store.complete(&[failed]).await.unwrap(), [true]);

    let first = store.run(claimed[0].run.id).await.unwrap();
    assert_eq!(
        (first.status, first.finished_at, first.exit_code),
        (RunStatus::Failed, Some(t(2)), Some(1))
    );
    // The node that ran it stays on the run, for people (the console's run details).
    assert_eq!(
        (first.lease_owner.as_deref(), first.lease_expires_at, first.error.as_deref()),
        (Some(NODE), None, Some("exit status 1"))
    );
    assert!(store.claim(NODE, t(61), 10, TTL).await.unwrap().is_empty(), "backing off");
    assert_eq!(store.next_ready_at().await.unwrap(), Some(t(62)));
    let retried = store.claim(NODE, t(62), 10, TTL).await.unwrap();
    assert_eq!(retried.len(), 1);
    let retry = &retried[0].run;
    assert_eq!(
        (retry.trigger, retry.attempt, retry.scheduled_at),
        (Trigger::Retry, 2, first.scheduled_at)
    );
    assert_eq!(
        (retry.queued_at, retry.not_before, retry.payload.clone()),
        (t(2), t(62), Some(payload))
    );
}

async fn failure_streak_counts_and_resets(store: AnyStore) {
    let (_, nightly) = tenant_with_runs(&store, "acme", 1, 1, 5).await;
    let mut streaks = Vec::new();
    let outcomes = [
        (RunStatus::Failed, None),
        (RunStatus::TimedOut, None),
        (RunStatus::Failed, Some(t(100))), // a retry is planned: the streak waits
        (RunStatus::Succeeded, None),
        (RunStatus::Failed, None),
    ];
    for (second, (status, retry_at)) in (1..).zip(outcomes) {
        let claimed = store.claim(NODE, t(second), 1, TTL).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let mut outcome = result(&claimed[0], status, t(second));
        outcome.retry_at = retry_at;
        assert_eq!(store.complete(&[outcome]).await.unwrap(), [true]);
        let job = store.job(nightly.id).await.unwrap();
        assert_eq!(job.last_run_at, Some(t(second)));
        streaks.push(job.consecutive_failures);
    }
    assert_eq!(streaks, [1, 2, 2, 0, 1]);
}

/// Results of several jobs in one batch: each job's streak follows its own results in the
/// order they finished, whatever order the batch lists them in.
async fn one_batch_of_results_keeps_each_jobs_order(store: AnyStore) {
    let (_, flaky) = tenant_with_runs(&store, "acme", 3, 1, 3).await;
    let (_, steady) = tenant_with_runs(&store, "globex", 3, 1, 3).await;
    let claimed = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    assert_eq!(claimed.len(), 6);
    let of =
        |job: &Job| claimed.iter().filter(|run| run.run.job_id == Some(job.id)).collect::<Vec<_>>();
    let (flaky_runs, steady_runs) = (of(&flaky), of(&steady));
    let batch = vec![
        result(flaky_runs[2], RunStatus::Failed, t(3)),
        result(steady_runs[0], RunStatus::Succeeded, t(9)),
        result(flaky_runs[0], RunStatus::Failed, t(1)),
        result(steady_runs[1], RunStatus::Succeeded, t(4)),
        result(flaky_runs[1], RunStatus::Succeeded, t(2)),
        result(steady_runs[2], RunStatus::Succeeded, t(5)),
        // The same run twice: the second is refused (the run is no longer running).
        result(steady_runs[2], RunStatus::Failed, t(6)),
    ];
    assert_eq!(store.complete(&batch).await.unwrap(), [true, true, true, true, true, true, false]);
    let flaky = store.job(flaky.id).await.unwrap();
    assert_eq!(flaky.consecutive_failures, 1, "failed, succeeded, failed");
    assert_eq!(flaky.last_run_at, Some(t(3)));
    assert_eq!(flaky.last_error.as_deref(), Some("exit status 1"));
    let steady = store.job(steady.id).await.unwrap();
    assert_eq!(steady.consecutive_failures, 0);
    assert_eq!(steady.last_run_at, Some(t(9)), "the latest finish, not the last listed");
    assert_eq!(store.run(steady_runs[2].run.id).await.unwrap().status, RunStatus::Succeeded);
}

/// The answer to a COMMIT that recorded a result can be lost with the connection; the node then
/// sends the same result again. Before, that counted (and was logged) as fenced out.
async fn a_result_sent_again_after_its_commit_counts_as_recorded(store: AnyStore) {
    let (_, job) = tenant_with_runs(&store, "acme", 3, 1, 1).await;
    let claimed = store.claim(NODE, t(0), 1, TTL).await.unwrap();
    let sent = result(&claimed[0], RunStatus::Failed, t(1));
    assert_eq!(store.complete(std::slice::from_ref(&sent)).await.unwrap(), [true]);
    assert_eq!(store.complete(std::slice::from_ref(&sent)).await.unwrap(), [true], "sent again");
    // Its effects are not repeated: one failure in the streak.
    assert_eq!(store.job(job.id).await.unwrap().consecutive_failures, 1);
    // Another outcome for the run, or the same one from another claim, is still refused.
    let other_outcome = result(&claimed[0], RunStatus::Succeeded, t(1));
    assert_eq!(store.complete(&[other_outcome]).await.unwrap(), [false]);
    let other_claim = RunResult { fencing_token: sent.fencing_token + 1, ..sent.clone() };
    assert_eq!(store.complete(&[other_claim]).await.unwrap(), [false]);
    let other_node = RunResult { node_id: "node-z".to_owned(), ..sent };
    assert_eq!(store.complete(&[other_node]).await.unwrap(), [false]);
}

async fn record_and_claim_claims_the_slots_the_results_free(store: AnyStore) {
    let (_, job) = tenant_with_runs(&store, "acme", 1, 1, 3).await;
    let first = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    assert_eq!(first.len(), 1, "max_concurrent 1");

    // A result that is not final changes nothing, not even the claim.
    let running =
        RunResult { status: RunStatus::Running, ..result(&first[0], RunStatus::Succeeded, t(1)) };
    let error = store.record_and_claim(&[running], NODE, t(1), t(1), 10, TTL).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid);
    assert_eq!(store.run(first[0].run.id).await.unwrap().status, RunStatus::Running);

    // Recording the running run frees the tenant's only slot, and the claim in the same
    // transaction takes it; a fenced-out result in the batch is refused.
    let mut stale = result(&first[0], RunStatus::Failed, t(1));
    stale.fencing_token += 1;
    let (accepted, claimed) = store
        .record_and_claim(
            &[stale, result(&first[0], RunStatus::Succeeded, t(1))],
            NODE,
            t(1),
            t(1),
            10,
            TTL,
        )
        .await
        .unwrap();
    assert_eq!(accepted, [false, true]);
    assert_eq!(claimed.len(), 1);
    assert_ne!(claimed[0].run.id, first[0].run.id);
    assert_eq!(store.run(first[0].run.id).await.unwrap().status, RunStatus::Succeeded);
    assert_eq!(store.job(job.id).await.unwrap().last_run_at, Some(t(1)));

    // Nothing to record: a plain claim (the tenant is full again); nothing to claim: a plain
    // record.
    assert!(store.record_and_claim(&[], NODE, t(2), t(2), 10, TTL).await.unwrap().1.is_empty());
    let (accepted, claimed) = store
        .record_and_claim(
            &[result(&claimed[0], RunStatus::Succeeded, t(2))],
            NODE,
            t(2),
            t(2),
            0,
            TTL,
        )
        .await
        .unwrap();
    assert_eq!((accepted, claimed.len()), (vec![true], 0));
}

async fn complete_bounds_output_and_error(store: AnyStore) {
    tenant_with_runs(&store, "acme", 3, 1, 1).await;
    let claimed = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    let mut outcome = result(&claimed[0], RunStatus::Failed, t(1));
    outcome.output = format!("{}\0the end", "line\n".repeat(10_000));
    outcome.error = Some("e".repeat(10_000));
    store.complete(&[outcome]).await.unwrap();
    let run = store.run(claimed[0].run.id).await.unwrap();
    let output = run.output.unwrap();
    assert!(output.len() <= 8 * 1024 && output.ends_with("\u{FFFD}the end"), "{}", output.len());
    let error = run.error.unwrap();
    assert!(error.len() <= 2 * 1024 && error.starts_with("eee"), "{}", error.len());
}

async fn list_runs_filters_and_orders(store: AnyStore) {
    let (_, a) = tenant_with_runs(&store, "a", 3, 1, 3).await;
    let b_tenant = tenant(&store, "b", 3, 1).await;
    let b = store
        .create_job(b_tenant.id, &definition("b-job"), &JobPolicy::default(), None, "tester", t(0))
        .await
        .unwrap();
    store.enqueue_manual(b.id, None, "tester", t(10)).await.unwrap();

    let all = store.list_runs(&RunFilter::default()).await.unwrap();
    let scheduled: Vec<DateTime<Utc>> = all.iter().map(|run| run.scheduled_at).collect();
    let newest = t(10) + chrono::Duration::milliseconds(1);
    assert_eq!(scheduled, [newest, t(0), t(-1), t(-2)], "newest first");

    let by_tenant = store
        .list_runs(&RunFilter { tenant: Some("a".into()), ..RunFilter::default() })
        .await
        .unwrap();
    assert_eq!(by_tenant.len(), 3);
    let by_job =
        RunFilter { tenant: Some("b".into()), job: Some("b-job".into()), ..RunFilter::default() };
    assert_eq!(store.list_runs(&by_job).await.unwrap().len(), 1);
    let by_id = store
        .list_runs(&RunFilter { job_id: Some(a.id), limit: Some(2), ..RunFilter::default() })
        .await
        .unwrap();
    assert_eq!(by_id.iter().map(|run| run.scheduled_at).collect::<Vec<_>>(), [t(0), t(-1)]);
    let running = RunFilter { status: Some(RunStatus::Running), ..RunFilter::default() };
    assert!(store.list_runs(&running).await.unwrap().is_empty());
}

/// A real-SQL property: eight claimers at once never start more of a tenant's runs than its
/// `max_concurrent`, and never hand out a run twice. Each round, the claimers claim until they
/// find nothing, without completing anything, so every run started in a round is running at
/// its end; then everything is completed and the next round starts.
async fn concurrent_claims_never_exceed_max_concurrent(store: AnyStore) {
    let limits: [(&str, u32, u32); 4] =
        [("one", 1, 1), ("two", 2, 2), ("three", 3, 1), ("four", 4, 3)];
    let per_tenant = 24;
    let mut remaining: HashMap<String, u32> = HashMap::new();
    for (name, max_concurrent, weight) in limits {
        tenant_with_runs(&store, name, max_concurrent, weight, i64::from(per_tenant)).await;
        remaining.insert(name.to_owned(), per_tenant);
    }
    let mut seen = HashSet::new();
    for round in 0.. {
        let now = t(round);
        let mut claimers = tokio::task::JoinSet::new();
        for worker in 0..8 {
            let store = store.clone();
            claimers.spawn(async move {
                let node = format!("node-{worker}");
                let mut mine = Vec::new();
                loop {
                    let claimed = store.claim(&node, now, 3, TTL).await.unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed);
                }
            });
        }
        let mut started = Vec::new();
        while let Some(claimed) = claimers.join_next().await {
            started.extend(claimed.unwrap());
        }
        if started.is_empty() {
            break;
        }
        let counts = count_by_tenant(&started);
        for (name, max_concurrent, _) in limits {
            let count = u32::try_from(counts.get(name).copied().unwrap_or(0)).unwrap();
            assert!(
                count <= max_concurrent,
                "round {round}: {name} has {count} running, max {max_concurrent}"
            );
            let left = remaining.get_mut(name).unwrap();
            assert_eq!(count, max_concurrent.min(*left), "round {round}: {name} was not filled up");
            *left -= count;
        }
        for claim in &started {
            assert!(
                seen.insert(claim.run.id),
                "round {round}: run {} was handed out twice",
                claim.run.id
            );
        }
        let results: Vec<RunResult> =
            started.iter().map(|claim| result(claim, RunStatus::Succeeded, now)).collect();
        assert!(store.complete(&results).await.unwrap().into_iter().all(|accepted| accepted));
    }
    assert_eq!(seen.len(), 4 * usize::try_from(per_tenant).unwrap());
}

async fn nodes_register_heartbeat_and_stop(store: AnyStore) {
    let node = NodeInfo {
        id: NODE.into(),
        host: "host-1".into(),
        pid: 4_000_000_000,
        version: "0.1.0".into(),
        workers: 8,
        started_at: t(0),
        heartbeat_at: t(0),
        stopped_at: None,
        health: None,
    };
    store.register_node(&node).await.unwrap();
    // The heartbeat carries what the node says about itself, read back as written.
    let unwell = NodeHealth {
        healthy: false,
        problems: vec!["tick: the loop last completed an iteration 9.0 s ago".into()],
        heartbeat_every_ms: 10_000,
        results_waiting: 3,
    };
    store.heartbeat(NODE, t(10), &unwell).await.unwrap();
    assert_eq!(
        store.list_nodes().await.unwrap(),
        vec![NodeInfo { heartbeat_at: t(10), health: Some(unwell.clone()), ..node.clone() }]
    );
    store.mark_node_stopped(NODE, t(20)).await.unwrap();
    assert_eq!(store.list_nodes().await.unwrap()[0].stopped_at, Some(t(20)));
    // A restart with the same id registers again.
    let restarted = NodeInfo { started_at: t(30), heartbeat_at: t(30), pid: 42, ..node };
    store.register_node(&restarted).await.unwrap();
    assert_eq!(store.list_nodes().await.unwrap(), vec![restarted]);
    assert_eq!(
        store.heartbeat("node-z", t(40), &unwell).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
}

/// A rate limit holds over a sliding window of starts, finished or not, and runs that then
/// start late record that they waited for it.
async fn claim_respects_the_rate_limit(store: AnyStore) {
    tenant_with_runs(&store, "acme", 10, 1, 5).await;
    let limit = RateLimit { count: 2, window: Duration::from_secs(60) };
    let policy = TenantPolicy { rate_limit: Some(limit), ..TenantPolicy::default() };
    let acme = store.set_tenant_policy("acme", &policy, "tester", t(0)).await.unwrap();
    assert_eq!(acme.policy, policy);
    let first = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    assert_eq!(first.len(), 2);
    let done: Vec<RunResult> =
        first.iter().map(|run| result(run, RunStatus::Succeeded, t(1))).collect();
    store.complete(&done).await.unwrap();
    assert!(store.claim(NODE, t(59), 10, TTL).await.unwrap().is_empty(), "finished runs count");
    assert!(!store.claimable_now(t(59), t(59)).await.unwrap(), "ready runs wait for the window");
    let second = store.claim(NODE, t(60), 10, TTL).await.unwrap();
    assert_eq!(second.len(), 2, "the starts at t(0) left the window");
    assert!(second.iter().all(|run| run.run.waited_for == Some(WaitedFor::RateLimit)));
    assert!(first.iter().all(|run| run.run.waited_for.is_none()));
    // Removing the limit lets the rest start.
    store.set_tenant_policy("acme", &TenantPolicy::default(), "tester", t(60)).await.unwrap();
    assert_eq!(store.claim(NODE, t(61), 10, TTL).await.unwrap().len(), 1);
}

/// A job whose overlap policy is exclusive gets one run per claim and none while one runs.
async fn exclusive_jobs_run_one_at_a_time(store: AnyStore) {
    let acme = tenant(&store, "acme", 10, 1).await;
    let sync = job(&store, &acme, "sync").await;
    let queue_one = JobPolicy { overlap: OverlapPolicy::QueueOne, ..JobPolicy::default() };
    store.update_job_policy(sync.id, sync.version, &queue_one, "tester", t(0)).await.unwrap();
    let other = job(&store, &acme, "other").await;
    for second in 0..3 {
        store.enqueue_manual(sync.id, None, "tester", t(second)).await.unwrap();
        store.enqueue_manual(other.id, None, "tester", t(second)).await.unwrap();
    }
    let claimed = store.claim(NODE, t(3), 10, TTL).await.unwrap();
    let count = |job: &str| claimed.iter().filter(|run| run.run.job == job).count();
    assert_eq!((count("sync"), count("other")), (1, 3), "other jobs are not held back");
    assert!(store.claim(NODE, t(4), 10, TTL).await.unwrap().is_empty(), "none while one runs");
    assert!(!store.claimable_now(t(4), t(4)).await.unwrap(), "the ready run waits for its job");
    let sync_run = claimed.iter().find(|run| run.run.job == "sync").unwrap();
    store.complete(&[result(sync_run, RunStatus::Succeeded, t(5))]).await.unwrap();
    assert_eq!(store.claim(NODE, t(6), 10, TTL).await.unwrap().len(), 1);
}

/// The tick writes skipped and missed rows with their reasons, and `supersede` cancels the
/// job's queued runs and asks its running ones to stop (which are then never retried).
async fn tick_records_occurrences_that_do_not_run_and_supersedes(store: AnyStore) {
    let acme = tenant(&store, "acme", 10, 1).await;
    let nightly = job(&store, &acme, "nightly").await;
    store.enqueue_manual(nightly.id, None, "tester", t(-10)).await.unwrap();
    store.enqueue_manual(nightly.id, None, "tester", t(-9)).await.unwrap();
    let running = store.claim(NODE, t(-9), 2, TTL).await.unwrap();
    assert_eq!(running.len(), 2);
    let queued = store.enqueue_manual(nightly.id, None, "tester", t(-5)).await.unwrap();
    let plan = |due: &DueJob| {
        assert_eq!((due.running, due.queued), (1, 1), "whether any runs or waits");
        TickPlan {
            runs: vec![
                PlannedRun::recorded(t(-60), RunStatus::Missed, "in a gap".into()),
                PlannedRun::recorded(t(-30), RunStatus::Skipped, "overlap".into()),
                PlannedRun { not_before: t(30), ..PlannedRun::queued(t(0)) },
            ],
            next_run_at: None,
            supersede: Some("newer".into()),
        }
    };
    let report = store.enqueue_due(t(0), t(0), 10, &plan).await.unwrap();
    assert_eq!(report, TickReport { jobs: 1, enqueued: 1, recorded: 2 });
    let runs = store.list_runs(&RunFilter::default()).await.unwrap();
    let row = |at: DateTime<Utc>| runs.iter().find(|run| run.scheduled_at == at).unwrap();
    let missed = row(t(-60));
    assert_eq!((missed.status, missed.reason.as_deref()), (RunStatus::Missed, Some("in a gap")));
    assert_eq!((missed.finished_at, missed.started_at), (Some(t(0)), None));
    assert_eq!(row(t(-30)).status, RunStatus::Skipped);
    assert_eq!(row(t(0)).not_before, t(30));
    let cancelled = store.run(queued.id).await.unwrap();
    assert_eq!(
        (cancelled.status, cancelled.reason.as_deref()),
        (RunStatus::Cancelled, Some("newer"))
    );
    let stopping = store.run(running[0].run.id).await.unwrap();
    assert_eq!((stopping.status, stopping.cancel_requested), (RunStatus::Running, true));
    let mut requested = store.cancel_requested(NODE).await.unwrap();
    requested.sort();
    let mut expected = vec![running[0].run.id, running[1].run.id];
    expected.sort();
    assert_eq!(requested, expected);
    let other = result(&running[1], RunStatus::Succeeded, t(1));
    let mut failed = result(&running[0], RunStatus::Failed, t(1));
    failed.retry_at = Some(t(2));
    store.complete(&[failed]).await.unwrap();
    // Handed back at shutdown, a run asked to stop ends instead of queueing again.
    assert_eq!(store.release(NODE, t(3)).await.unwrap(), 1);
    let released = store.run(running[1].run.id).await.unwrap();
    assert_eq!((released.status, released.finished_at), (RunStatus::Cancelled, Some(t(3))));
    assert_eq!(store.complete(&[other]).await.unwrap(), [false], "it is over");
    let attempts = store
        .list_runs(&RunFilter { status: Some(RunStatus::Queued), ..RunFilter::default() })
        .await
        .unwrap();
    assert_eq!(attempts.len(), 1, "only the new occurrence: a superseded run is not retried");
}

/// Failed occurrences past the threshold (here the tenant's default) disable the job once, with
/// one outbox event, even when they are recorded in one batch.
async fn complete_auto_disables_once_with_an_outbox_event(store: AnyStore) {
    let (_, nightly) = tenant_with_runs(&store, "acme", 10, 1, 3).await;
    let defaults = TenantPolicy {
        default_auto_disable_after: Some(2),
        default_max_retries: Some(4),
        ..TenantPolicy::default()
    };
    store.set_tenant_policy("acme", &defaults, "tester", t(0)).await.unwrap();
    let claimed = store.claim(NODE, t(0), 10, TTL).await.unwrap();
    assert_eq!(claimed[0].retry.max_retries, 4, "the tenant's default applies");
    let failures: Vec<RunResult> =
        claimed.iter().map(|run| result(run, RunStatus::Failed, t(1))).collect();
    assert_eq!(store.complete(&failures).await.unwrap(), [true, true, true]);
    let job = store.job(nightly.id).await.unwrap();
    assert_eq!((job.enabled, job.disabled_reason.as_deref()), (false, Some("auto")));
    assert_eq!((job.consecutive_failures, job.last_error.as_deref()), (3, Some("exit status 1")));
    let events = store.list_outbox(10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].event.kind().as_str(), events[0].job_id),
        ("job.auto_disabled", Some(nightly.id))
    );
    assert_eq!(events[0].event.data()["consecutive_failures"], 2);
    let enabled = store.enable_job(nightly.id, "alice", false, Some(t(60)), t(2)).await.unwrap();
    assert_eq!((enabled.enabled, enabled.consecutive_failures), (true, 0));
    assert_eq!(store.list_outbox(10).await.unwrap().len(), 2);
}

/// Every policy field survives the round trip through the columns, and stale edits are refused.
async fn job_policies_round_trip(store: AnyStore) {
    let acme = tenant(&store, "acme", 3, 1).await;
    let policy = JobPolicy {
        max_retries: Some(7),
        backoff: Backoff::Fixed { delay: Duration::from_millis(2500) },
        retry_jitter: 0.25,
        overlap: OverlapPolicy::CancelPrevious,
        missed: MissedPolicy::RunAll { max_runs: 12 },
        catch_up_window: Some(Duration::from_secs(7200)),
        auto_disable_after: Some(0),
        probation: true,
        jitter_window: Some(Duration::from_secs(90)),
        exclude_calendars: vec!["office".into(), "holidays, \"quoted\"".into()],
        only_calendar: Some("closing".into()),
        on_excluded: rota::calendars::OnExcluded::Previous,
    };
    let created = store
        .create_job(acme.id, &definition("nightly"), &policy, None, "tester", t(0))
        .await
        .unwrap();
    assert_eq!(created.policy, policy);
    let defaults = store
        .create_job(acme.id, &definition("plain"), &JobPolicy::default(), None, "tester", t(0))
        .await;
    assert_eq!(defaults.unwrap().policy, JobPolicy::default());
    let edited = JobPolicy { overlap: OverlapPolicy::Allow, ..policy.clone() };
    let updated = store.update_job_policy(created.id, 1, &edited, "tester", t(1)).await.unwrap();
    assert_eq!((updated.policy.overlap, updated.version), (OverlapPolicy::Allow, 2));
    let stale = store.update_job_policy(created.id, 1, &policy, "tester", t(2)).await.unwrap_err();
    assert_eq!(stale.code(), ErrorCode::StaleVersion);
    let paused = store.set_job_paused(created.id, true, "tester", t(3)).await.unwrap();
    assert_eq!((paused.paused, paused.paused_at), (true, Some(t(3))));
    let resumed = store.set_job_paused(created.id, false, "tester", t(4)).await.unwrap();
    assert_eq!(
        (resumed.paused, resumed.paused_at, resumed.resumed_at),
        (false, Some(t(3)), Some(t(4)))
    );
}

/// Claims of 32 from 100,000 queued runs over 1,000 tenants, each followed by completing the
/// claimed runs; then claims from one tenant with 100,000 more queued runs while the others are
/// paused, to show that a claim's cost does not grow with the queue.
async fn claim_throughput(store: AnyStore) {
    use std::time::Instant;

    let backend = store.backend().as_str();
    let setup = Instant::now();
    let mut occurrences = Vec::new();
    for n in 0..1_000_u32 {
        let tenant = tenant(&store, &format!("tenant-{n:04}"), 3, 1 + n % 3).await;
        occurrences.push((job(&store, &tenant, "job").await.id, past(100)));
    }
    let tick = Instant::now();
    assert_eq!(enqueue(&store, t(0), &occurrences).await.enqueued, 100_000);
    let tick = tick.elapsed();
    eprintln!(
        "{backend}: setup {:.1?}; one tick enqueueing 100,000 runs of 1,000 jobs: {tick:.1?}",
        setup.elapsed()
    );

    let measure = |label: &'static str, rounds: i64, first: i64| {
        let store = store.clone();
        async move {
            let (mut claiming, mut completing, mut claimed_runs) =
                (Duration::ZERO, Duration::ZERO, 0);
            for round in first..first + rounds {
                let started = Instant::now();
                let claimed = store.claim(NODE, t(round), 32, TTL).await.unwrap();
                claiming += started.elapsed();
                claimed_runs += claimed.len();
                let results: Vec<RunResult> = claimed
                    .iter()
                    .map(|claim| result(claim, RunStatus::Succeeded, t(round)))
                    .collect();
                let started = Instant::now();
                store.complete(&results).await.unwrap();
                completing += started.elapsed();
            }
            let per_claim = claiming / u32::try_from(rounds).unwrap();
            let runs_per_second = claimed_runs as f64 / claiming.as_secs_f64();
            eprintln!(
                "{backend}: {label}: {rounds} claims, {claimed_runs} runs, {per_claim:.2?} per \
                 claim ({runs_per_second:.0} runs/s claimed; completing a batch: {:.2?})",
                completing / u32::try_from(rounds).unwrap()
            );
        }
    };
    measure("1,000 tenants, 100,000 queued", 300, 1).await;

    let whale = tenant(&store, "whale", 10_000, 32).await;
    let whale_job = job(&store, &whale, "job").await;
    let many: Vec<DateTime<Utc>> = (0..100_000).map(|k| t(-1_000_000 - k)).collect();
    assert_eq!(enqueue(&store, t(1_000), &[(whale_job.id, many)]).await.enqueued, 100_000);
    let paused = TenantUpdate { paused: Some(true), ..TenantUpdate::default() };
    for n in 0..1_000 {
        store.update_tenant(&format!("tenant-{n:04}"), &paused, "tester", t(1_000)).await.unwrap();
    }
    measure("1 tenant with 100,000 queued, 190,000 in all", 300, 2_000).await;
}

/// Where each test runs: a fresh database per test, removed afterwards.
mod harness {
    use std::future::Future;
    use std::str::FromStr;

    use rota::store::prelude::*;
    use rota::store::{AnyStore, PgStore};
    use sqlx::postgres::PgConnectOptions;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{Connection, Executor, PgConnection, SqliteConnection};

    const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    pub async fn on_sqlite<F, Fut>(test: F)
    where
        F: FnOnce(AnyStore) -> Fut,
        Fut: Future<Output = ()>,
    {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rota.db").display());
        let store = AnyStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        test(store.clone()).await;
        store.close().await;
    }

    pub async fn on_postgres<F, Fut>(test: F)
    where
        F: FnOnce(AnyStore) -> Fut,
        Fut: Future<Output = ()>,
    {
        let Some(database) = TestDatabase::create().await else { return };
        let options =
            PgConnectOptions::from_str(&database.admin_url).unwrap().database(&database.name);
        let store = AnyStore::from(PgStore::connect_with(options).await.unwrap());
        store.migrate().await.unwrap();
        test(store.clone()).await;
        store.close().await;
        database.drop_now().await;
    }

    /// The tables and columns a fresh SQLite file has after the migrations.
    pub async fn migrated_sqlite_schema() -> crate::Schema {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rota.db");
        let store = AnyStore::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        let options = SqliteConnectOptions::new().filename(&path).read_only(true);
        let mut connection = SqliteConnection::connect_with(&options).await.unwrap();
        // A primary key column counts as nullable unless it says NOT NULL: SQLite lets one hold
        // NULL (a quirk it keeps for compatibility), where Postgres never does.
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT m.name, p.name, p.\"notnull\" \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
               AND m.name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut connection)
        .await
        .unwrap();
        connection.close().await.unwrap();
        let mut schema = crate::Schema::new();
        for (table, column, not_null) in rows {
            schema.entry(table).or_default().insert(column, !not_null);
        }
        schema
    }

    /// The tables and columns a fresh Postgres database has after the migrations, or `None`
    /// when the server is unreachable and Postgres is not required.
    pub async fn migrated_postgres_schema() -> Option<crate::Schema> {
        let database = TestDatabase::create().await?;
        let options =
            PgConnectOptions::from_str(&database.admin_url).unwrap().database(&database.name);
        let store = AnyStore::from(PgStore::connect_with(options.clone()).await.unwrap());
        store.migrate().await.unwrap();
        store.close().await;
        let mut connection = PgConnection::connect_with(&options).await.unwrap();
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT c.table_name::text, c.column_name::text, c.is_nullable = 'YES' \
             FROM information_schema.columns c \
             JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
               AND c.table_name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut connection)
        .await
        .unwrap();
        connection.close().await.unwrap();
        database.drop_now().await;
        let mut schema = crate::Schema::new();
        for (table, column, nullable) in rows {
            schema.entry(table).or_default().insert(column, nullable);
        }
        Some(schema)
    }

    /// A database of its own for one test. Dropped explicitly at the end; if the test panics,
    /// `Drop` drops it from a helper thread (the test's runtime may be unwinding).
    struct TestDatabase {
        admin_url: String,
        name: String,
        dropped: bool,
    }

    impl TestDatabase {
        /// `None` when the server is unreachable and Postgres is not required.
        async fn create() -> Option<TestDatabase> {
            let admin_url = std::env::var("ROTA_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
            let required = std::env::var_os("CI").is_some()
                || std::env::var("ROTA_REQUIRE_POSTGRES").as_deref() == Ok("1");
            let mut admin = match PgConnection::connect(&admin_url).await {
                Ok(connection) => connection,
                Err(error) if !required => {
                    eprintln!(
                        "SKIPPED: Postgres is unreachable at {admin_url} ({error}); set \
                         ROTA_TEST_POSTGRES_URL, or CI / ROTA_REQUIRE_POSTGRES=1 to fail instead"
                    );
                    return None;
                }
                Err(error) => panic!(
                    "Postgres is required (CI or ROTA_REQUIRE_POSTGRES=1) but unreachable at \
                     {admin_url}: {error}"
                ),
            };
            let name = format!("rota_test_{}", uuid::Uuid::new_v4().simple());
            admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
            admin.close().await.unwrap();
            Some(TestDatabase { admin_url, name, dropped: false })
        }

        async fn drop_now(mut self) {
            drop_database(&self.admin_url, &self.name).await;
            self.dropped = true;
        }
    }

    impl Drop for TestDatabase {
        fn drop(&mut self) {
            if self.dropped {
                return;
            }
            let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
            let cleanup = std::thread::spawn(move || {
                let runtime =
                    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(drop_database(&admin_url, &name));
            });
            let _ = cleanup.join();
        }
    }

    async fn drop_database(admin_url: &str, name: &str) {
        match PgConnection::connect(admin_url).await {
            Ok(mut admin) => {
                if let Err(error) = admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                {
                    eprintln!("could not drop test database {name}: {error}");
                }
                // Its migrations' group roles (`<name>_admin`, `<name>_member`) are
                // cluster-wide and outlive it.
                let roles = format!(
                    "DO $$ DECLARE r record; BEGIN \
                     FOR r IN SELECT rolname FROM pg_roles WHERE strpos(rolname, '{name}') > 0 \
                     LOOP EXECUTE format('DROP ROLE IF EXISTS %I', r.rolname); END LOOP; END $$"
                );
                let _ = admin.execute(roles.as_str()).await;
                let _ = admin.close().await;
            }
            Err(error) => eprintln!("could not drop test database {name}: {error}"),
        }
    }
}
