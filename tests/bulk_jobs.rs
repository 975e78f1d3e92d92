//! Bulk actions over many jobs, on both backends: the state filters of the jobs table (failing,
//! disabled, paused, auto-disabled), and pause, resume, disable and enable of a selection (ticked
//! ids, or every job matching the filters) in one action: each job changed once with one audit
//! entry, jobs already in the state asked for left alone, and a job changed by someone else in
//! between failing the whole action with nothing changed.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rota::api::{
    AuditAction, AuditFilter, BulkJobAction, JobFilters, JobPolicy, JobQuery, JobRef, JobSelection,
    JobStateFilter, Rota, TenantPolicy,
};
use rota::clock::ManualClock;
use rota::event::Event;
use rota::handler::{CommandSpec, HandlerSpec};
use rota::job::{Job, JobDefinition};
use rota::store::prelude::*;
use rota::store::{AnyStore, BulkJobChange};
use rota::tenant::NewTenant;
use rota::{Error, ErrorCode};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

async fn world(db: &support::TestDatabase) -> (Rota<AnyStore>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(at("2027-05-03T09:00:00Z")));
    let rota = Rota::new(db.store().await, clock.clone()).with_operator("dana");
    for tenant in ["acme", "globex"] {
        rota.add_tenant(&NewTenant::named(tenant), &TenantPolicy::default()).await.unwrap();
    }
    (rota, clock)
}

async fn job(rota: &Rota<AnyStore>, tenant: &str, name: &str) -> Job {
    let definition = JobDefinition {
        name: name.into(),
        schedule: "*/10 * * * *".into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Command(CommandSpec::new("/bin/true", Vec::<String>::new())),
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(60),
    };
    rota.add_job(tenant, &definition, &JobPolicy::default()).await.unwrap()
}

fn matching(state: Option<JobStateFilter>, tenant: Option<&str>) -> JobSelection {
    JobSelection::Matching(JobFilters {
        state,
        tenant: tenant.map(str::to_owned),
        ..JobFilters::default()
    })
}

/// Names of the jobs a jobs-table query with `state` lists.
async fn listed(rota: &Rota<AnyStore>, state: JobStateFilter) -> BTreeSet<String> {
    let page = rota
        .job_page(&JobQuery { state: Some(state), limit: 1000, ..JobQuery::default() })
        .await
        .unwrap();
    assert_eq!(page.total as usize, page.jobs.len());
    page.jobs.into_iter().map(|job| format!("{}/{}", job.tenant, job.name)).collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| name.to_string()).collect()
}

/// Audit entries of `action`, as (tenant/job, operator's client name or operator).
async fn audited(rota: &Rota<AnyStore>, action: AuditAction) -> Vec<String> {
    let filter = AuditFilter { limit: Some(1000), ..AuditFilter::default() };
    let mut found: Vec<String> = rota
        .audit_log(&filter)
        .await
        .unwrap()
        .into_iter()
        .filter(|entry| entry.action == action)
        .map(|entry| format!("{}/{}", entry.tenant.unwrap(), entry.job.unwrap()))
        .collect();
    found.sort();
    found
}

