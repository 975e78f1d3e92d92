//! The audit log on both backends: every change made through `rota::api::Rota` writes exactly
//! one entry, in its transaction, naming the operator (on Postgres the database role, with the
//! name the client gave beside it), the action, the target and the record
//! before and after; a change that fails writes none; the engine's auto-disable is attributed
//! to `engine`; secrets never reach the log; the database refuses to change or delete entries.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::api::{
    AuditAction, AuditEntry, AuditFilter, BackfillRequest, CalendarSource, JobRef, Rota,
    TenantSettingsUpdate, TenantUpdate,
};
use rota::clock::{Clock, ManualClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{
    Envelope, Handler, HandlerRegistry, HandlerSpec, HttpSpec, Outcome, SigningSecret,
};
use rota::job::JobDefinition;
use rota::policy::{JobPolicy, OverlapPolicy, TenantPolicy};
use rota::store::AnyStore;
use rota::tenant::NewTenant;
use rota::ErrorCode;
use tokio_util::sync::CancellationToken;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

struct Failing;

#[async_trait::async_trait]
impl Handler for Failing {
    async fn run(&self, _: &Envelope, _: CancellationToken) -> Outcome {
        Outcome::failed("boom")
    }
}

fn registry() -> HandlerRegistry {
    let mut registry = HandlerRegistry::new();
    registry.register("fail", Arc::new(Failing)).unwrap();
    registry
}

fn definition(name: &str, schedule: &str) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: schedule.into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Http(
            HttpSpec::post("https://reports.example/run")
                .with_header("Authorization", "Bearer top-secret-token"),
        ),
        payload: serde_json::json!({"kind": "daily"}),
        timeout: Duration::from_secs(30),
    }
}

/// The name the client gave for an entry: on SQLite the operator itself; on Postgres the
/// operator is the database role (`session_user`, tests/access.rs checks it) and the name the
/// client gave is kept beside it.
fn client_name(entry: &AuditEntry) -> &str {
    entry.display_name.as_deref().unwrap_or(&entry.operator)
}

/// The whole log, oldest first.
async fn log(rota: &Rota<AnyStore>) -> Vec<AuditEntry> {
    let mut entries = rota.audit_log(&AuditFilter::default()).await.unwrap();
    entries.reverse();
    entries
}

/// Runs `change` a second after the previous one (entries of the same millisecond have no
/// order), then checks that it wrote exactly one entry, by alice, with this action and target,
/// and returns it.
macro_rules! one_entry {
    ($clock:expr, $rota:expr, $action:expr, $tenant:expr, $job:expr, $change:expr) => {{
        $clock.advance(chrono::Duration::seconds(1));
        let before = log(&$rota).await.len();
        $change;
        let entries = log(&$rota).await;
        assert_eq!(entries.len(), before + 1, "{:?}: {:#?}", $action, &entries[before..]);
        let entry = entries.last().unwrap().clone();
        assert_eq!(entry.action, $action);
        assert_eq!(client_name(&entry), "alice");
        assert_eq!(entry.tenant.as_deref(), $tenant);
        assert_eq!(entry.job.as_deref(), $job);
        entry
    }};
}

