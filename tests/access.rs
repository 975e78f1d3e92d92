//! Access on Postgres, enforced by the database (migration 0010): view, operate and edit roles
//! on two of three tenants, through the API, the CLI and raw SQL as the role itself; what each
//! sees, may change and is refused (with the message); secrets unreadable; grants and
//! revocations on the next statement of an open connection; the audit operator is the role;
//! the traps (owner bypass, definer rights, session settings, sequences, RETURNING); the engine
//! run by a non-superuser owner while limited roles exist.
//!
//! Every role a test makes has the test database's name in it, and the database's guard drops
//! those roles (and the database's group roles) with it: roles are cluster-wide.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::access::{Capability, GrantRequest, Password};
use rota::api::{AuditFilter, BackfillRequest, CalendarSource, JobRef, Rota, TenantSettingsUpdate};
use rota::clock::{Clock, ManualClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{Envelope, Handler, HandlerRegistry, HandlerSpec, Outcome, SigningSecret};
use rota::job::JobDefinition;
use rota::policy::{JobPolicy, TenantPolicy};
use rota::run::RunStatus;
use rota::store::prelude::*;
use rota::store::{AnyStore, JobFilter, RunFilter};
use rota::tenant::NewTenant;
use rota::{Error, ErrorCode};
use sqlx::{Connection, PgConnection, Row};
use support::{Backend, TestDatabase};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "planted-webhook-secret-5f1c";
const URL_TOKEN: &str = "planted-url-token-9a2e";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct Succeeding;

#[async_trait::async_trait]
impl Handler for Succeeding {
    async fn run(&self, _: &Envelope, _: CancellationToken) -> Outcome {
        Outcome::succeeded("done")
    }
}

fn registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register("ok", Arc::new(Succeeding)).unwrap();
    registry
}

fn definition(name: &str) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: "0 3 * * *".into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Named { name: "ok".into() },
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(30),
    }
}

/// A migrated database with tenants acme, globex and initech (a job `nightly` with one run
/// each, a planted webhook secret each), and roles viewer, operator and editor with that
/// capability on acme and globex.
struct Fixture {
    db: TestDatabase,
    clock: ManualClock,
    admin: Rota<AnyStore>,
    name: String,
}

impl Fixture {
    async fn new() -> Option<Fixture> {
        let db = TestDatabase::create(Backend::Postgres).await?;
        let name = db.url.rsplit('/').next().unwrap().to_owned();
        let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
        let admin = Rota::new(db.store().await, Arc::new(clock.clone()) as Arc<dyn Clock>)
            .with_registry(registry());
        for tenant in ["acme", "globex", "initech"] {
            admin.add_tenant(&NewTenant::named(tenant), &TenantPolicy::default()).await.unwrap();
            let update = TenantSettingsUpdate {
                webhook_url: Some(Some(format!("https://hooks.example/{tenant}?t={URL_TOKEN}"))),
                webhook_secret: Some(SigningSecret::new(SECRET)),
                ..TenantSettingsUpdate::default()
            };
            admin.update_tenant_settings(tenant, &update).await.unwrap();
            admin.add_job(tenant, &definition("nightly"), &JobPolicy::default()).await.unwrap();
            admin.trigger(JobRef::named(tenant, "nightly"), None).await.unwrap();
        }
        let fixture = Fixture { db, clock, admin, name };
        for (role, capability) in [
            ("viewer", Capability::View),
            ("operator", Capability::Operate),
            ("editor", Capability::Edit),
        ] {
            fixture.grant(role, &["acme", "globex"], capability).await;
        }
        Some(fixture)
    }

    /// `base` made unique to this test's database (roles are cluster-wide).
    fn role(&self, base: &str) -> String {
        format!("{base}_{}", self.name)
    }

    fn url_as(&self, base: &str) -> String {
        let (_, rest) = self.db.url.split_once('@').unwrap();
        format!("postgres://{}@{rest}", self.role(base))
    }

    async fn grant(&self, base: &str, tenants: &[&str], capability: Capability) -> bool {
        let request = GrantRequest {
            role: self.role(base),
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            capability,
            password: None,
        };
        self.admin.grant_access(&request).await.unwrap()
    }

    /// Rota as the login role `base`, recording `operator` as the client's name.
    async fn rota_as(&self, base: &str) -> Rota<AnyStore> {
        let store = AnyStore::connect(&self.url_as(base)).await.unwrap();
        Rota::new(store, Arc::new(self.clock.clone()) as Arc<dyn Clock>)
            .with_registry(registry())
            .with_operator("mallory")
    }

    async fn raw_as(&self, base: &str) -> PgConnection {
        PgConnection::connect(&self.url_as(base)).await.unwrap()
    }
}

fn tenants_of_jobs(jobs: &[rota::job::Job]) -> Vec<String> {
    let mut tenants: Vec<String> = jobs.iter().map(|job| job.tenant.clone()).collect();
    tenants.sort();
    tenants.dedup();
    tenants
}

fn forbidden(error: Error) -> (Capability, Option<String>) {
    assert_eq!(error.code(), ErrorCode::Forbidden, "{error}");
    match error {
        Error::Forbidden { capability, tenant } => (capability, tenant),
        other => panic!("not a refusal: {other}"),
    }
}

