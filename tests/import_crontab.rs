//! Moving in from crontab: the fixture crontabs in `tests/data/crontab/` read as Vixie cron
//! reads them, imported on both backends (dry run, import, re-import, a changed file, an invalid
//! file that imports nothing), and a property test that the reader never panics.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use rota::api::{JobRef, Rota, TenantPolicy};
use rota::clock::{Clock, ManualClock};
use rota::handler::HandlerSpec;
use rota::import::{self, crontab, Action, CrontabOptions, Format, ImportError};
use rota::store::{AnyStore, JobFilter};
use rota::tenant::NewTenant;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/crontab/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn options(format: Format) -> CrontabOptions {
    CrontabOptions { format, timezone: "Europe/Berlin".into(), timeout: Duration::from_secs(3600) }
}

fn command(handler: &HandlerSpec) -> &rota::handler::CommandSpec {
    match handler {
        HandlerSpec::Command(spec) => spec,
        other => panic!("not a command: {other:?}"),
    }
}

#[test]
fn the_user_fixture_reads_as_vixie_cron_reads_it() {
    let parsed = crontab::parse(&fixture("user.crontab"), Format::User, "Europe/Berlin").unwrap();
    let plan = import::plan_crontab("acme", &parsed, Duration::from_secs(3600), &[]).unwrap();
    let names: Vec<&str> = plan.jobs.iter().map(|job| job.definition.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "backup.sh-30.2.x.x.x",
            "cron.php-xs5.x.x.x.x",
            "mail-0.9.x.x.1-5",
            "find-daily",
            "monthly.py-15.8.1.x.x",
            "sync-0.x.x.x.x",
            "sync-0.x.x.x.x-2",
            "echo-0.4.x.x.0",
        ]
    );
    let backup = &plan.jobs[0].definition;
    assert_eq!(
        (backup.schedule.as_str(), backup.timezone.as_str()),
        ("30 2 * * *", "Europe/Berlin")
    );
    let spec = command(&backup.handler);
    assert!(spec.shell, "crontab lines are shell lines");
    assert_eq!(spec.program, "/usr/local/bin/backup.sh --full >> /var/log/backup.log 2>&1");
    assert_eq!(spec.env.get("PATH").map(String::as_str), Some("/usr/local/bin:/usr/bin:/bin"));
    assert!(!spec.env.contains_key("MAILTO") && !spec.env.contains_key("SHELL"));

    // `%`: the command ends at the first one; the rest is stdin, `%` as newlines, `\%` literal.
    let mail = command(&plan.jobs[2].definition.handler);
    assert_eq!(mail.program, "mail -s \"Good morning\" team@example.com");
    assert_eq!(mail.stdin.as_deref(), Some("Hello team,\n\ntoday is %d.\n"));

    // CRON_TZ and later variables apply to the entries after them.
    let monthly = &plan.jobs[4].definition;
    assert_eq!(monthly.timezone, "America/New_York");
    assert_eq!(command(&monthly.handler).env.get("REPORT_MODE").map(String::as_str), Some("full"));
    assert!(!command(&plan.jobs[0].definition.handler).env.contains_key("REPORT_MODE"));

    let skipped: Vec<String> = plan.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(skipped, ["line 12: @reboot has no schedule, skipped: /usr/local/bin/start-agent"]);
    let warnings: Vec<usize> = plan.warnings.iter().map(|note| note.line).collect();
    assert_eq!(warnings, [5, 20], "MAILTO and the trailing backslash: {:?}", plan.warnings);
    assert!(plan.to_string().contains("8 to create, 0 to update, 0 unchanged, 1 skipped"));
}

#[test]
fn the_system_fixture_has_users_and_honours_shell() {
    let parsed = crontab::parse(&fixture("system.crontab"), Format::System, "UTC").unwrap();
    let plan = import::plan_crontab("ops", &parsed, Duration::from_secs(600), &[]).unwrap();
    let names: Vec<&str> = plan.jobs.iter().map(|job| job.definition.name.as_str()).collect();
    assert_eq!(names, ["run-parts-17.x.x.x.x", "test-25.6.x.x.x", "rotate-logs-47.6.x.x.7"]);
    let hourly = command(&plan.jobs[0].definition.handler);
    // SHELL=/bin/bash: the line runs with bash -c rather than sh.
    assert_eq!(hourly.program, "/bin/bash");
    assert_eq!(hourly.args, ["-c", "cd / && run-parts --report /etc/cron.hourly"]);
    assert!(!hourly.shell);
    assert_eq!(hourly.run_as.as_deref(), Some("root"));
    assert_eq!(command(&plan.jobs[2].definition.handler).run_as.as_deref(), Some("www-data"));
    // Read as a user crontab, the user field is part of the command (and the file stays valid).
    let as_user = crontab::parse(&fixture("system.crontab"), Format::User, "UTC").unwrap();
    assert!(as_user.entries[0].command.starts_with("root"));
}