backend_test!(each_change_writes_one_entry_with_before_and_after, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_operator("alice");
    assert_eq!(rota.operator(), "alice");
    let acme = Some("acme");
    let nightly = Some("nightly");

    let entry = one_entry!(clock, rota, AuditAction::TenantCreated, acme, None, {
        rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap()
    });
    assert_eq!((entry.before, entry.at), (None, at("2027-01-01T10:00:01Z")));
    assert_eq!(entry.after.unwrap()["max_concurrent"], 3);

    let entry = one_entry!(clock, rota, AuditAction::TenantUpdated, acme, None, {
        let update = TenantUpdate { max_concurrent: Some(7), ..TenantUpdate::default() };
        rota.update_tenant("acme", &update, None).await.unwrap()
    });
    assert_eq!(
        (
            entry.before.unwrap()["max_concurrent"].clone(),
            entry.after.unwrap()["max_concurrent"].clone()
        ),
        (serde_json::json!(3), serde_json::json!(7))
    );

    let entry = one_entry!(clock, rota, AuditAction::TenantPolicySet, acme, None, {
        let policy = TenantPolicy { default_max_retries: Some(2), ..TenantPolicy::default() };
        rota.set_tenant_policy("acme", &policy).await.unwrap()
    });
    assert_eq!(entry.after.unwrap()["policy"]["default_max_retries"], 2);

    let entry = one_entry!(clock, rota, AuditAction::TenantSettingsSet, acme, None, {
        let update = TenantSettingsUpdate {
            webhook_url: Some(Some("https://acme.example/hook".into())),
            webhook_secret: Some(SigningSecret::new("whsec_never_in_the_log")),
            notify_run_failed: Some(true),
            ..TenantSettingsUpdate::default()
        };
        rota.update_tenant_settings("acme", &update).await.unwrap()
    });
    let (before, after) = (entry.before.unwrap(), entry.after.unwrap());
    assert_eq!(
        (before["webhook_secret"].clone(), before["notify_run_failed"].clone()),
        (serde_json::Value::Null, serde_json::json!(false))
    );
    assert_eq!(after["webhook_secret"], "(secret, replaced)");
    assert_eq!(after["webhook_url"], "https://acme.example/hook");
    assert_eq!(after["notify_run_failed"], true);

    let entry = one_entry!(clock, rota, AuditAction::HandlerSet, None, None, {
        let spec = HandlerSpec::Http(
            HttpSpec::post("https://api.example/x")
                .with_header("X-Api-Key", "key-never-in-the-log"),
        );
        rota.set_named_handler("reports.daily", &spec).await.unwrap()
    });
    assert_eq!(entry.handler.as_deref(), Some("reports.daily"));
    assert_eq!(entry.after.unwrap()["headers"]["X-Api-Key"], "(secret)");

    let entry = one_entry!(clock, rota, AuditAction::JobCreated, acme, nightly, {
        rota.add_job("acme", &definition("nightly", "0 3 * * *"), &JobPolicy::default())
            .await
            .unwrap()
    });
    let job_id = entry.job_id.unwrap();
    let after = entry.after.unwrap();
    assert_eq!(
        (after["schedule"].clone(), after["enabled"].clone()),
        (serde_json::json!("0 3 * * *"), serde_json::json!(true))
    );
    assert_eq!(after["handler"]["headers"]["Authorization"], "(secret)");

    let entry = one_entry!(clock, rota, AuditAction::JobUpdated, acme, nightly, {
        rota.update_job(job_id, 1, &definition("nightly", "30 4 * * *"), None).await.unwrap()
    });
    assert_eq!(entry.before.unwrap()["schedule"], "0 3 * * *");
    assert_eq!(entry.after.unwrap()["schedule"], "30 4 * * *");

    let entry = one_entry!(clock, rota, AuditAction::JobPolicySet, acme, nightly, {
        let policy = JobPolicy { overlap: OverlapPolicy::Allow, ..JobPolicy::default() };
        rota.set_job_policy(job_id, 2, &policy).await.unwrap()
    });
    assert_eq!(entry.before.unwrap()["policy"]["overlap"], "skip");
    assert_eq!(entry.after.unwrap()["policy"]["overlap"], "allow");

    let entry = one_entry!(clock, rota, AuditAction::JobPaused, acme, nightly, {
        rota.pause_job(JobRef::named("acme", "nightly")).await.unwrap()
    });
    assert_eq!(
        (entry.before.unwrap()["paused"].clone(), entry.after.unwrap()["paused"].clone()),
        (serde_json::json!(false), serde_json::json!(true))
    );
    one_entry!(clock, rota, AuditAction::JobResumed, acme, nightly, {
        rota.resume_job(JobRef::named("acme", "nightly")).await.unwrap()
    });

    let entry = one_entry!(clock, rota, AuditAction::JobDisabled, acme, nightly, {
        rota.disable_job(JobRef::named("acme", "nightly"), "alice", Some("endpoint moved"))
            .await
            .unwrap()
    });
    assert_eq!(entry.after.unwrap()["disabled_reason"], "endpoint moved (by alice)");
    let entry = one_entry!(clock, rota, AuditAction::JobEnabled, acme, nightly, {
        rota.enable_job(JobRef::named("acme", "nightly"), "alice", false).await.unwrap()
    });
    assert_eq!(
        (entry.before.unwrap()["enabled"].clone(), entry.after.unwrap()["enabled"].clone()),
        (serde_json::json!(false), serde_json::json!(true))
    );
    // Enabling an enabled job changes nothing and records nothing.
    let count = log(&rota).await.len();
    rota.enable_job(JobRef::named("acme", "nightly"), "alice", false).await.unwrap();
    assert_eq!(log(&rota).await.len(), count);

    let entry = one_entry!(clock, rota, AuditAction::JobTriggered, acme, nightly, {
        rota.trigger(JobRef::named("acme", "nightly"), None).await.unwrap()
    });
    assert!(entry.after.unwrap()["run_id"].is_string());

    clock.set(at("2027-01-05T00:00:00Z"));
    let entry = one_entry!(clock, rota, AuditAction::JobBackfilled, acme, nightly, {
        let (from, to) = (at("2027-01-02T00:00:00Z"), at("2027-01-03T23:59:59Z"));
        let request = BackfillRequest { from, to, max: None, dry_run: false };
        rota.backfill(JobRef::named("acme", "nightly"), &request).await.unwrap()
    });
    assert_eq!(entry.after.unwrap()["queued"], 2);

    let entry = one_entry!(clock, rota, AuditAction::JobDeleted, acme, nightly, {
        rota.delete_job(JobRef::named("acme", "nightly")).await.unwrap()
    });
    assert!(entry.after.is_none());
    assert_eq!(entry.before.unwrap()["name"], "nightly");

    // Secrets never reach the log.
    let text = serde_json::to_string(&log(&rota).await).unwrap();
    for secret in ["whsec_never_in_the_log", "key-never-in-the-log", "top-secret-token"] {
        assert!(!text.contains(secret), "{secret} is in the audit log");
    }

    // Filters: by tenant, by job, since an instant.
    let by_job = rota
        .audit_log(&AuditFilter {
            tenant: Some("acme".into()),
            job: Some("nightly".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(by_job.len(), 10);
    assert!(by_job.iter().all(|entry| entry.job.as_deref() == Some("nightly")));
    let recent = rota
        .audit_log(&AuditFilter {
            since: Some(at("2027-01-02T00:00:00Z")),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let actions: Vec<AuditAction> = recent.iter().map(|entry| entry.action).collect();
    assert_eq!(actions, [AuditAction::JobDeleted, AuditAction::JobBackfilled]);
    assert_eq!(
        rota.audit_log(&AuditFilter { limit: Some(0), ..AuditFilter::default() })
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Invalid
    );
});

backend_test!(a_change_that_fails_writes_no_entry, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_operator("alice");
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    let job = rota
        .add_job("acme", &definition("nightly", "0 3 * * *"), &JobPolicy::default())
        .await
        .unwrap();
    let count = log(&rota).await.len();
    assert_eq!(count, 2);

    // Invalid input: refused before any write.
    let error = rota
        .add_job("acme", &definition("broken", "61 * * * *"), &JobPolicy::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid);
    // A duplicate: refused by the database, inside the transaction.
    let error =
        rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyExists);
    let error = rota
        .add_job("acme", &definition("nightly", "0 4 * * *"), &JobPolicy::default())
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyExists);
    // A stale version: someone changed the job since it was read.
    let error =
        rota.update_job(job.id, 7, &definition("nightly", "0 5 * * *"), None).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::StaleVersion);
    let stale = JobPolicy { overlap: OverlapPolicy::Allow, ..JobPolicy::default() };
    let error = rota.set_job_policy(job.id, 7, &stale).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::StaleVersion);
    // A rename onto another job's name.
    rota.add_job("acme", &definition("weekly", "0 3 * * 1"), &JobPolicy::default()).await.unwrap();
    let count = count + 1;
    let error =
        rota.update_job(job.id, 1, &definition("weekly", "0 3 * * *"), None).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyExists);
    // Unknown targets.
    let update = TenantUpdate { paused: Some(true), ..TenantUpdate::default() };
    assert_eq!(
        rota.update_tenant("nobody", &update, None).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        rota.pause_job(JobRef::named("acme", "nobody")).await.unwrap_err().code(),
        ErrorCode::NotFound
    );
    let settings = TenantSettingsUpdate {
        notify_email: Some(Some("not-an-address".into())),
        ..TenantSettingsUpdate::default()
    };
    assert_eq!(
        rota.update_tenant_settings("acme", &settings).await.unwrap_err().code(),
        ErrorCode::Invalid
    );

    assert_eq!(log(&rota).await.len(), count, "{:#?}", log(&rota).await);
    let job = rota.job(JobRef::named("acme", "nightly")).await.unwrap();
    assert_eq!((job.schedule.as_str(), job.version), ("0 3 * * *", 1), "nothing changed either");
});