backend_test!(the_state_filters_find_failing_disabled_paused_and_auto_disabled_jobs, |db| {
    let (rota, _clock) = world(&db).await;
    for name in ["calm", "paused", "off", "flaky", "broken"] {
        job(&rota, "acme", name).await;
    }
    rota.pause_job(JobRef::named("acme", "paused")).await.unwrap();
    rota.disable_job(JobRef::named("acme", "off"), "dana", None).await.unwrap();
    // A failure streak and an auto-disable, written as the engine writes them.
    let flaky = rota.job(JobRef::named("acme", "flaky")).await.unwrap();
    let broken = rota.job(JobRef::named("acme", "broken")).await.unwrap();
    with_connection!(db, |connection| {
        for (id, enabled, by) in [(flaky.id, true, None), (broken.id, false, Some("engine"))] {
            sqlx::query(
                "UPDATE jobs SET consecutive_failures = 3, enabled = $2, disabled_by = $3 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(enabled)
            .bind(by)
            .execute(&mut connection)
            .await
            .unwrap();
        }
    });
    assert_eq!(listed(&rota, JobStateFilter::Failing).await, names(&["acme/flaky"]));
    assert_eq!(listed(&rota, JobStateFilter::Disabled).await, names(&["acme/off"]));
    assert_eq!(listed(&rota, JobStateFilter::AutoDisabled).await, names(&["acme/broken"]));
    assert_eq!(listed(&rota, JobStateFilter::Paused).await, names(&["acme/paused"]));
    assert_eq!(
        listed(&rota, JobStateFilter::Enabled).await,
        names(&["acme/calm", "acme/paused", "acme/flaky"])
    );
});

backend_test!(a_bulk_action_changes_each_selected_job_once_with_one_audit_entry_each, |db| {
    let (rota, clock) = world(&db).await;
    for index in 0..6 {
        job(&rota, "acme", &format!("a{index}")).await;
    }
    for index in 0..3 {
        job(&rota, "globex", &format!("g{index}")).await;
    }
    rota.pause_job(JobRef::named("acme", "a0")).await.unwrap();

    // Every job of acme (one paused already): five paused, one audit entry each.
    clock.advance(TimeDelta::minutes(1));
    let report =
        rota.bulk_jobs(&matching(None, Some("acme")), BulkJobAction::Pause, false).await.unwrap();
    assert_eq!((report.selected, report.changed.len()), (6, 5));
    assert!(report.changed.iter().all(|job| job.paused && job.paused_at == Some(rota.now())));
    assert_eq!(listed(&rota, JobStateFilter::Paused).await.len(), 6);
    let paused = audited(&rota, AuditAction::JobPaused).await;
    assert_eq!(paused, (0..6).map(|i| format!("acme/a{i}")).collect::<Vec<_>>());
    // The same action again changes nothing and records nothing.
    let again =
        rota.bulk_jobs(&matching(None, Some("acme")), BulkJobAction::Pause, false).await.unwrap();
    assert_eq!((again.selected, again.changed.len()), (6, 0));
    assert_eq!(audited(&rota, AuditAction::JobPaused).await.len(), 6);

    // "All that match the filter": every paused job resumed.
    let resumed = rota
        .bulk_jobs(&matching(Some(JobStateFilter::Paused), None), BulkJobAction::Resume, false)
        .await
        .unwrap();
    assert_eq!(resumed.changed.len(), 6);
    assert!(listed(&rota, JobStateFilter::Paused).await.is_empty());
    assert_eq!(audited(&rota, AuditAction::JobResumed).await.len(), 6);

    // Ticked rows: two jobs of two tenants disabled, named as a person disabled them.
    let a1 = rota.job(JobRef::named("acme", "a1")).await.unwrap();
    let g2 = rota.job(JobRef::named("globex", "g2")).await.unwrap();
    let disabled = rota
        .bulk_jobs(&JobSelection::Ids(vec![a1.id, g2.id]), BulkJobAction::Disable, false)
        .await
        .unwrap();
    assert_eq!(disabled.changed.len(), 2);
    for job in &disabled.changed {
        assert!(!job.enabled);
        assert_eq!(job.disabled_reason.as_deref(), Some("disabled by dana"));
        assert_eq!(job.disabled_by, Some(rota::job::DisabledBy::Person));
    }
    assert_eq!(listed(&rota, JobStateFilter::Disabled).await, names(&["acme/a1", "globex/g2"]));

    // Enabling every disabled job: each restarts from now, with its job.re_enabled event.
    clock.advance(TimeDelta::hours(5));
    let enabled = rota
        .bulk_jobs(&matching(Some(JobStateFilter::Disabled), None), BulkJobAction::Enable, true)
        .await
        .unwrap();
    assert_eq!(enabled.changed.len(), 2);
    // Who enabled them: the operator on SQLite, the database role on Postgres.
    let who = db.recorded_as("dana");
    for job in &enabled.changed {
        assert!(job.enabled && job.on_probation);
        assert_eq!(job.enabled_by.as_deref(), Some(who.as_str()));
        assert!(job.next_run_at.unwrap() > rota.now(), "restarts from now: {job:?}");
    }
    let events = rota.outbox_events(100).await.unwrap();
    let mut re_enabled: Vec<(String, Option<uuid::Uuid>)> = events
        .iter()
        .filter_map(|event| match &event.event {
            Event::JobReEnabled(data) => Some((data.job.clone(), event.job_id)),
            _ => None,
        })
        .collect();
    re_enabled.sort();
    assert_eq!(re_enabled, [("a1".to_owned(), Some(a1.id)), ("g2".to_owned(), Some(g2.id))]);
    assert_eq!(audited(&rota, AuditAction::JobEnabled).await, ["acme/a1", "globex/g2"]);

    // Nothing selected, or unknown ids: refused or nothing done.
    let error = rota
        .bulk_jobs(&JobSelection::Ids(Vec::new()), BulkJobAction::Pause, false)
        .await
        .unwrap_err();
    assert!(error.to_string().starts_with("jobs: "), "{error}");
    let none = rota
        .bulk_jobs(&JobSelection::Ids(vec![uuid::Uuid::nil()]), BulkJobAction::Pause, false)
        .await
        .unwrap();
    assert_eq!((none.selected, none.changed.len()), (0, 0));
});

backend_test!(a_job_changed_in_between_fails_the_whole_bulk_action, |db| {
    let (rota, _clock) = world(&db).await;
    for name in ["one", "two", "three"] {
        job(&rota, "acme", name).await;
    }
    let store = rota.store();
    let read = store.select_jobs(&matching(None, None), 100).await.unwrap();
    assert_eq!(read.len(), 3);
    // Someone edits "two" after the action read it.
    rota.pause_job(JobRef::named("acme", "two")).await.unwrap();
    let changes: Vec<BulkJobChange> = read
        .into_iter()
        .map(|job| BulkJobChange { job, next_run_at: None, probation: false })
        .collect();
    let error = store
        .bulk_update_jobs(BulkJobAction::Disable, &changes, "dana", rota.now())
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::StaleVersion, "{error}");
    assert!(matches!(&error, Error::StaleVersion { key, .. } if key == "acme/two"), "{error}");
    // Nothing changed, nothing recorded.
    assert!(listed(&rota, JobStateFilter::Disabled).await.is_empty());
    assert!(audited(&rota, AuditAction::JobDisabled).await.is_empty());
});