/// The SQLSTATE of a failed raw statement.
fn sqlstate(error: &sqlx::Error) -> String {
    error.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limited_roles_see_only_their_tenants_and_never_secrets() {
    let Some(fixture) = Fixture::new().await else { return };
    let granted = vec!["acme".to_owned(), "globex".to_owned()];
    for role in ["viewer", "operator", "editor"] {
        let rota = fixture.rota_as(role).await;
        let tenants: Vec<String> =
            rota.list_tenants().await.unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(tenants, granted, "{role}");
        let jobs = rota.list_jobs(&JobFilter::default()).await.unwrap();
        assert_eq!(tenants_of_jobs(&jobs), granted, "{role}");
        let runs = rota.list_runs(&RunFilter::default()).await.unwrap();
        let mut run_tenants: Vec<String> = runs.iter().map(|r| r.tenant.clone()).collect();
        run_tenants.sort();
        assert_eq!(run_tenants, granted, "{role}");
        let audit = rota.audit_log(&AuditFilter::default()).await.unwrap();
        assert!(!audit.is_empty());
        assert!(
            audit.iter().all(|entry| entry.tenant.as_deref() != Some("initech")),
            "{role}: {audit:?}"
        );
        // A job of a tenant it was not granted does not exist for it.
        let hidden = rota.job(JobRef::named("initech", "nightly")).await.unwrap_err();
        assert_eq!(hidden.code(), ErrorCode::NotFound, "{role}: {hidden}");
        // Secrets are an admin's.
        let (capability, tenant) = forbidden(rota.tenant_settings("acme").await.unwrap_err());
        assert_eq!((capability, tenant), (Capability::Admin, None));
        let whoami = rota.whoami().await.unwrap();
        assert_eq!(whoami.role, fixture.role(role));
        assert!(!whoami.admin);
        let tenants: Vec<&str> = whoami.grants.iter().map(|g| g.tenant.as_str()).collect();
        assert_eq!(tenants, ["acme", "globex"]);

        // Raw SQL as the role: the same rows, and the secret columns refused.
        let mut raw = fixture.raw_as(role).await;
        for (table, expected) in [("tenants", 2), ("jobs", 2), ("runs", 2), ("outbox", 0)] {
            let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&mut raw)
                .await
                .unwrap();
            assert_eq!(count, expected, "{role}: {table}");
        }
        let audit_tenants: Vec<Option<String>> =
            sqlx::query_scalar("SELECT DISTINCT tenant FROM audit_log ORDER BY tenant")
                .fetch_all(&mut raw)
                .await
                .unwrap();
        assert_eq!(audit_tenants, [Some("acme".to_owned()), Some("globex".to_owned())]);
        for statement in [
            "SELECT webhook_secret FROM tenants",
            "SELECT webhook_url FROM tenants",
            "SELECT * FROM tenants",
            "SELECT count(*) FROM tenants WHERE webhook_secret IS NOT NULL",
        ] {
            let error = sqlx::query(statement).fetch_all(&mut raw).await.unwrap_err();
            assert_eq!(sqlstate(&error), "42501", "{role}: {statement}: {error}");
        }
        // Its own grants only.
        let grants: i64 = sqlx::query_scalar("SELECT count(*) FROM access_grants")
            .fetch_one(&mut raw)
            .await
            .unwrap();
        assert_eq!(grants, 2, "{role}");
        raw.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_capability_may_do_what_it_allows_and_is_refused_the_rest_by_name() {
    let Some(fixture) = Fixture::new().await else { return };
    let acme = || JobRef::named("acme", "nightly");
    let backfill = BackfillRequest {
        from: at("2026-12-29T00:00:00Z"),
        to: at("2026-12-31T00:00:00Z"),
        max: None,
        dry_run: false,
    };
    let viewer = fixture.rota_as("viewer").await;
    let operator = fixture.rota_as("operator").await;
    let editor = fixture.rota_as("editor").await;

    // Operate: run now, pause and resume, disable and enable, backfill.
    let operate_on_acme = (Capability::Operate, Some("acme".to_owned()));
    assert_eq!(forbidden(viewer.trigger(acme(), None).await.unwrap_err()), operate_on_acme);
    assert_eq!(forbidden(viewer.pause_job(acme()).await.unwrap_err()), operate_on_acme);
    assert_eq!(forbidden(viewer.backfill(acme(), &backfill).await.unwrap_err()), operate_on_acme);
    assert_eq!(
        forbidden(viewer.disable_job(acme(), "v", None).await.unwrap_err()),
        operate_on_acme
    );
    for rota in [&operator, &editor] {
        rota.trigger(acme(), Some(&serde_json::json!({"n": 1}))).await.unwrap();
        assert!(rota.pause_job(acme()).await.unwrap().paused);
        assert!(!rota.resume_job(acme()).await.unwrap().paused);
        rota.disable_job(acme(), "x", None).await.unwrap();
        assert!(rota.enable_job(acme(), "x", false).await.unwrap().enabled);
        rota.backfill(acme(), &backfill).await.unwrap();
    }

    // Edit: create, change, delete jobs.
    let edit_on = |tenant: &str| (Capability::Edit, Some(tenant.to_owned()));
    for rota in [&viewer, &operator] {
        let refused = rota.add_job("acme", &definition("new"), &JobPolicy::default()).await;
        assert_eq!(forbidden(refused.unwrap_err()), edit_on("acme"));
        let job = rota.job(acme()).await.unwrap();
        let mut changed = definition("nightly");
        changed.schedule = "5 3 * * *".into();
        let refused = rota.update_job(job.id, job.version, &changed, None).await;
        assert_eq!(forbidden(refused.unwrap_err()), edit_on("acme"));
        assert_eq!(forbidden(rota.delete_job(acme()).await.unwrap_err()), edit_on("acme"));
    }
    let created = editor.add_job("globex", &definition("new"), &JobPolicy::default()).await;
    assert_eq!(created.unwrap().tenant, "globex");
    let job = editor.job(acme()).await.unwrap();
    let mut changed = definition("nightly");
    changed.schedule = "5 3 * * *".into();
    editor.update_job(job.id, job.version, &changed, None).await.unwrap();
    editor.delete_job(JobRef::named("globex", "new")).await.unwrap();

    // Nobody limited acts on the tenant it was not granted, or on what only admins do.
    for rota in [&viewer, &operator, &editor] {
        let refused = rota.add_job("initech", &definition("x"), &JobPolicy::default()).await;
        assert_eq!(forbidden(refused.unwrap_err()), edit_on("initech"));
        let hidden = rota.trigger(JobRef::named("initech", "nightly"), None).await.unwrap_err();
        assert_eq!(hidden.code(), ErrorCode::NotFound);
        let admin_only = (Capability::Admin, None);
        let tenant = rota.add_tenant(&NewTenant::named("evil"), &TenantPolicy::default()).await;
        assert_eq!(forbidden(tenant.unwrap_err()), admin_only);
        let handler = HandlerSpec::Http(rota::handler::HttpSpec::post("https://x.example/"));
        assert_eq!(
            forbidden(rota.set_named_handler("evil", &handler).await.unwrap_err()),
            admin_only
        );
        assert_eq!(forbidden(rota.prune_runs(1, 0).await.unwrap_err()), admin_only);
        assert_eq!(forbidden(rota.list_access().await.unwrap_err()), admin_only);
        let request = GrantRequest {
            role: fixture.role("viewer"),
            tenants: vec!["initech".into()],
            capability: Capability::Edit,
            password: None,
        };
        assert_eq!(forbidden(rota.grant_access(&request).await.unwrap_err()), admin_only);
    }
    // initech is untouched.
    let initech = fixture.admin.job(JobRef::named("initech", "nightly")).await.unwrap();
    assert_eq!(initech.version, 1);
    let filter = RunFilter { tenant: Some("initech".into()), ..Default::default() };
    assert_eq!(fixture.admin.list_runs(&filter).await.unwrap().len(), 1);
}

/// The same rules hold for raw SQL as the role: the database enforces them, not Rota.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_action_needs_operate_in_every_tenant_it_changes_or_changes_nothing() {
    use rota::api::{BulkJobAction, JobFilters, JobSelection};
    let Some(fixture) = Fixture::new().await else { return };
    fixture.grant("mixed", &["acme"], Capability::Operate).await;
    fixture.grant("mixed", &["globex"], Capability::View).await;
    let mixed = fixture.rota_as("mixed").await;
    let paused = || async {
        let jobs = fixture.admin.list_jobs(&JobFilter::default()).await.unwrap();
        tenants_of_jobs(&jobs.into_iter().filter(|job| job.paused).collect::<Vec<_>>())
    };

    // Every job the role sees: acme's and globex's (initech's are invisible). Operate is
    // missing in globex: refused by name, and acme's job is not paused either.
    let everything = JobSelection::Matching(JobFilters::default());
    let refused = mixed.bulk_jobs(&everything, BulkJobAction::Pause, false).await.unwrap_err();
    assert_eq!(forbidden(refused), (Capability::Operate, Some("globex".to_owned())));
    assert!(paused().await.is_empty(), "all or nothing");

    // acme alone: paused, the audit entry naming the database role.
    let acme = JobSelection::Matching(JobFilters {
        tenant: Some("acme".to_owned()),
        ..JobFilters::default()
    });
    let report = mixed.bulk_jobs(&acme, BulkJobAction::Pause, false).await.unwrap();
    assert_eq!((report.selected, report.changed.len()), (1, 1));
    assert_eq!(paused().await, ["acme"]);
    let entries = fixture
        .admin
        .audit_log(&AuditFilter { tenant: Some("acme".to_owned()), ..AuditFilter::default() })
        .await
        .unwrap();
    let entry = entries.iter().find(|entry| entry.action == rota::api::AuditAction::JobPaused);
    assert_eq!(entry.map(|entry| entry.operator.clone()), Some(fixture.role("mixed")));

    // Past the API's check, the database itself refuses the set-based statement in globex.
    let store = mixed.store();
    let globex = JobSelection::Matching(JobFilters {
        tenant: Some("globex".to_owned()),
        ..JobFilters::default()
    });
    let jobs = store.select_jobs(&globex, 10).await.unwrap();
    assert_eq!(jobs.len(), 1, "view shows globex's job");
    let changes: Vec<_> = jobs
        .into_iter()
        .map(|job| rota::store::BulkJobChange { job, next_run_at: None, probation: false })
        .collect();
    store
        .bulk_update_jobs(BulkJobAction::Pause, &changes, "mallory", fixture.clock.now())
        .await
        .unwrap_err();
    assert_eq!(paused().await, ["acme"], "globex unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_sql_as_a_role_is_held_to_its_capability() {
    let Some(fixture) = Fixture::new().await else { return };
    let initech: uuid::Uuid = fixture.admin.tenant("initech").await.unwrap().id;
    let acme: uuid::Uuid = fixture.admin.tenant("acme").await.unwrap().id;

    // view: no UPDATE reaches a row (the UPDATE policy wants operate).
    let mut viewer = fixture.raw_as("viewer").await;
    let paused = sqlx::query("UPDATE jobs SET paused = TRUE").execute(&mut viewer).await.unwrap();
    assert_eq!(paused.rows_affected(), 0);
    let error = sqlx::query("DELETE FROM runs").execute(&mut viewer).await.unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");

    // operate: pauses its own tenants' jobs only, and RETURNING shows only those rows.
    let mut operator = fixture.raw_as("operator").await;
    let returned: Vec<String> = sqlx::query_scalar(
        "UPDATE jobs j SET paused = TRUE RETURNING (SELECT name FROM tenants t WHERE t.id = j.tenant_id)",
    )
    .fetch_all(&mut operator)
    .await
    .unwrap();
    let mut returned = returned;
    returned.sort();
    assert_eq!(returned, ["acme", "globex"]);
    // Changing what a job does needs edit: refused by the database, naming the tenant.
    let error = sqlx::query("UPDATE jobs SET schedule = '* * * * *'")
        .execute(&mut operator)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501");
    assert!(error.to_string().contains("not allowed: edit on tenant"), "{error}");
    // Moving a job to a tenant it was not granted, or inserting a run there, is refused.
    let error = sqlx::query("UPDATE jobs SET tenant_id = $1").bind(initech).execute(&mut operator);
    assert_eq!(sqlstate(&error.await.unwrap_err()), "42501");
    let initech_job = fixture.admin.job(JobRef::named("initech", "nightly")).await.unwrap().id;
    let insert_run = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, attempt, \
         status, queued_at, not_before) VALUES ($1, $2, $3, 1001, 'manual', 1, 'queued', 1, 1)";
    let error = sqlx::query(insert_run)
        .bind(uuid::Uuid::new_v4())
        .bind(initech_job)
        .bind(initech)
        .execute(&mut operator)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");
    // Nor may it rewrite a run's outcome (only ask for a cancellation).
    let error = sqlx::query("UPDATE runs SET status = 'succeeded'")
        .execute(&mut operator)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");
    let cancelled = sqlx::query("UPDATE runs SET cancel_requested = TRUE")
        .execute(&mut operator)
        .await
        .unwrap();
    assert_eq!(cancelled.rows_affected(), 2);
    // Grants are an admin's.
    let error = sqlx::query(
        "INSERT INTO access_grants (role_name, tenant_id, capability, granted_at) \
         VALUES (current_user, $1, 'edit', 0)",
    )
    .bind(initech)
    .execute(&mut operator)
    .await
    .unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");

    // edit: changes and deletes jobs of its tenants, never another's.
    let mut editor = fixture.raw_as("editor").await;
    let changed = sqlx::query("UPDATE jobs SET timeout_ms = 5000").execute(&mut editor).await;
    assert_eq!(changed.unwrap().rows_affected(), 2);
    let insert_job = "INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, \
         payload, timeout_ms, created_at, updated_at) \
         VALUES ($1, $2, 'raw', '0 * * * *', 'UTC', '{\"type\":\"named\",\"name\":\"ok\"}', \
         '{}', 1000, 0, 0)";
    let error = sqlx::query(insert_job)
        .bind(uuid::Uuid::new_v4())
        .bind(initech)
        .execute(&mut editor)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");
    sqlx::query(insert_job)
        .bind(uuid::Uuid::new_v4())
        .bind(acme)
        .execute(&mut editor)
        .await
        .unwrap();
    let deleted = sqlx::query("DELETE FROM jobs").execute(&mut editor).await.unwrap();
    assert_eq!(deleted.rows_affected(), 3);
    for table in ["tenants", "named_handlers"] {
        let error = sqlx::query(&format!("DELETE FROM {table}")).execute(&mut editor).await;
        assert_eq!(sqlstate(&error.unwrap_err()), "42501", "{table}");
    }

    // initech's job and the admin's view of everything are untouched.
    let job = fixture.admin.job(JobRef::named("initech", "nightly")).await.unwrap();
    assert_eq!((job.version, job.paused, job.timeout.as_millis()), (1, false, 30_000));
    assert_eq!(fixture.admin.list_tenants().await.unwrap().len(), 3);
}

async fn count_jobs(connection: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(connection).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_and_revocations_apply_to_the_next_statement_of_an_open_connection() {
    let Some(fixture) = Fixture::new().await else { return };
    let mut viewer = fixture.raw_as("viewer").await;
    assert_eq!(count_jobs(&mut viewer).await.unwrap(), 2);
    // A session setting changes nothing: policies read only the role's grants.
    sqlx::query("SET rota.tenant = 'initech'").execute(&mut viewer).await.unwrap();
    assert_eq!(count_jobs(&mut viewer).await.unwrap(), 2);

    fixture.grant("viewer", &["initech"], Capability::View).await;
    assert_eq!(count_jobs(&mut viewer).await.unwrap(), 3);
    fixture.admin.revoke_access(&fixture.role("viewer"), Some("acme")).await.unwrap();
    assert_eq!(count_jobs(&mut viewer).await.unwrap(), 2);
    // Revoking everything also takes the role out of the member group: no table at all.
    fixture.admin.revoke_access(&fixture.role("viewer"), None).await.unwrap();
    let error = count_jobs(&mut viewer).await.unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");
    // And back.
    fixture.grant("viewer", &["acme"], Capability::View).await;
    assert_eq!(count_jobs(&mut viewer).await.unwrap(), 1);

    // The same through a pool: its connections (opened before) follow the grants too.
    let rota = fixture.rota_as("operator").await;
    rota.pause_job(JobRef::named("acme", "nightly")).await.unwrap();
    fixture.grant("operator", &["acme"], Capability::View).await;
    let refused = rota.resume_job(JobRef::named("acme", "nightly")).await.unwrap_err();
    assert_eq!(forbidden(refused), (Capability::Operate, Some("acme".to_owned())));

    // `rota access list` shows each role with its grants.
    let roles = fixture.admin.list_access().await.unwrap();
    let viewer = roles.iter().find(|r| r.role == fixture.role("viewer")).unwrap();
    assert!(viewer.login && !viewer.admin);
    assert_eq!(viewer.grants.len(), 1);
    assert_eq!(
        (viewer.grants[0].tenant.as_str(), viewer.grants[0].capability),
        ("acme", Capability::View)
    );
    // Unknown tenants and roles are named.
    let request = GrantRequest {
        role: fixture.role("viewer"),
        tenants: vec!["nope".into()],
        capability: Capability::View,
        password: None,
    };
    let error = fixture.admin.grant_access(&request).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound, "{error}");
    let error = fixture.admin.revoke_access(&fixture.role("ghost"), None).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound, "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_operator_is_the_database_role_whatever_the_client_says() {
    let Some(fixture) = Fixture::new().await else { return };
    let operator = fixture.rota_as("operator").await;
    assert_eq!(operator.operator(), "mallory");
    operator.pause_job(JobRef::named("acme", "nightly")).await.unwrap();
    let entries = fixture.admin.audit_log(&AuditFilter::default()).await.unwrap();
    let newest = entries.iter().find(|e| e.action == rota::api::AuditAction::JobPaused).unwrap();
    assert_eq!(newest.operator, fixture.role("operator"));
    assert_eq!(newest.display_name.as_deref(), Some("mallory"));
    // Raw SQL cannot claim another name either.
    let mut raw = fixture.raw_as("operator").await;
    let acme: uuid::Uuid = fixture.admin.tenant("acme").await.unwrap().id;
    sqlx::query(
        "INSERT INTO audit_log (id, at, operator, action, tenant_id, tenant) \
         VALUES ($1, 1, 'the-ceo', 'job.paused', $2, 'acme')",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(acme)
    .execute(&mut raw)
    .await
    .unwrap();
    let row = sqlx::query("SELECT operator, display_name FROM audit_log WHERE at = 1")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("operator"), fixture.role("operator"));
    assert_eq!(row.get::<Option<String>, _>("display_name").as_deref(), Some("the-ceo"));

    // Re-enabling records the role too, on the job and in its `job.re_enabled` event, not the
    // name the client gave ("mallory" here, "someone-else" as the re-enable's operator).
    let acme = || JobRef::named("acme", "nightly");
    operator.disable_job(acme(), "mallory", None).await.unwrap();
    let job = operator.enable_job(acme(), "someone-else", false).await.unwrap();
    assert_eq!(job.enabled_by, Some(fixture.role("operator")));
    let events = fixture.admin.outbox_events(100).await.unwrap();
    let re_enabled: Vec<String> = events
        .iter()
        .filter_map(|event| match &event.event {
            rota::event::Event::JobReEnabled(data) => Some(data.operator.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(re_enabled, [fixture.role("operator")]);
    // The same through a bulk enable.
    let selection = rota::api::JobSelection::Ids(vec![job.id]);
    operator.disable_job(acme(), "mallory", None).await.unwrap();
    let report =
        operator.bulk_jobs(&selection, rota::api::BulkJobAction::Enable, false).await.unwrap();
    assert_eq!(report.changed[0].enabled_by, Some(fixture.role("operator")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_without_createrole_is_told_what_is_missing_and_nothing_changes() {
    let Some(fixture) = Fixture::new().await else { return };
    // An admin of Rota (a member of the admin group) whose database role lacks CREATEROLE.
    fixture.grant("lesser", &[], Capability::Admin).await;
    let lesser = fixture.rota_as("lesser").await;
    let newbie = GrantRequest {
        role: fixture.role("newbie"),
        tenants: vec!["acme".into()],
        capability: Capability::View,
        password: None,
    };
    let error = lesser.grant_access(&newbie).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid, "{error}");
    let text = error.to_string();
    assert!(
        text.contains("creating the login role needs the Postgres privilege CREATEROLE"),
        "{text}"
    );
    assert!(text.contains(&format!("ALTER ROLE {} CREATEROLE", fixture.role("lesser"))), "{text}");
    let mut raw = PgConnection::connect(&fixture.db.url).await.unwrap();
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
            .bind(fixture.role("newbie"))
            .fetch_one(&mut raw)
            .await
            .unwrap();
    assert!(!exists, "no role was created");
    // A new password for an existing role needs it too.
    let password = GrantRequest {
        role: fixture.role("viewer"),
        tenants: vec!["acme".into()],
        capability: Capability::View,
        password: Some(Password::new("another-one-5d1").unwrap()),
    };
    let text = lesser.grant_access(&password).await.unwrap_err().to_string();
    assert!(text.contains("setting a login role's password"), "{text}");
    // A grant in a tenant for a role that exists needs no role change: it works.
    let more = GrantRequest {
        role: fixture.role("viewer"),
        tenants: vec!["initech".into()],
        capability: Capability::View,
        password: None,
    };
    assert!(!lesser.grant_access(&more).await.unwrap(), "not created");
    let mut viewer = fixture.raw_as("viewer").await;
    assert_eq!(count_jobs(&mut viewer).await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_and_revocations_are_in_the_audit_log_without_a_password() {
    let Some(fixture) = Fixture::new().await else { return };
    let password = "planted-password-77e1";
    let request = GrantRequest {
        role: fixture.role("auditor"),
        tenants: vec!["acme".into(), "globex".into()],
        capability: Capability::Operate,
        password: Some(Password::new(password).unwrap()),
    };
    fixture.admin.grant_access(&request).await.unwrap();
    fixture.admin.revoke_access(&fixture.role("auditor"), Some("globex")).await.unwrap();
    let entries = fixture.admin.audit_log(&AuditFilter::default()).await.unwrap();
    let granted = entries
        .iter()
        .find(|entry| {
            entry.action == rota::api::AuditAction::AccessGranted
                && entry
                    .after
                    .as_ref()
                    .is_some_and(|after| after["role"] == fixture.role("auditor"))
        })
        .expect("an access.granted entry");
    let after = granted.after.clone().unwrap();
    assert_eq!(after["capability"], "operate");
    assert_eq!(after["tenants"], serde_json::json!(["acme", "globex"]));
    assert_eq!(after["login_updated"], true);
    let revoked = entries
        .iter()
        .find(|entry| entry.action == rota::api::AuditAction::AccessRevoked)
        .expect("an access.revoked entry");
    let before = revoked.before.clone().unwrap();
    assert_eq!(
        (before["role"].clone(), before["tenant"].clone(), before["grants_removed"].clone()),
        (
            serde_json::json!(fixture.role("auditor")),
            serde_json::json!("globex"),
            serde_json::json!(1)
        )
    );
    // Who granted: the admin's database role.
    let admin_role: String = {
        let mut admin = PgConnection::connect(&fixture.db.url).await.unwrap();
        sqlx::query_scalar("SELECT session_user::text").fetch_one(&mut admin).await.unwrap()
    };
    assert_eq!(granted.operator, admin_role);
    // The password is nowhere in the log, whatever form it might take.
    let mut raw = PgConnection::connect(&fixture.db.url).await.unwrap();
    let all: Vec<String> = sqlx::query_scalar("SELECT row_to_json(a)::text FROM audit_log a")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    assert!(all.iter().all(|row| !row.contains(password)), "the password is in the audit log");
    // A member never reads the grants' entries (they belong to no tenant).
    let viewer = fixture.rota_as("viewer").await;
    let seen = viewer.audit_log(&AuditFilter::default()).await.unwrap();
    assert!(seen.iter().all(|entry| entry.action != rota::api::AuditAction::AccessGranted));
}

/// The known traps of row-level security, checked on the schema so that a later migration
/// cannot bring one back unnoticed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_table_view_function_or_sequence_opens_a_way_around_the_policies() {
    let Some(fixture) = Fixture::new().await else { return };
    let mut admin = PgConnection::connect(&fixture.db.url).await.unwrap();
    // Every table with a tenant (and tenants and grants themselves) has RLS enabled and forced.
    let unprotected: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
           AND (c.relname IN ('tenants', 'access_grants') OR EXISTS (SELECT 1 FROM pg_attribute a \
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)) \
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity)",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(unprotected.is_empty(), "tenant-owned tables without forced RLS: {unprotected:?}");
    let definers: Vec<String> = sqlx::query_scalar(
        "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = 'public' AND (p.prosecdef OR p.proconfig IS NULL AND p.prolang <> \
           (SELECT oid FROM pg_language WHERE lanname = 'sql'))",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        definers.is_empty(),
        "SECURITY DEFINER, or plpgsql without a fixed search_path: {definers:?}"
    );
    let views: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm') \
           AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(views.is_empty(), "views running with their owner's rights: {views:?}");
    let sequences: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'S'",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(sequences, 0, "a sequence would count other tenants' rows");
    let settings: Vec<String> = sqlx::query_scalar(
        "SELECT policyname::text FROM pg_policies WHERE schemaname = 'public' \
         AND (coalesce(qual, '') || coalesce(with_check, '')) ~* 'current_setting|session_user'",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(settings.is_empty(), "policies that read a session setting: {settings:?}");

    // A limited role's statements look its grants up by index and read only its tenants'
    // index ranges (`measure_listings_as_a_limited_role` shows it at 100,000 jobs).
    let mut viewer = fixture.raw_as("viewer").await;
    for statement in
        ["SELECT count(*) FROM jobs", "SELECT id FROM runs ORDER BY scheduled_at DESC LIMIT 10"]
    {
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {statement}"))
            .fetch_all(&mut viewer)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(!plan.contains("Seq Scan") && !plan.contains("JIT"), "{statement}: {plan}");
    }
}

/// A deployment whose owner is not a superuser: `rota migrate` as that owner creates the
/// groups and makes the owner an admin; FORCE holds the owner to the policies (taken out of the
/// admin group it sees nothing); the engine, run by the owner, fires a run while limited roles
/// exist, and they see it only in their tenants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_as_a_non_superuser_owner_and_the_owner_is_held_to_the_policies() {
    let Some(db) = TestDatabase::create(Backend::Postgres).await else { return };
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let owner = format!("owner_{name}");
    let owned = format!("{name}_owned");
    let mut superuser = PgConnection::connect(&db.url).await.unwrap();
    sqlx::query(&format!("CREATE ROLE {owner} LOGIN CREATEROLE"))
        .execute(&mut superuser)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {owned} OWNER {owner}"))
        .execute(&mut superuser)
        .await
        .unwrap();
    let (base, _) = db.url.rsplit_once('/').unwrap();
    let (_, host) = base.split_once('@').unwrap();
    let owner_url = format!("postgres://{owner}@{host}/{owned}");
    let result = async {
        let superuser = &mut superuser;
        let store = AnyStore::connect(&owner_url).await.unwrap();
        store.migrate().await.unwrap();
        let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
        let rota = Rota::new(store.clone(), Arc::new(clock.clone()) as Arc<dyn Clock>)
            .with_registry(registry());
        assert!(rota.whoami().await.unwrap().admin, "the owner acts as an admin");
        for tenant in ["acme", "globex", "initech"] {
            rota.add_tenant(&NewTenant::named(tenant), &TenantPolicy::default()).await.unwrap();
            rota.add_job(tenant, &definition("nightly"), &JobPolicy::default()).await.unwrap();
        }
        let viewer = format!("viewer_{name}");
        let request = GrantRequest {
            role: viewer.clone(),
            tenants: vec!["acme".into(), "globex".into()],
            capability: Capability::View,
            password: Some(Password::new("correct horse").unwrap()),
        };
        assert!(rota.grant_access(&request).await.unwrap(), "created");
        // The password reached the server only as a SCRAM verifier.
        let stored: String =
            sqlx::query_scalar("SELECT rolpassword FROM pg_authid WHERE rolname = $1")
                .bind(&viewer)
                .fetch_one(&mut *superuser)
                .await
                .unwrap();
        assert!(stored.starts_with("SCRAM-SHA-256$4096:") && !stored.contains("horse"), "{stored}");

        let engine = Engine::with_registry(
            store.clone(),
            Arc::new(clock.clone()) as Arc<dyn Clock>,
            EngineConfig::new("node-a"),
            registry(),
        );
        engine.register().await.unwrap();
        for tenant in ["acme", "initech"] {
            rota.trigger(JobRef::named(tenant, "nightly"), None).await.unwrap();
        }
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(engine.dispatch_once().await.unwrap(), 2);
        engine.wait_idle().await;
        engine.record_results_once().await.unwrap();
        let runs = rota.list_runs(&RunFilter::default()).await.unwrap();
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|run| run.status == RunStatus::Succeeded), "{runs:?}");
        let viewer_url = format!("postgres://{viewer}@{host}/{owned}");
        let mut as_viewer = PgConnection::connect(&viewer_url).await.unwrap();
        let seen: Vec<String> =
            sqlx::query_scalar("SELECT t.name FROM runs r JOIN tenants t ON t.id = r.tenant_id")
                .fetch_all(&mut as_viewer)
                .await
                .unwrap();
        assert_eq!(seen, ["acme"]);
        as_viewer.close().await.unwrap();

        // FORCE: the owner itself, out of the admin group, sees no row.
        let mut as_owner = PgConnection::connect(&owner_url).await.unwrap();
        let admin_group: String = sqlx::query_scalar("SELECT rota_access_admin_role()")
            .fetch_one(&mut as_owner)
            .await
            .unwrap();
        assert_eq!(admin_group, format!("{owned}_admin"));
        sqlx::query(&format!("REVOKE {admin_group} FROM {owner}"))
            .execute(&mut *superuser)
            .await
            .unwrap();
        let jobs: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&mut as_owner).await.unwrap();
        assert_eq!(jobs, 0, "the owner bypassed the policies");
        sqlx::query(&format!("GRANT {admin_group} TO {owner}"))
            .execute(&mut *superuser)
            .await
            .unwrap();
        let jobs: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&mut as_owner).await.unwrap();
        assert_eq!(jobs, 3);
        as_owner.close().await.unwrap();
        store.close().await;
    };
    // Clean up the second database even when an assertion fails.
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(result)).await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {owned} WITH (FORCE)"))
        .execute(&mut superuser)
        .await;
    superuser.close().await.unwrap();
    drop(db);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The CLI as each role: listings show only the granted tenants, a refused action exits 2
/// naming the capability and the tenant (never a raw database error), `--operator` does not
/// change who the audit log names, and no output holds a planted secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_as_a_limited_role_shows_its_tenants_and_refuses_by_name() {
    let Some(fixture) = Fixture::new().await else { return };
    let mut outputs = String::new();
    let mut rota = |role: Option<&str>, args: &[&str], stdin: &str| {
        let url = match role {
            Some(role) => fixture.url_as(role),
            None => fixture.db.url.clone(),
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rota"))
            .arg("--database")
            .arg(url)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        outputs.push_str(&stdout);
        outputs.push_str(&stderr);
        (output.status.code(), stdout, stderr)
    };
    let job = ["--tenant", "acme", "--name", "nightly"];

    let (code, stdout, _) = rota(Some("viewer"), &["job", "list", "--json"], "");
    assert_eq!(code, Some(0));
    let jobs: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let mut tenants: Vec<&str> =
        jobs.as_array().unwrap().iter().map(|j| j["tenant"].as_str().unwrap()).collect();
    tenants.sort();
    assert_eq!(tenants, ["acme", "globex"]);
    let (code, stdout, stderr) = rota(Some("viewer"), &["tenant", "list"], "");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("acme") && !stdout.contains("initech"), "{stdout}");
    assert!(stdout.contains("(admins only)"), "{stdout}");

    let (code, _, stderr) = rota(Some("viewer"), &[&["job", "pause"][..], &job].concat(), "");
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim(), "error: not allowed: operate on tenant acme");
    let (code, _, stderr) = rota(Some("operator"), &["tenant", "add", "evil"], "");
    assert_eq!(
        (code, stderr.trim()),
        (Some(2), "error: not allowed: admin (only admins may do this)")
    );
    let (code, _, stderr) =
        rota(Some("operator"), &["tenant", "set", "acme", "--max-concurrent", "9"], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not allowed: admin"), "{stderr}");
    let (code, _, stderr) =
        rota(Some("editor"), &["access", "grant", "x", "--tenant", "acme", "--can", "view"], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not allowed: admin"), "{stderr}");
    let (code, _, stderr) =
        rota(Some("viewer"), &["job", "trigger", "--tenant", "initech", "--name", "nightly"], "");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("does not exist"), "a tenant it cannot see: {stderr}");

    // --operator is a display name; the audit log names the role.
    let (code, _, stderr) = rota(
        Some("operator"),
        &[&["--operator", "the-ceo", "job", "pause"][..], &job].concat(),
        "",
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (_, stdout, _) = rota(Some("viewer"), &["audit", "list", "--tenant", "acme", "--json"], "");
    let entries: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // (The CLI's clock is the system's, the fixture's a manual one: find the entry.)
    let paused = entries.as_array().unwrap().iter().find(|e| e["action"] == "job.paused").unwrap();
    assert_eq!(paused["operator"], fixture.role("operator").as_str());
    assert_eq!(paused["display_name"], "the-ceo");
    let (_, stdout, _) = rota(Some("viewer"), &["audit", "list", "--tenant", "acme"], "");
    assert!(stdout.contains(&format!("{} (the-ceo)", fixture.role("operator"))), "{stdout}");

    let (code, stdout, _) = rota(Some("operator"), &["access", "whoami", "--json"], "");
    assert_eq!(code, Some(0));
    let whoami: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(whoami["role"], fixture.role("operator").as_str());
    assert_eq!(whoami["admin"], false);
    assert_eq!(whoami["grants"][0], serde_json::json!({"tenant": "acme", "capability": "operate"}));
    let (_, stdout, _) = rota(Some("operator"), &["access", "whoami"], "");
    assert!(stdout.contains("operate on acme, operate on globex"), "{stdout}");

    // The admin grants with a password from standard input (never an argument).
    let newcomer = fixture.role("newcomer");
    let (code, _, stderr) = rota(
        None,
        &[
            "access",
            "grant",
            &newcomer,
            "--tenant",
            "initech",
            "--can",
            "view",
            "--password",
            "hunter2",
        ],
        "",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--password: only - is accepted"), "{stderr}");
    let (code, stdout, stderr) = rota(
        None,
        &["access", "grant", &newcomer, "--tenant", "initech", "--can", "view", "--password", "-"],
        "s3cret-typed-once\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("created login role {newcomer}: view on tenant initech")),
        "{stdout}"
    );
    let (code, stdout, _) = rota(Some("newcomer"), &["job", "list", "--json"], "");
    assert_eq!(code, Some(0));
    let jobs: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let (code, stdout, _) = rota(None, &["access", "list", "--json"], "");
    assert_eq!(code, Some(0));
    let roles: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(roles.as_array().unwrap().len(), 4, "{roles}");
    let (code, stdout, _) = rota(None, &["access", "revoke", &newcomer], "");
    assert_eq!(code, Some(0));
    assert!(stdout.contains("revoked 1 grant(s)"), "{stdout}");
    let (code, _, stderr) =
        rota(None, &["access", "grant", "Bad-Name", "--tenant", "acme", "--can", "view"], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("role: \"Bad-Name\" is invalid"), "{stderr}");
    let (code, _, stderr) =
        rota(None, &["access", "grant", &newcomer, "--tenant", "acme", "--can", "root"], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("allowed: view, operate, edit, admin"), "{stderr}");

    for planted in [SECRET, URL_TOKEN, "s3cret-typed-once", "hunter2"] {
        assert!(!outputs.contains(planted), "{planted} leaked into the CLI's output");
    }
}

/// The measurement behind the README's numbers (run once by hand; no timed assertion):
/// `ROTA_REQUIRE_POSTGRES=1 cargo test --release --test access -- --ignored --nocapture`.
/// Tenants with `JOBS_PER_TENANT` jobs and one finished run each; a viewer granted two of them.
/// Each listing is timed as the admin and as the viewer (best of five), and the viewer's plans
/// must read only its tenants' index ranges: no sequential scan of `jobs` or `runs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run by hand with --ignored --nocapture"]
async fn measure_listings_as_a_limited_role() {
    for (tenants, per_tenant) in [(3, 50_000), (20, 5_000)] {
        measure(tenants, per_tenant).await;
    }
}

/// The fastest of `$n` evaluations of `$work` (which returns a row count), in milliseconds.
macro_rules! best_of {
    ($n:expr, $work:expr) => {{
        let mut best = f64::MAX;
        for _ in 0..$n {
            let started = std::time::Instant::now();
            let rows: usize = $work;
            assert!(rows > 0);
            best = best.min(started.elapsed().as_secs_f64() * 1000.0);
        }
        best
    }};
}

async fn measure(tenants: usize, per_tenant: i64) {
    let Some(fixture) = Fixture::new().await else { return };
    let mut admin = PgConnection::connect(&fixture.db.url).await.unwrap();
    for index in 3..tenants {
        let name = format!("tenant{index:02}");
        fixture.admin.add_tenant(&NewTenant::named(name), &TenantPolicy::default()).await.unwrap();
    }
    // Bulk rows as the superuser: jobs `job-N` in every tenant, one finished run each.
    sqlx::query(
        "INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, payload, \
         timeout_ms, next_run_at, created_at, updated_at) \
         SELECT gen_random_uuid(), t.id, 'job-' || g, '0 3 * * *', 'UTC', \
           '{\"type\":\"named\",\"name\":\"ok\"}', '{}', 30000, 1800000000000 + g, \
           1700000000000 + g, 1700000000000 + g \
         FROM tenants t, generate_series(1, $1::bigint) g",
    )
    .bind(per_tenant)
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, attempt, status, \
         queued_at, not_before, started_at, finished_at, duration_ms) \
         SELECT gen_random_uuid(), j.id, j.tenant_id, j.created_at, 'schedule', 1, 'succeeded', \
           j.created_at, j.created_at, j.created_at, j.created_at + 10, 10 FROM jobs j",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(&mut admin).await.unwrap();
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&mut admin).await.unwrap();
    let viewer = fixture.rota_as("viewer").await;
    let mut as_viewer = fixture.raw_as("viewer").await;
    let visible: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&mut as_viewer).await.unwrap();
    println!(
        "\n{tenants} tenants, {total} jobs and runs; the viewer sees {visible} jobs (2 tenants)"
    );

    // The viewer's listings read only its tenants: the plans of every listing.
    let statements = [
        ("all its jobs by name", "SELECT j.id, j.name, t.name FROM jobs j JOIN tenants t ON t.id = j.tenant_id ORDER BY j.name, j.id".to_owned()),
        ("newest 100 runs", "SELECT r.id FROM runs r JOIN jobs j ON j.id = r.job_id JOIN tenants t ON t.id = r.tenant_id ORDER BY r.scheduled_at DESC LIMIT 100".to_owned()),
        ("count of jobs", "SELECT count(*) FROM jobs".to_owned()),
    ];
    for (what, statement) in &statements {
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {statement}"))
            .fetch_all(&mut as_viewer)
            .await
            .unwrap();
        let plan = plan.join("\n");
        println!("viewer's plan, {what}:\n{plan}");
        assert!(
            !plan.contains("Seq Scan on jobs")
                && !plan.contains("Seq Scan on runs")
                && !plan.contains("Seq Scan on access_grants"),
            "{what}: {plan}"
        );
    }

    let granted = "WHERE t.name IN ('acme', 'globex')";
    let timings = [
        (
            "all visible jobs by name (raw SQL)",
            format!("SELECT j.id, j.name, t.name FROM jobs j JOIN tenants t ON t.id = j.tenant_id {granted} ORDER BY j.name, j.id"),
            statements[0].1.clone(),
        ),
        (
            "count of visible jobs (raw SQL)",
            format!("SELECT count(*) FROM jobs j JOIN tenants t ON t.id = j.tenant_id {granted}"),
            statements[2].1.clone(),
        ),
    ];
    for (what, as_admin, as_limited) in &timings {
        let admin_ms =
            best_of!(5, sqlx::query(as_admin).fetch_all(&mut admin).await.unwrap().len());
        let viewer_ms =
            best_of!(5, sqlx::query(as_limited).fetch_all(&mut as_viewer).await.unwrap().len());
        println!("{what}: admin (same tenants) {admin_ms:.1} ms, viewer {viewer_ms:.1} ms");
    }
    let api_admin = fixture.admin.clone();
    let cases: [(&str, JobFilter); 1] =
        [("rota job list --limit 10000", JobFilter { limit: Some(10_000), ..Default::default() })];
    for (what, filter) in &cases {
        let admin_ms = best_of!(5, api_admin.list_jobs(filter).await.unwrap().len());
        let viewer_ms = best_of!(5, viewer.list_jobs(filter).await.unwrap().len());
        println!("{what}: admin (all tenants) {admin_ms:.1} ms, viewer {viewer_ms:.1} ms");
    }
    let page = rota::api::JobQuery { limit: 100, ..Default::default() };
    let admin_ms = best_of!(5, api_admin.job_page(&page).await.unwrap().jobs.len());
    let viewer_ms = best_of!(5, viewer.job_page(&page).await.unwrap().jobs.len());
    println!("console jobs page (100 by name, with its count): admin {admin_ms:.1} ms, viewer {viewer_ms:.1} ms");
    let runs = RunFilter { limit: Some(100), ..Default::default() };
    let admin_ms = best_of!(5, api_admin.list_runs(&runs).await.unwrap().len());
    let viewer_ms = best_of!(5, viewer.list_runs(&runs).await.unwrap().len());
    println!("rota runs list (newest 100): admin {admin_ms:.1} ms, viewer {viewer_ms:.1} ms");
}

