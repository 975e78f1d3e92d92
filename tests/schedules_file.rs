//! Schedules as files, on both backends: export → apply on an empty database → export gives the
//! same file; applying twice changes nothing; a changed file shows field-level changes; `--prune`
//! deletes what the file dropped; secrets never appear in the file; invalid files write nothing.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use rota::api::{CalendarSource, JobRef, Rota, TenantSettingsUpdate};
use rota::clock::{Clock, ManualClock};
use rota::handler::{CommandLimits, CommandSpec, HandlerSpec, HttpSpec, SigningSecret};
use rota::import::schedules::{self, ApplyPlan};
use rota::import::{Action, ImportError};
use rota::job::JobDefinition;
use rota::policy::{JobPolicy, PolicyChanges, RateLimit, TenantPolicy};
use rota::store::{AnyStore, JobFilter};
use rota::tenant::NewTenant;

fn rota(store: AnyStore) -> Rota<AnyStore> {
    let now = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    Rota::new(store, clock)
}

fn job(name: &str, schedule: &str, handler: HandlerSpec) -> JobDefinition {
    JobDefinition {
        name: name.into(),
        schedule: schedule.into(),
        timezone: "Europe/Berlin".into(),
        handler,
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(300),
    }
}

/// Two tenants with settings, a named handler with a secret header, and jobs of every kind.
async fn populate(rota: &Rota<AnyStore>) {
    rota.set_named_handler(
        "reports.daily",
        &HandlerSpec::Http(
            HttpSpec::post("https://reports.internal/run")
                .with_header("Authorization", "Bearer handler-token"),
        ),
    )
    .await
    .unwrap();
    rota.add_tenant(
        &NewTenant { name: "acme".into(), max_concurrent: 5, weight: 2 },
        &TenantPolicy::default(),
    )
    .await
    .unwrap();
    rota.add_tenant(&NewTenant::named("globex"), &TenantPolicy::default()).await.unwrap();
    rota.update_tenant_settings(
        "acme",
        &TenantSettingsUpdate {
            webhook_url: Some(Some("https://acme.example/rota".into())),
            webhook_secret: Some(SigningSecret::new("whsec_acme_secret")),
            notify_email: Some(Some("ops@acme.example".into())),
            command_limits: Some(CommandLimits {
                cpu_seconds: Some(600),
                address_space_bytes: Some(1 << 30),
                ..CommandLimits::default()
            }),
            run_as: Some(Some("acme".into())),
            work_dir: Some(Some("/srv/acme".into())),
            ..TenantSettingsUpdate::default()
        },
    )
    .await
    .unwrap();
    let mut backup = CommandSpec::new("/usr/local/bin/backup", ["--full"]);
    backup.env.insert("DB_PASSWORD".into(), "hunter2".into());
    backup.env.insert("MODE".into(), "full".into());
    backup.limits = Some(CommandLimits { open_files: Some(64), ..CommandLimits::default() });
    let mut nightly =
        job("nightly-report", "30 2 * * *", HandlerSpec::Named { name: "reports.daily".into() });
    nightly.payload = serde_json::json!({"kind": "daily", "pages": [1, 2]});
    nightly.timeout = Duration::from_millis(1500);
    let mut policy = JobPolicy::default();
    PolicyChanges {
        max_retries: Some(3),
        backoff: Some("fixed".into()),
        backoff_initial: Some(30.0),
        overlap: Some("queue_one".into()),
        missed: Some("run_all".into()),
        missed_max_runs: Some(4),
        probation: Some(true),
        jitter_window: Some(60.0),
        ..PolicyChanges::default()
    }
    .apply(&mut policy)
    .unwrap();
    rota.add_job("acme", &nightly, &policy).await.unwrap();
    rota.set_tenant_policy(
        "acme",
        &TenantPolicy {
            rate_limit: Some(RateLimit { count: 60, window: Duration::from_secs(60) }),
            default_max_retries: Some(2),
            default_auto_disable_after: Some(0),
        },
    )
    .await
    .unwrap();
    rota.add_job(
        "acme",
        &job("backup", "0 3 * * *", HandlerSpec::Command(backup)),
        &JobPolicy::default(),
    )
    .await
    .unwrap();
    let hook = HttpSpec::post("https://globex.example/hook").with_header("X-Api-Key", "key-123");
    rota.add_job(
        "globex",
        &job("ping", "*/5 * * * *", HandlerSpec::Http(hook)),
        &JobPolicy::default(),
    )
    .await
    .unwrap();
}