backend_test!(the_engines_auto_disable_is_attributed_to_the_engine, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
    let rota = Rota::new(store.clone(), Arc::new(clock.clone()))
        .with_registry(registry())
        .with_operator("alice");
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    clock.advance(chrono::Duration::seconds(1));
    let mut failing = definition("flaky", "0 3 * * *");
    failing.handler = HandlerSpec::Named { name: "fail".into() };
    let policy = JobPolicy { auto_disable_after: Some(2), ..JobPolicy::default() };
    rota.add_job("acme", &failing, &policy).await.unwrap();
    let engine = Engine::with_registry(
        store.clone(),
        Arc::new(clock.clone()) as Arc<dyn Clock>,
        EngineConfig::new("node-a"),
        registry(),
    );
    engine.register().await.unwrap();
    for _ in 0..2 {
        clock.advance(chrono::Duration::seconds(1));
        rota.trigger(JobRef::named("acme", "flaky"), None).await.unwrap();
        clock.advance(chrono::Duration::seconds(1));
        engine.dispatch_once().await.unwrap();
        engine.wait_idle().await;
        engine.record_results_once().await.unwrap();
    }
    let entries = log(&rota).await;
    let actions: Vec<(AuditAction, &str)> =
        entries.iter().map(|entry| (entry.action, client_name(entry))).collect();
    assert_eq!(
        actions,
        [
            (AuditAction::TenantCreated, "alice"),
            (AuditAction::JobCreated, "alice"),
            (AuditAction::JobTriggered, "alice"),
            (AuditAction::JobTriggered, "alice"),
            (AuditAction::JobAutoDisabled, "engine"),
        ]
    );
    let disabled = entries.last().unwrap();
    let (before, after) = (disabled.before.clone().unwrap(), disabled.after.clone().unwrap());
    assert_eq!(
        (before["enabled"].clone(), after["enabled"].clone()),
        (serde_json::json!(true), serde_json::json!(false))
    );
    assert_eq!(after["disabled_reason"], "auto");
    assert_eq!(
        (after["consecutive_failures"].clone(), after["last_error"].clone()),
        (serde_json::json!(2), serde_json::json!("boom"))
    );
    assert_eq!(
        (disabled.tenant.as_deref(), disabled.job.as_deref()),
        (Some("acme"), Some("flaky"))
    );
});