/// Calendars (migration 0012): a tenant's are its members' (changed with edit), a shared one
/// is read by every member and changed by admins only, through Rota and in raw SQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_calendars_are_read_by_members_and_changed_by_admins_only() {
    let Some(fixture) = Fixture::new().await else { return };
    let days =
        |date: &str| CalendarSource::Days { dates: vec![date.parse().unwrap()], ranges: vec![] };
    fixture.admin.add_calendar(None, "holidays", &days("2027-12-25")).await.unwrap();
    fixture.admin.add_calendar(Some("initech"), "secret-plans", &days("2027-06-01")).await.unwrap();

    let viewer = fixture.rota_as("viewer").await;
    let editor = fixture.rota_as("editor").await;
    // Members read the shared calendar, and none of another tenant's.
    let seen: Vec<String> =
        viewer.list_calendars(None).await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(seen, ["holidays"]);
    // A viewer adds nothing; an editor adds to its tenant, never a shared one.
    let refused = viewer.add_calendar(Some("acme"), "office", &days("2027-12-24")).await;
    assert_eq!(forbidden(refused.unwrap_err()), (Capability::Edit, Some("acme".into())));
    editor.add_calendar(Some("acme"), "office", &days("2027-12-24")).await.unwrap();
    let refused = editor.add_calendar(None, "office", &days("2027-12-24")).await;
    assert_eq!(forbidden(refused.unwrap_err()), (Capability::Admin, None));
    let refused = editor.update_calendar(None, "holidays", &days("2027-01-01")).await;
    assert_eq!(forbidden(refused.unwrap_err()), (Capability::Admin, None));

    // The database holds the same line in raw SQL.
    let mut raw = fixture.raw_as("editor").await;
    let changed = sqlx::query("UPDATE calendars SET source = 'x' WHERE tenant_id IS NULL")
        .execute(&mut raw)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 0);
    let deleted =
        sqlx::query("DELETE FROM calendars WHERE tenant_id IS NULL OR name = 'secret-plans'")
            .execute(&mut raw)
            .await
            .unwrap();
    assert_eq!(deleted.rows_affected(), 0);
    let error = sqlx::query(
        "INSERT INTO calendars (id, tenant_id, name, source, created_at, updated_at) \
         VALUES (gen_random_uuid(), NULL, 'sneaky', 'x', 1, 1)",
    )
    .execute(&mut raw)
    .await
    .unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");
    let visible: Vec<String> = sqlx::query_scalar("SELECT name FROM calendars ORDER BY name")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    assert_eq!(visible, ["holidays", "office"]);
    // And changing a job's calendars is an edit (the trigger of 0010, with 0012's columns).
    let mut operator = fixture.raw_as("operator").await;
    let error = sqlx::query("UPDATE jobs SET on_excluded = 'next'")
        .execute(&mut operator)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");

    // Each change is an audit entry (migration 0015): the editor's names its role, and members
    // read their tenants' entries as a job's; a shared calendar's and another tenant's are the
    // admins' only.
    editor.update_calendar(Some("acme"), "office", &days("2027-12-31")).await.unwrap();
    editor.remove_calendar(Some("acme"), "office").await.unwrap();
    let calendar_entries =
        |entries: Vec<rota::api::AuditEntry>| -> Vec<(String, Option<String>, String)> {
            let mut seen: Vec<(String, Option<String>, String)> = entries
                .into_iter()
                .filter(|entry| entry.action.as_str().starts_with("calendar."))
                .map(|entry| {
                    let name =
                        entry.after.or(entry.before).unwrap()["name"].as_str().unwrap().to_owned();
                    (entry.action.to_string(), entry.tenant, name)
                })
                .collect();
            seen.sort();
            seen
        };
    let created = "calendar.created".to_owned();
    let acme = Some("acme".to_owned());
    let all = calendar_entries(fixture.admin.audit_log(&AuditFilter::default()).await.unwrap());
    assert_eq!(
        all,
        [
            (created.clone(), None, "holidays".to_owned()),
            (created.clone(), acme.clone(), "office".to_owned()),
            (created.clone(), Some("initech".to_owned()), "secret-plans".to_owned()),
            ("calendar.removed".to_owned(), acme.clone(), "office".to_owned()),
            ("calendar.updated".to_owned(), acme.clone(), "office".to_owned()),
        ]
    );
    let entries = viewer.audit_log(&AuditFilter::default()).await.unwrap();
    let by_editor =
        entries.iter().find(|entry| entry.action.as_str() == "calendar.created").unwrap();
    assert_eq!(by_editor.operator, fixture.role("editor"));
    assert_eq!(
        calendar_entries(entries),
        [
            (created, acme.clone(), "office".to_owned()),
            ("calendar.removed".to_owned(), acme.clone(), "office".to_owned()),
            ("calendar.updated".to_owned(), acme, "office".to_owned()),
        ]
    );
    // In raw SQL, an editor writes a calendar entry only in its tenants, and an operator none.
    let insert = "INSERT INTO audit_log (id, at, operator, action, tenant_id) \
                  SELECT gen_random_uuid(), 1, 'x', $1, id FROM tenants WHERE name = $2";
    for (role, action, tenant) in
        [("editor", "calendar.created", "initech"), ("operator", "calendar.created", "acme")]
    {
        let mut raw = fixture.raw_as(role).await;
        let result = sqlx::query(insert).bind(action).bind(tenant).execute(&mut raw).await;
        // A tenant the role cannot see selects no row; one it sees is refused by the policy.
        match result {
            Ok(done) => assert_eq!(done.rows_affected(), 0, "{role}"),
            Err(error) => assert_eq!(sqlstate(&error), "42501", "{role}: {error}"),
        }
    }
}