/// The secrets of [`populate`], under the names export suggests.
fn environment() -> BTreeMap<&'static str, &'static str> {
    [
        ("ROTA_SECRET_ACME_WEBHOOK", "whsec_acme_secret"),
        ("ROTA_SECRET_HANDLER_REPORTS_DAILY_AUTHORIZATION", "Bearer handler-token"),
        ("ROTA_SECRET_ACME_BACKUP_DB_PASSWORD", "hunter2"),
        ("ROTA_SECRET_GLOBEX_PING_X_API_KEY", "key-123"),
    ]
    .into()
}

async fn plan(rota: &Rota<AnyStore>, text: &str, prune: bool) -> Result<ApplyPlan, ImportError> {
    let document = schedules::from_yaml(text)?;
    let env = environment();
    let lookup = move |name: &str| env.get(name).map(|value| (*value).to_owned());
    schedules::plan_apply(rota, &document, prune, &lookup).await
}

async fn export(rota: &Rota<AnyStore>) -> String {
    schedules::to_yaml(&schedules::export(rota, None).await.unwrap())
}

backend_test!(export_apply_export_is_the_same_file_and_apply_twice_changes_nothing, |db| {
    let original = rota(db.store().await);
    populate(&original).await;
    let text = export(&original).await;
    for secret in environment().values() {
        assert!(!text.contains(secret), "{secret} is in the file:\n{text}");
    }
    assert!(text.contains("env: ROTA_SECRET_ACME_WEBHOOK"), "{text}");
    assert!(text.contains("timeout_seconds: 1.5"), "{text}");
    for policy in ["overlap: queue_one", "missed_max_runs: 4", "rate_limit:", "window_seconds: 60"]
    {
        assert!(text.contains(policy), "{policy} is not in the file:\n{text}");
    }

    let copy_db = support::TestDatabase::create(db.backend).await.unwrap();
    let copy = rota(copy_db.store().await);
    let first = plan(&copy, &text, false).await.unwrap();
    let created: Vec<String> = first
        .changes
        .iter()
        .map(|c| format!("{} {} {}", c.action.as_str(), c.kind, c.key))
        .collect();
    assert_eq!(
        created,
        [
            "create handler reports.daily",
            "create tenant acme",
            "create job acme/backup",
            "create job acme/nightly-report",
            "create tenant globex",
            "create job globex/ping",
        ]
    );
    schedules::execute(&copy, &first).await.unwrap();
    assert_eq!(export(&copy).await, text, "export → apply → export must give the same file");
    assert_eq!(
        copy.job(JobRef::named("acme", "nightly-report")).await.unwrap().policy,
        original.job(JobRef::named("acme", "nightly-report")).await.unwrap().policy
    );
    assert_eq!(
        copy.tenant("acme").await.unwrap().policy,
        original.tenant("acme").await.unwrap().policy
    );

    let second = plan(&copy, &text, true).await.unwrap();
    assert!(second.is_empty(), "applying twice changes nothing:\n{second}");
    assert_eq!(second.unchanged, 6);
    let settings = copy.tenant_settings("acme").await.unwrap();
    assert_eq!(settings.webhook_secret, SigningSecret::new("whsec_acme_secret"));
});