// A bulk action redacts the fields its snapshots share once (`NewAuditEntry::job_change`): its
// entries must read exactly as one job's change does, secrets hidden in both snapshots.
backend_test!(a_bulk_actions_audit_snapshots_are_those_of_a_single_change, |db| {
    let (rota, _clock) = world(&db).await;
    let http = rota::handler::HttpSpec {
        method: "POST".into(),
        url: "https://user:hunter2@hooks.example/x".into(),
        headers: [("Authorization".to_owned(), "Bearer s3cret".to_owned())].into(),
        follow_redirects: rota::handler::FollowRedirects::None,
    };
    let definition = JobDefinition {
        name: "hook".into(),
        schedule: "*/10 * * * *".into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Http(http),
        payload: serde_json::json!({"api_token": "t0ken", "plain": "visible"}),
        timeout: Duration::from_secs(60),
    };
    let before = rota.add_job("acme", &definition, &JobPolicy::default()).await.unwrap();
    let selection = JobSelection::Ids(vec![before.id]);
    for (action, audited) in [
        (BulkJobAction::Disable, AuditAction::JobDisabled),
        (BulkJobAction::Enable, AuditAction::JobEnabled),
        (BulkJobAction::Pause, AuditAction::JobPaused),
    ] {
        let before = rota.job(before.id).await.unwrap();
        let report = rota.bulk_jobs(&selection, action, false).await.unwrap();
        let after = &report.changed[0];
        let filter = AuditFilter { limit: Some(100), ..AuditFilter::default() };
        let entries = rota.audit_log(&filter).await.unwrap();
        let entry = entries.into_iter().find(|entry| entry.action == audited).unwrap();
        assert_eq!(entry.before, Some(rota::audit::snapshot(&before)), "{action:?}");
        assert_eq!(entry.after, Some(rota::audit::snapshot(after)), "{action:?}");
        let text = serde_json::to_string(&entry).unwrap();
        for secret in ["hunter2", "s3cret", "t0ken"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("visible"));
    }
});