backend_test!(the_database_refuses_to_change_or_delete_entries, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
    let rota = Rota::new(store.clone(), Arc::new(clock)).with_operator("alice");
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    let statements = ["UPDATE audit_log SET operator = 'mallory'", "DELETE FROM audit_log"];
    for statement in statements {
        let refused = match db.backend {
            support::Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap_err().to_string()
            }
            support::Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
                sqlx::query(statement).execute(&pool).await.unwrap_err().to_string()
            }
        };
        assert!(refused.contains("append-only"), "{statement}: {refused}");
    }
    // Retention leaves it alone too.
    rota.prune_runs(1, 0).await.unwrap();
    let entries = log(&rota).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(client_name(&entries[0]), "alice");
});

fn days(dates: &[&str]) -> CalendarSource {
    CalendarSource::Days {
        dates: dates.iter().map(|d| d.parse().unwrap()).collect(),
        ranges: vec![],
    }
}

backend_test!(calendar_changes_are_entries_naming_the_calendar_not_its_file, |db| {
    let store = db.store().await;
    let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
    let rota = Rota::new(store.clone(), Arc::new(clock.clone())).with_operator("alice");
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    let acme = Some("acme");
    let summary = |entry: &Option<serde_json::Value>| {
        let value = entry.clone().expect("a snapshot");
        (
            value["name"].clone(),
            value["tenant"].clone(),
            value["version"].clone(),
            value["events"].clone(),
        )
    };

    let entry = one_entry!(clock, rota, AuditAction::CalendarCreated, acme, None, {
        rota.add_calendar(acme, "office", &days(&["2027-12-24", "2027-12-25"])).await.unwrap()
    });
    assert_eq!(entry.before, None);
    assert_eq!(
        summary(&entry.after),
        (
            serde_json::json!("office"),
            serde_json::json!("acme"),
            serde_json::json!(1),
            serde_json::json!(2)
        )
    );

    let entry = one_entry!(clock, rota, AuditAction::CalendarUpdated, acme, None, {
        let three = days(&["2027-12-24", "2027-12-25", "2027-12-31"]);
        rota.update_calendar(acme, "office", &three).await.unwrap()
    });
    assert_eq!(
        summary(&entry.before),
        (
            serde_json::json!("office"),
            serde_json::json!("acme"),
            serde_json::json!(1),
            serde_json::json!(2)
        )
    );
    assert_eq!(
        summary(&entry.after),
        (
            serde_json::json!("office"),
            serde_json::json!("acme"),
            serde_json::json!(2),
            serde_json::json!(3)
        )
    );

    let entry = one_entry!(clock, rota, AuditAction::CalendarRemoved, acme, None, {
        rota.remove_calendar(acme, "office").await.unwrap()
    });
    assert_eq!(
        summary(&entry.before),
        (
            serde_json::json!("office"),
            serde_json::json!("acme"),
            serde_json::json!(2),
            serde_json::json!(3)
        )
    );
    assert_eq!(entry.after, None);

    // A shared calendar belongs to no tenant.
    let entry = one_entry!(clock, rota, AuditAction::CalendarCreated, None, None, {
        rota.add_calendar(None, "holidays", &days(&["2027-12-25"])).await.unwrap()
    });
    assert_eq!(
        summary(&entry.after),
        (
            serde_json::json!("holidays"),
            serde_json::json!(null),
            serde_json::json!(1),
            serde_json::json!(1)
        )
    );

    // A refused change writes none; no entry holds the file.
    let entries = log(&rota).await.len();
    rota.add_calendar(None, "holidays", &days(&["2027-12-26"])).await.unwrap_err();
    rota.remove_calendar(acme, "office").await.unwrap_err();
    let all = log(&rota).await;
    assert_eq!(all.len(), entries);
    let text = serde_json::to_string(&all).unwrap();
    assert!(!text.contains("VCALENDAR") && !text.contains("20271225"), "{text}");
});

