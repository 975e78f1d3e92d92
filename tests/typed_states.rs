//! Typed states in the schema (migration 0008), on both backends: who disabled a job is a
//! column under a `CHECK`, migrated from the text convention it replaces, and the outbox holds
//! only event types Rota knows.

mod support;

use rota::job::DisabledBy;
use rota::store::prelude::*;
use rota::store::{AnyStore, JobState};
use support::{migrate_up_to, Backend, TestDatabase};

/// Rows as an older Rota wrote them: an engine disable marked by the reason `auto`, a person's
/// disable, and an enabled job.
async fn insert_jobs_as_before(db: &TestDatabase) {
    let tenant = uuid::Uuid::new_v4();
    with_connection!(db, |connection| {
        sqlx::query(
            "INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, 'acme', 0, 0)",
        )
        .bind(tenant)
        .execute(&mut connection)
        .await
        .expect("tenant");
        for (name, enabled, reason) in [
            ("auto-one", false, Some("auto")),
            ("by-hand", false, Some("moved (by alice)")),
            ("on", true, None),
        ] {
            sqlx::query(
                "INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, payload, \
                 timeout_ms, enabled, disabled_reason, created_at, updated_at) \
                 VALUES ($1, $6, $3, '* * * * *', 'UTC', $2, $7, 1000, $4, $5, 0, 0)",
            )
            .bind(uuid::Uuid::new_v4())
            .bind(sqlx::types::Json(
                serde_json::json!({"type": "http", "url": "http://127.0.0.1:9/"}),
            ))
            .bind(name)
            .bind(enabled)
            .bind(reason)
            .bind(tenant)
            .bind(sqlx::types::Json(serde_json::json!({})))
            .execute(&mut connection)
            .await
            .expect("job");
        }
    });
}

async fn migrated_existing_rows_say_who_disabled_them(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    migrate_up_to(&db, 7).await;
    insert_jobs_as_before(&db).await;
    let store: AnyStore = db.store().await;
    let job = |name: &'static str| {
        let store = store.clone();
        async move { store.job_by_name("acme", name).await.expect(name) }
    };
    let auto = job("auto-one").await;
    assert_eq!(
        (auto.disabled_by, JobState::of(&auto)),
        (Some(DisabledBy::Engine), JobState::AutoDisabled)
    );
    let by_hand = job("by-hand").await;
    assert_eq!(
        (by_hand.disabled_by, JobState::of(&by_hand)),
        (Some(DisabledBy::Person), JobState::Disabled)
    );
    let on = job("on").await;
    assert_eq!((on.disabled_by, JobState::of(&on)), (None, JobState::Enabled));
}

#[tokio::test]
async fn migrated_existing_rows_say_who_disabled_them_sqlite() {
    migrated_existing_rows_say_who_disabled_them(Backend::Sqlite).await;
}

#[tokio::test]
async fn migrated_existing_rows_say_who_disabled_them_postgres() {
    migrated_existing_rows_say_who_disabled_them(Backend::Postgres).await;
}

/// Before the typed column, a person's reason `auto` made a job count as auto-disabled.
async fn a_person_giving_the_reason_auto_does_not_auto_disable(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    migrate_up_to(&db, 7).await;
    insert_jobs_as_before(&db).await;
    let store = db.store().await;
    let job = store.job_by_name("acme", "on").await.unwrap();
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let disabled =
        store.set_job_enabled(job.id, false, Some("auto"), None, "alice", now).await.unwrap();
    assert_eq!(
        (disabled.disabled_by, JobState::of(&disabled)),
        (Some(DisabledBy::Person), JobState::Disabled)
    );
    let enabled = store.set_job_enabled(job.id, true, None, None, "alice", now).await.unwrap();
    assert_eq!(enabled.disabled_by, None);
}

#[tokio::test]
async fn a_person_giving_the_reason_auto_does_not_auto_disable_sqlite() {
    a_person_giving_the_reason_auto_does_not_auto_disable(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_person_giving_the_reason_auto_does_not_auto_disable_postgres() {
    a_person_giving_the_reason_auto_does_not_auto_disable(Backend::Postgres).await;
}

async fn the_outbox_refuses_unknown_event_types(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    let _store = db.store().await;
    let insert = "INSERT INTO outbox (id, type, tenant_id, occurred_at, data, created_at) \
                  VALUES ($1, $2, $4, 0, $3, 0)";
    with_connection!(db, |connection| {
        let error = sqlx::query(insert)
            .bind(uuid::Uuid::new_v4())
            .bind("job.exploded")
            .bind(sqlx::types::Json(serde_json::json!({})))
            .bind(uuid::Uuid::new_v4())
            .execute(&mut connection)
            .await
            .expect_err("an unknown event type is refused");
        assert!(error.to_string().contains("outbox_type_known"), "{error}");
        sqlx::query(insert)
            .bind(uuid::Uuid::new_v4())
            .bind("run.failed")
            .bind(sqlx::types::Json(serde_json::json!({})))
            .bind(uuid::Uuid::new_v4())
            .execute(&mut connection)
            .await
            .expect("a known event type is accepted");
    });
}

#[tokio::test]
async fn the_outbox_refuses_unknown_event_types_sqlite() {
    the_outbox_refuses_unknown_event_types(Backend::Sqlite).await;
}

#[tokio::test]
async fn the_outbox_refuses_unknown_event_types_postgres() {
    the_outbox_refuses_unknown_event_types(Backend::Postgres).await;
}