backend_test!(a_changed_file_shows_field_changes_and_prune_deletes, |db| {
    let rota = rota(db.store().await);
    populate(&rota).await;
    let text = export(&rota).await;
    let mut document = schedules::from_yaml(&text).unwrap();
    let acme = document.tenants.get_mut("acme").unwrap();
    acme.weight = 3;
    acme.jobs.get_mut("nightly-report").unwrap().schedule = "45 2 * * *".into();
    acme.jobs.get_mut("nightly-report").unwrap().policy.overlap = Some("allow".into());
    acme.rate_limit = None;
    acme.jobs.remove("backup");
    let changed = schedules::to_yaml(&document);

    let without_prune = plan(&rota, &changed, false).await.unwrap();
    let shown = without_prune.to_string();
    let tenant_change = "~ tenant acme (update)\n    rate_limit.count: 60 → (unset)\n    \
                         rate_limit.window_seconds: 60 → (unset)\n    weight: 2 → 3\n";
    assert!(shown.contains(tenant_change), "{shown}");
    let job_change = "~ job acme/nightly-report (update)\n    \
                      policy.overlap: \"queue_one\" → \"allow\"\n    \
                      schedule: \"30 2 * * *\" → \"45 2 * * *\"\n";
    assert!(shown.contains(job_change), "{shown}");
    assert!(!shown.contains("backup"), "without --prune nothing is deleted:\n{shown}");

    let with_prune = plan(&rota, &changed, true).await.unwrap();
    let deletes: Vec<&str> = with_prune
        .changes
        .iter()
        .filter(|change| change.action == Action::Delete)
        .map(|change| change.key.as_str())
        .collect();
    assert_eq!(deletes, ["acme/backup"]);
    schedules::execute(&rota, &with_prune).await.unwrap();
    assert_eq!(rota.tenant("acme").await.unwrap().weight, 3);
    let nightly = rota.job(JobRef::named("acme", "nightly-report")).await.unwrap();
    assert_eq!(nightly.schedule, "45 2 * * *");
    assert_eq!(nightly.policy.overlap, rota::policy::OverlapPolicy::Allow);
    assert_eq!(nightly.policy.max_retries, Some(3), "the rest of the policy stays");
    assert_eq!(rota.tenant("acme").await.unwrap().policy.rate_limit, None);
    assert!(rota.job(JobRef::named("acme", "backup")).await.is_err());
    assert!(plan(&rota, &changed, true).await.unwrap().is_empty());

    // A secret that changed shows as changed, never as its value.
    let env = BTreeMap::from([
        ("ROTA_SECRET_ACME_WEBHOOK", "whsec_rotated"),
        ("ROTA_SECRET_HANDLER_REPORTS_DAILY_AUTHORIZATION", "Bearer handler-token"),
        ("ROTA_SECRET_GLOBEX_PING_X_API_KEY", "key-123"),
    ]);
    let lookup = move |name: &str| env.get(name).map(|value| (*value).to_owned());
    let rotated = schedules::plan_apply(&rota, &document, false, &lookup).await.unwrap();
    let shown = rotated.to_string();
    assert!(shown.contains("webhook_secret: (secret) → (secret)"), "{shown}");
    assert!(!shown.contains("whsec_"), "{shown}");
});