#[test]
fn an_invalid_line_refuses_the_whole_crontab_naming_each_line() {
    let error = crontab::parse(&fixture("invalid.crontab"), Format::User, "UTC").unwrap_err();
    let lines: Vec<usize> = error.errors.iter().map(|note| note.line).collect();
    assert_eq!(lines, [3, 4, 6], "{error}");
    let text = error.to_string();
    assert!(text.contains("line 3: minute field: \"61\" is out of range"), "{text}");
    assert!(text.contains("line 4: day-of-week field"), "{text}");
    assert!(text.contains("line 6: \"@fortnightly\" is not a cron macro"), "{text}");
}

async fn setup(store: AnyStore) -> Rota<AnyStore> {
    let now = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let rota = Rota::new(store, clock);
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    rota
}

async fn job_count(rota: &Rota<AnyStore>) -> usize {
    rota.list_jobs(&JobFilter { tenant: Some("acme".into()), ..JobFilter::default() })
        .await
        .unwrap()
        .len()
}

backend_test!(importing_twice_creates_no_duplicates_and_updates_what_changed, |db| {
    let rota = setup(db.store().await).await;
    let text = fixture("user.crontab");
    let options = options(Format::User);

    let plan = import::import_crontab(&rota, "acme", &text, &options, true).await.unwrap();
    assert_eq!(plan.count(Action::Create), 8);
    assert_eq!(job_count(&rota).await, 0, "a dry run writes nothing");

    import::import_crontab(&rota, "acme", &text, &options, false).await.unwrap();
    assert_eq!(job_count(&rota).await, 8);
    let job = rota.job(JobRef::named("acme", "mail-0.9.x.x.1-5")).await.unwrap();
    assert_eq!(command(&job.handler).stdin.as_deref(), Some("Hello team,\n\ntoday is %d.\n"));
    assert!(job.next_run_at.is_some());

    let again = import::import_crontab(&rota, "acme", &text, &options, false).await.unwrap();
    assert_eq!(again.count(Action::Unchanged), 8, "{again}");
    assert_eq!(job_count(&rota).await, 8);

    let changed = fixture("user-changed.crontab");
    let plan = import::import_crontab(&rota, "acme", &changed, &options, false).await.unwrap();
    assert_eq!(plan.count(Action::Update), 1, "{plan}");
    assert_eq!(plan.count(Action::Unchanged), 7, "{plan}");
    let update = plan.jobs.iter().find(|job| job.action == Action::Update).unwrap();
    assert_eq!(update.definition.name, "backup.sh-30.2.x.x.x");
    assert_eq!(update.changes.len(), 1);
    assert_eq!(update.changes[0].path, "handler.program");
    let backup = rota.job(JobRef::named("acme", "backup.sh-30.2.x.x.x")).await.unwrap();
    assert!(command(&backup.handler).program.contains("--verify"));
    assert_eq!(job_count(&rota).await, 8);
});

backend_test!(an_invalid_crontab_imports_nothing, |db| {
    let rota = setup(db.store().await).await;
    let error = import::import_crontab(
        &rota,
        "acme",
        &fixture("invalid.crontab"),
        &options(Format::User),
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, ImportError::Crontab(_)), "{error}");
    assert!(error.is_bad_input());
    assert_eq!(job_count(&rota).await, 0);
    // A valid crontab for a tenant that does not exist is refused too.
    let error = import::import_crontab(
        &rota,
        "nobody",
        &fixture("user.crontab"),
        &options(Format::User),
        false,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("\"nobody\" does not exist"), "{error}");
});

/// Lines built from the characters crontabs are made of, so that the reader's interesting paths
/// (fields, macros, `%`, backslashes, assignments, quotes) are reached often.
fn crontab_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[0-9*/,-]{1,4}( [0-9*/,a-zA-Z-]{1,5}){4}( [a-z%\\\\\"'=$ -]{0,20})?",
        "@[a-z]{0,10}( [a-z%\\\\ ]{0,12})?",
        "[A-Z_]{1,8} ?= ?[\"']?[a-zA-Z/:_ ]{0,10}[\"']?",
        "#.{0,20}",
        ".{0,40}",
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_reader_never_panics(text in crontab_text(), system in any::<bool>()) {
        let format = if system { Format::System } else { Format::User };
        if let Ok(parsed) = crontab::parse(&text, format, "UTC") {
            // Whatever parsed also plans without panicking, and names are never empty.
            if let Ok(plan) = import::plan_crontab("t", &parsed, Duration::from_secs(60), &[]) {
                for job in &plan.jobs {
                    prop_assert!(!job.definition.name.is_empty());
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        let _ = crontab::parse(&text, Format::User, "UTC");
        let _ = crontab::split_percent(&text);
    }
}