backend_test!(the_schema_allows_every_audit_action_and_keeps_entries_across_its_migration, |db| {
    // Entries written before migration 0015 (which rebuilds SQLite's table to change its
    // CHECK) are kept, and the table stays append-only.
    support::migrate_up_to(&db, 14).await;
    let old = uuid::Uuid::new_v4();
    with_connection!(db, |connection| {
        sqlx::query(
            "INSERT INTO audit_log (id, at, operator, action, tenant, display_name) \
             VALUES ($1, 1, 'alice', 'tenant.created', 'acme', 'Alice')",
        )
        .bind(old)
        .execute(&mut connection)
        .await
        .unwrap();
    });
    let store = db.store().await;
    let rota = Rota::new(store, Arc::new(ManualClock::new(at("2027-01-01T10:00:00Z"))));
    let kept = log(&rota).await;
    assert_eq!((kept.len(), kept[0].id, kept[0].tenant.as_deref()), (1, old, Some("acme")));
    with_connection!(db, |connection| {
        for action in AuditAction::ALL {
            sqlx::query("INSERT INTO audit_log (id, at, operator, action) VALUES ($1, 2, 'a', $2)")
                .bind(uuid::Uuid::new_v4())
                .bind(action.as_str())
                .execute(&mut connection)
                .await
                .unwrap_or_else(|error| panic!("{action}: {error}"));
        }
        let error = sqlx::query(
            "INSERT INTO audit_log (id, at, operator, action) VALUES ($1, 3, 'a', 'job.exploded')",
        )
        .bind(uuid::Uuid::new_v4())
        .execute(&mut connection)
        .await
        .unwrap_err();
        assert!(error.to_string().to_lowercase().contains("check"), "{error}");
        let error =
            sqlx::query("DELETE FROM audit_log").execute(&mut connection).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{error}");
    });
});