backend_test!(an_invalid_file_writes_nothing, |db| {
    let rota = rota(db.store().await);
    let text = "tenants:\n  acme:\n    jobs:\n      good:\n        schedule: '0 * * * *'\n        handler: {type: command, program: /bin/true}\n      bad:\n        schedule: '0 25 * * *'\n        handler: {type: command, program: /bin/true}\n";
    let error = plan(&rota, text, false).await.unwrap_err().to_string();
    assert!(error.starts_with("tenants.acme.jobs.bad: schedule: hour field: \"25\""), "{error}");
    assert!(rota.list_tenants().await.unwrap().is_empty());

    let missing = "tenants:\n  acme:\n    webhook_secret: {env: ROTA_TEST_SURELY_UNSET}\n";
    let error = plan(&rota, missing, false).await.unwrap_err().to_string();
    assert_eq!(
        error,
        "tenants.acme.webhook_secret: the environment variable ROTA_TEST_SURELY_UNSET is not set"
    );
    let unknown = "tenants:\n  acme:\n    jobs:\n      x:\n        schedule: '@daily'\n        handler: {type: named, name: nowhere}\n";
    let error = plan(&rota, unknown, false).await.unwrap_err().to_string();
    assert!(error.contains("no named handler \"nowhere\""), "{error}");
    let bad_policy = "tenants:\n  acme:\n    jobs:\n      x:\n        schedule: '@daily'\n        handler: {type: command, program: /bin/true}\n        policy: {overlap: sometimes}\n";
    let error = plan(&rota, bad_policy, false).await.unwrap_err().to_string();
    assert!(error.starts_with("tenants.acme.jobs.x.policy: overlap: \"sometimes\""), "{error}");
    let typo = "tenants:\n  acme:\n    jobs:\n      x:\n        schedule: '@daily'\n        handler: {type: command, program: /bin/true}\n        policy: {max_retires: 3}\n";
    let error = plan(&rota, typo, false).await.unwrap_err().to_string();
    assert!(error.contains("max_retires"), "{error}");
    let jobs = rota.list_jobs(&JobFilter::default()).await.unwrap();
    assert!(jobs.is_empty());
});

/// A key written twice is an error naming its line, wherever it is: serde's maps (tenants,
/// jobs, a handler's headers and variables) would otherwise keep the last one silently.
#[test]
fn a_duplicate_key_is_an_error_naming_its_line() {
    let jobs = "tenants:\n  acme:\n    jobs:\n      backup:\n        schedule: '@daily'\n        \
                handler: {type: command, program: /bin/true}\n      backup:\n        \
                schedule: '@hourly'\n        handler: {type: command, program: /bin/false}\n";
    let error = schedules::from_yaml(jobs).unwrap_err().to_string();
    assert!(error.contains("duplicate") && error.contains("backup"), "{error}");
    assert!(error.contains("line 7"), "{error}");

    let tenants = "tenants:\n  acme: {weight: 2}\n  globex: {}\n  acme: {weight: 3}\n";
    let error = schedules::from_yaml(tenants).unwrap_err().to_string();
    assert!(error.contains("duplicate") && error.contains("line 4"), "{error}");

    let variables =
        "handlers:\n  backup:\n    type: command\n    program: /bin/true\n    env:\n      \
                     MODE: full\n      MODE: partial\n";
    let error = schedules::from_yaml(variables).unwrap_err().to_string();
    assert!(error.contains("duplicate") && error.contains("MODE"), "{error}");
    assert!(error.contains("line 7"), "{error}");
}

const OFFICE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:xmas\r\nDTSTART;VALUE=DATE:20271225\r\nDTEND;VALUE=DATE:20271226\r\n\
SUMMARY:Christmas Day\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:upgrade\r\n\
DTSTART;TZID=Europe/Berlin:20270410T020000\r\nDTEND;TZID=Europe/Berlin:20270410T040000\r\n\
RRULE:FREQ=MONTHLY;BYDAY=2SA\r\nSUMMARY:Maintenance\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// Every calendar the caller sees as (tenant, name, text, version), in the listing's order.
async fn calendars(rota: &Rota<AnyStore>) -> Vec<(Option<String>, String, String)> {
    let listed = rota.list_calendars(None).await.unwrap();
    listed.into_iter().map(|c| (c.tenant, c.name, c.source)).collect()
}