/// A test run executes whatever its author typed, so it needs `edit` in its tenant, like saving
/// the definition: refused by name through the API, and by the database for raw SQL (the
/// restrictive policy of migration 0016), while `operate` still inserts runs of saved jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_run_needs_edit_in_its_tenant() {
    let Some(fixture) = Fixture::new().await else { return };
    let draft = definition("draft");
    for role in ["viewer", "operator"] {
        let rota = fixture.rota_as(role).await;
        let refused = rota.test_run("acme", &draft).await.unwrap_err();
        assert_eq!(forbidden(refused), (Capability::Edit, Some("acme".to_owned())), "{role}");
    }
    let editor = fixture.rota_as("editor").await;
    let run = editor.test_run("acme", &draft).await.unwrap();
    assert_eq!((run.job_id, run.job.as_str()), (None, "draft"));
    // The editor reads its test run back; another tenant's is refused.
    assert_eq!(editor.run(run.id).await.unwrap().id, run.id);
    let refused = editor.test_run("initech", &draft).await.unwrap_err();
    assert_eq!(forbidden(refused).0, Capability::Edit);

    // Raw SQL: a row without a job needs edit; an operator's manual run still goes in.
    let acme: uuid::Uuid = fixture.admin.tenant("acme").await.unwrap().id;
    let insert_test = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, attempt, \
         status, queued_at, not_before, definition) \
         VALUES ($1, NULL, $2, 1001, 'test', 1, 'queued', 1, 1, $3)";
    let as_json = serde_json::to_value(&draft).unwrap();
    let mut operator = fixture.raw_as("operator").await;
    let error = sqlx::query(insert_test)
        .bind(uuid::Uuid::new_v4())
        .bind(acme)
        .bind(&as_json)
        .execute(&mut operator)
        .await
        .unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "{error}");
    let acme_job = fixture.admin.job(JobRef::named("acme", "nightly")).await.unwrap().id;
    sqlx::query(
        "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, attempt, status, \
         queued_at, not_before) VALUES ($1, $2, $3, 1001, 'manual', 1, 'queued', 1, 1)",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(acme_job)
    .bind(acme)
    .execute(&mut operator)
    .await
    .unwrap();
    let mut editor = fixture.raw_as("editor").await;
    sqlx::query(insert_test)
        .bind(uuid::Uuid::new_v4())
        .bind(acme)
        .bind(&as_json)
        .execute(&mut editor)
        .await
        .unwrap();
}