/// The CLI: the global `--operator` (else `ROTA_OPERATOR`) is recorded, and `rota audit list`
/// and `rota notifications list` print the logs.
#[test]
fn the_cli_records_the_operator_and_lists_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rota.db").display());
    let rota = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_rota"))
            .arg("--database")
            .arg(&url)
            .args(args)
            .env("ROTA_OPERATOR", "ops-bot")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    };
    rota(&["migrate"]);
    rota(&["tenant", "add", "acme"]);
    rota(&["--operator", "alice", "tenant", "set", "acme", "--max-concurrent", "5"]);
    rota(&["tenant", "set", "acme", "--notify-run-failed", "true", "--operator", "bob"]);
    let entries: serde_json::Value =
        serde_json::from_slice(&rota(&["audit", "list", "--tenant", "acme", "--json"])).unwrap();
    let who: Vec<(&str, &str)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (entry["operator"].as_str().unwrap(), entry["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        who,
        [
            ("bob", "tenant.settings_set"),
            ("alice", "tenant.updated"),
            ("ops-bot", "tenant.created")
        ]
    );
    let table = String::from_utf8(rota(&["audit", "list"])).unwrap();
    assert!(table.contains("max_concurrent: 3 → 5"), "{table}");
    // A calendar's entries name it (shared ones without a tenant) and what changed.
    rota(&["calendar", "add", "freeze", "--tenant", "acme", "--date", "2027-12-24"]);
    rota(&["calendar", "add", "holidays", "--date", "2027-12-25"]);
    let two = ["calendar", "update", "freeze", "--tenant", "acme", "--date", "2027-12-24"];
    rota(&[&two[..], &["--date", "2027-12-31"]].concat());
    let table = String::from_utf8(rota(&["audit", "list"])).unwrap();
    let line = |action: &str| {
        table.lines().find(|line| line.contains(action)).unwrap_or_default().to_owned()
    };
    assert!(line("calendar.created").contains("calendar holidays"), "{table}");
    assert!(line("calendar.updated").contains("calendar acme/freeze"), "{table}");
    assert!(line("calendar.updated").contains("events: 1 → 2"), "{table}");
    let deliveries: serde_json::Value =
        serde_json::from_slice(&rota(&["notifications", "list", "--json"])).unwrap();
    assert_eq!(deliveries, serde_json::json!([]));
}