// Issue 17: a file's jobs named calendars the file did not carry, so applying it on a fresh
// database failed, and an edited calendar never travelled.
backend_test!(calendars_travel_with_their_jobs_exactly, |db| {
    let original = rota(db.store().await);
    original.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    original.add_tenant(&NewTenant::named("globex"), &TenantPolicy::default()).await.unwrap();
    let days = |dates: &[&str], ranges: &[(&str, &str)]| CalendarSource::Days {
        dates: dates.iter().map(|d| d.parse().unwrap()).collect(),
        ranges: ranges.iter().map(|(f, t)| (f.parse().unwrap(), t.parse().unwrap())).collect(),
    };
    original.add_calendar(None, "holidays", &CalendarSource::Ics(OFFICE.into())).await.unwrap();
    let closing = days(&["2027-03-31", "2027-06-30"], &[("2027-12-24", "2027-12-31")]);
    original.add_calendar(Some("acme"), "closing", &closing).await.unwrap();
    // A single day given as a range is stored after the ranges: still written as days.
    let odd = days(&[], &[("2027-05-01", "2027-05-03"), ("2027-05-10", "2027-05-10")]);
    original.add_calendar(Some("globex"), "closing", &odd).await.unwrap();
    let mut policy = JobPolicy::default();
    PolicyChanges {
        exclude_calendars: Some(vec!["holidays".into()]),
        only_calendar: Some("closing".into()),
        on_excluded: Some("next".into()),
        ..PolicyChanges::default()
    }
    .apply(&mut policy)
    .unwrap();
    let http = || HandlerSpec::Http(HttpSpec::post("https://reports.example/run"));
    original.add_job("acme", &job("close", "0 18 * * *", http()), &policy).await.unwrap();
    original.add_job("globex", &job("close", "0 18 * * *", http()), &policy).await.unwrap();

    let text = export(&original).await;
    assert!(text.contains("2027-12-24..2027-12-31"), "{text}");
    assert!(text.contains("2027-05-10..2027-05-10"), "{text}");
    assert!(text.contains("ics:"), "{text}");

    let copy_db = support::TestDatabase::create(db.backend).await.unwrap();
    let copy = rota(copy_db.store().await);
    let first = plan(&copy, &text, false).await.unwrap();
    let keys: Vec<String> = first
        .changes
        .iter()
        .filter(|c| c.kind == "calendar")
        .map(|c| format!("{} {}", c.action.as_str(), c.key))
        .collect();
    assert_eq!(keys, ["create holidays", "create acme/closing", "create globex/closing"]);
    schedules::execute(&copy, &first).await.unwrap();
    assert_eq!(calendars(&copy).await, calendars(&original).await, "the very same texts");
    for tenant in ["acme", "globex"] {
        let job = JobRef::named(tenant, "close");
        let (a, b) = (original.job(job).await.unwrap(), copy.job(job).await.unwrap());
        assert_eq!((a.policy, a.next_run_at), (b.policy, b.next_run_at), "{tenant}");
    }
    assert_eq!(export(&copy).await, text);
    assert!(plan(&copy, &text, false).await.unwrap().is_empty());

    // One tenant's file carries its calendars and the shared ones its jobs name.
    let acme = schedules::to_yaml(&schedules::export(&original, Some("acme")).await.unwrap());
    let document = schedules::from_yaml(&acme).unwrap();
    assert_eq!(document.calendars.keys().collect::<Vec<_>>(), ["holidays"]);
    assert_eq!(document.tenants["acme"].calendars.keys().collect::<Vec<_>>(), ["closing"]);

    // A changed calendar is an update with its changed days; a bad one writes nothing.
    let changed = text.replace("2027-06-30", "2027-09-30");
    let update = plan(&copy, &changed, false).await.unwrap();
    let shown = update.to_string();
    assert!(shown.contains("~ calendar acme/closing (update)"), "{shown}");
    assert!(shown.contains("2027-09-30"), "{shown}");
    schedules::execute(&copy, &update).await.unwrap();
    let closing = copy.calendar(Some("acme"), "closing").await.unwrap();
    assert_eq!(closing.version, 2);
    let broken = text.replace("DTSTART;VALUE=DATE:20271225", "DTSTART;VALUE=DATE:2027-12-25");
    let error = plan(&copy, &broken, false).await.unwrap_err().to_string();
    assert!(error.starts_with("calendars.holidays: calendar holidays: line"), "{error}");
    let unknown = text.replace("only_calendar: closing", "only_calendar: nowhere");
    let error = plan(&copy, &unknown, false).await.unwrap_err().to_string();
    assert!(error.contains("no calendar \"nowhere\""), "{error}");
});
