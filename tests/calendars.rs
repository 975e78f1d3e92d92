//! Calendars on both backends: what the engine writes for occurrences a calendar excludes or
//! moves, and how calendars are kept (per tenant or shared, refused when bad or in use).

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::api::{CalendarSource, JobRef, Rota};
use rota::calendars::{OnExcluded, SlotKind};
use rota::clock::{Clock, ManualClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::{CommandSpec, HandlerSpec};
use rota::job::JobDefinition;
use rota::policy::{JobPolicy, OverlapPolicy, TenantPolicy};
use rota::run::{RunStatus, Trigger};
use rota::store::{AnyStore, BulkJobAction, JobSelection, RunFilter, TenantUpdate};
use rota::tenant::NewTenant;
use rota::ErrorCode;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

const OFFICE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:xmas\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261226\r\n\
SUMMARY:Christmas Day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

struct World {
    clock: ManualClock,
    rota: Rota<AnyStore>,
    engine: Engine<AnyStore>,
}

impl World {
    async fn new(db: &support::TestDatabase, start: &str) -> World {
        let store = db.store().await;
        let clock = ManualClock::new(at(start));
        let rota = Rota::new(store.clone(), Arc::new(clock.clone()));
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let engine = Engine::new(store, shared, EngineConfig::new("calendars-test"));
        engine.register().await.unwrap();
        rota.add_tenant(
            &NewTenant { name: "acme".into(), max_concurrent: 3, weight: 1 },
            &TenantPolicy::default(),
        )
        .await
        .unwrap();
        World { clock, rota, engine }
    }

    async fn job(&self, name: &str, schedule: &str, policy: &JobPolicy) {
        let definition = JobDefinition {
            name: name.into(),
            schedule: schedule.into(),
            timezone: "UTC".into(),
            handler: command(),
            payload: serde_json::json!({}),
            timeout: Duration::from_secs(30),
        };
        self.rota.add_job("acme", &definition, policy).await.unwrap();
    }

    /// Ticks at each instant in turn.
    async fn tick_at(&self, instants: &[&str]) {
        for instant in instants {
            self.clock.set(at(instant));
            self.engine.tick_once().await.unwrap();
        }
    }

    /// (scheduled instant, status, reason) of a job's runs, oldest first.
    async fn runs(&self, job: &str) -> Vec<(String, RunStatus, Option<String>)> {
        let filter = RunFilter { job: Some(job.into()), limit: Some(100), ..RunFilter::default() };
        let mut runs = self.rota.list_runs(&filter).await.unwrap();
        runs.reverse();
        runs.into_iter()
            .inspect(|run| assert_eq!(run.trigger, Trigger::Schedule))
            .map(|run| (run.scheduled_at.to_rfc3339(), run.status, run.reason))
            .collect()
    }
}

fn command() -> HandlerSpec {
    HandlerSpec::Command(CommandSpec::new("/bin/true", Vec::<String>::new()))
}

fn excluding(names: &[&str], on_excluded: OnExcluded) -> JobPolicy {
    JobPolicy {
        exclude_calendars: names.iter().map(|name| (*name).to_owned()).collect(),
        on_excluded,
        // The tests tick without dispatching: every run stays queued.
        overlap: OverlapPolicy::Allow,
        ..JobPolicy::default()
    }
}

fn ics(text: &str) -> CalendarSource {
    CalendarSource::Ics(text.to_owned())
}

backend_test!(an_excluded_occurrence_is_a_skipped_run_naming_calendar_and_event, |db| {
    let world = World::new(&db, "2026-12-24T08:00:00Z").await;
    world.rota.add_calendar(Some("acme"), "office", &ics(OFFICE)).await.unwrap();
    world.job("report", "0 9 * * *", &excluding(&["office"], OnExcluded::Skip)).await;
    world.tick_at(&["2026-12-24T09:00:00Z", "2026-12-25T09:00:00Z", "2026-12-26T09:00:00Z"]).await;
    assert_eq!(
        world.runs("report").await,
        [
            ("2026-12-24T09:00:00+00:00".to_owned(), RunStatus::Queued, None),
            (
                "2026-12-25T09:00:00+00:00".to_owned(),
                RunStatus::Skipped,
                Some("calendar office: Christmas Day".to_owned())
            ),
            ("2026-12-26T09:00:00+00:00".to_owned(), RunStatus::Queued, None),
        ]
    );
});

backend_test!(a_moved_occurrence_runs_at_its_new_time_and_says_where_it_came_from, |db| {
    let world = World::new(&db, "2026-12-20T08:00:00Z").await;
    world.rota.add_calendar(Some("acme"), "office", &ics(OFFICE)).await.unwrap();
    // Fridays at 09:00; Friday the 25th moves to Saturday the 26th (next) or Thursday the
    // 24th (previous), which the schedule does not have itself.
    world.job("weekly", "0 9 * * FRI", &excluding(&["office"], OnExcluded::Next)).await;
    world.job("early", "0 9 * * FRI", &excluding(&["office"], OnExcluded::Previous)).await;
    world
        .tick_at(&[
            "2026-12-24T09:00:00Z",
            "2026-12-25T09:00:00Z",
            "2026-12-26T09:00:00Z",
            "2027-01-01T09:00:00Z",
        ])
        .await;
    assert_eq!(
        world.runs("weekly").await,
        [
            (
                "2026-12-26T09:00:00+00:00".to_owned(),
                RunStatus::Queued,
                Some(
                    "calendar office: Christmas Day; moved from 2026-12-25T09:00:00+00:00"
                        .to_owned()
                )
            ),
            ("2027-01-01T09:00:00+00:00".to_owned(), RunStatus::Queued, None),
        ]
    );
    assert_eq!(
        world.runs("early").await,
        [
            (
                "2026-12-24T09:00:00+00:00".to_owned(),
                RunStatus::Queued,
                Some(
                    "calendar office: Christmas Day; moved from 2026-12-25T09:00:00+00:00"
                        .to_owned()
                )
            ),
            ("2027-01-01T09:00:00+00:00".to_owned(), RunStatus::Queued, None),
        ]
    );
});

// Issue 17: enabling a job computed its next run from the cron schedule alone, so a run its
// calendars move to an earlier day (previous) was lost: the next run instant was the excluded
// Friday, whose slot lies before it.
backend_test!(enabling_or_resuming_a_job_honours_its_calendars, |db| {
    let world = World::new(&db, "2026-12-20T08:00:00Z").await;
    world.rota.add_calendar(Some("acme"), "office", &ics(OFFICE)).await.unwrap();
    // Fridays at 09:00; Friday the 25th moves to Thursday the 24th, which the schedule does
    // not have itself.
    let previous = excluding(&["office"], OnExcluded::Previous);
    for name in ["one", "bulk", "paused"] {
        world.job(name, "0 9 * * FRI", &previous).await;
    }
    world.rota.disable_job(JobRef::named("acme", "one"), "alice", None).await.unwrap();
    world.rota.disable_job(JobRef::named("acme", "bulk"), "alice", None).await.unwrap();
    world.rota.pause_job(JobRef::named("acme", "paused")).await.unwrap();
    pause_tenant(&world, true).await;

    world.clock.set(at("2026-12-23T12:00:00Z"));
    let thursday = Some(at("2026-12-24T09:00:00Z"));
    let one = world.rota.enable_job(JobRef::named("acme", "one"), "alice", false).await.unwrap();
    assert_eq!(one.next_run_at, thursday, "enable");
    let bulk = world.rota.job(JobRef::named("acme", "bulk")).await.unwrap();
    let report = world
        .rota
        .bulk_jobs(&JobSelection::Ids(vec![bulk.id]), BulkJobAction::Enable, false)
        .await
        .unwrap();
    assert_eq!(report.changed[0].next_run_at, thursday, "bulk enable");
    let resumed = world.rota.resume_job(JobRef::named("acme", "paused")).await.unwrap();
    assert_eq!(resumed.next_run_at, thursday, "resume");
    pause_tenant(&world, false).await;

    world.tick_at(&["2026-12-24T09:00:00Z", "2026-12-25T09:00:00Z"]).await;
    let moved = (
        "2026-12-24T09:00:00+00:00".to_owned(),
        RunStatus::Queued,
        Some("calendar office: Christmas Day; moved from 2026-12-25T09:00:00+00:00".to_owned()),
    );
    for name in ["one", "bulk", "paused"] {
        assert_eq!(world.runs(name).await, std::slice::from_ref(&moved), "{name}");
    }
});

async fn pause_tenant(world: &World, paused: bool) {
    let update = TenantUpdate { paused: Some(paused), ..TenantUpdate::default() };
    world.rota.update_tenant("acme", &update, None).await.unwrap();
}

backend_test!(shared_calendars_tenant_names_first_and_changes_reach_the_engine, |db| {
    let world = World::new(&db, "2026-12-24T08:00:00Z").await;
    // A shared calendar, then a tenant's own of the same name, which its jobs mean.
    world.rota.add_calendar(None, "holidays", &ics(OFFICE)).await.unwrap();
    let days = CalendarSource::Days {
        dates: vec!["2026-12-24".parse().unwrap()],
        ranges: vec![("2026-12-31".parse().unwrap(), "2027-01-01".parse().unwrap())],
    };
    world.rota.add_calendar(Some("acme"), "holidays", &days).await.unwrap();
    let listed: Vec<(Option<String>, String)> = world
        .rota
        .list_calendars(Some("acme"))
        .await
        .unwrap()
        .into_iter()
        .map(|calendar| (calendar.tenant, calendar.name))
        .collect();
    assert_eq!(listed, [(None, "holidays".to_owned()), (Some("acme".into()), "holidays".into())]);
    world.job("daily", "0 9 * * *", &excluding(&["holidays"], OnExcluded::Skip)).await;
    world.tick_at(&["2026-12-24T09:00:00Z", "2026-12-25T09:00:00Z"]).await;
    let statuses: Vec<RunStatus> =
        world.runs("daily").await.into_iter().map(|(_, status, _)| status).collect();
    assert_eq!(statuses, [RunStatus::Skipped, RunStatus::Queued]);

    // The tenant's calendar changes: the engine reads the new version at its next tick.
    let later = CalendarSource::Days { dates: vec!["2026-12-26".parse().unwrap()], ranges: vec![] };
    let updated = world.rota.update_calendar(Some("acme"), "holidays", &later).await.unwrap();
    assert_eq!(updated.version, 2);
    world.tick_at(&["2026-12-26T09:00:00Z"]).await;
    let last = world.runs("daily").await.pop().unwrap();
    assert_eq!(last.1, RunStatus::Skipped);
    assert_eq!(last.2.as_deref(), Some("calendar holidays: 2026-12-26"));

    // A calendar a job uses is not removed; one nobody uses is.
    let error = world.rota.remove_calendar(Some("acme"), "holidays").await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid);
    assert!(error.to_string().contains("acme/daily"), "{error}");
    world.rota.remove_calendar(None, "holidays").await.unwrap();
    assert_eq!(world.rota.list_calendars(None).await.unwrap().len(), 1);
});

backend_test!(bad_files_and_unknown_names_are_refused_and_nothing_is_stored, |db| {
    let world = World::new(&db, "2026-12-20T08:00:00Z").await;
    let bad = OFFICE.replace("DTSTART;VALUE=DATE:20261225", "DTSTART;VALUE=DATE:2026-12-25");
    let error = world.rota.add_calendar(Some("acme"), "office", &ics(&bad)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid);
    assert!(error.to_string().starts_with("calendar office: line 6, DTSTART"), "{error}");
    assert!(world.rota.list_calendars(Some("acme")).await.unwrap().is_empty());

    let definition = JobDefinition {
        name: "report".into(),
        schedule: "0 9 * * *".into(),
        timezone: "UTC".into(),
        handler: command(),
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(30),
    };
    let error = world
        .rota
        .add_job("acme", &definition, &excluding(&["nowhere"], OnExcluded::Skip))
        .await
        .unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound);
    assert!(error.to_string().contains("nowhere"), "{error}");
    assert!(world.rota.list_jobs(&Default::default()).await.unwrap().is_empty());

    world.rota.add_calendar(Some("acme"), "office", &ics(OFFICE)).await.unwrap();
    let error = world.rota.add_calendar(Some("acme"), "office", &ics(OFFICE)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::AlreadyExists);
});

fn rota(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_rota")).args(args).output().expect("rota runs")
}

#[test]
fn cron_next_with_calendar_files_skips_and_moves_and_refuses_bad_files() {
    let folder = tempfile::tempdir().unwrap();
    let office = folder.path().join("office.ics");
    std::fs::write(&office, OFFICE).unwrap();
    let office = office.to_str().unwrap();
    let next = |extra: &[&str]| {
        let mut args = vec![
            "cron",
            "next",
            "0 9 * * *",
            "--tz",
            "Europe/Berlin",
            "--after",
            "2026-12-24T12:00:00Z",
            "--count",
            "2",
            "--exclude-ics",
            office,
        ];
        args.extend_from_slice(extra);
        rota(&args)
    };
    let skipped = next(&[]);
    assert!(skipped.status.success(), "{skipped:?}");
    assert_eq!(
        String::from_utf8(skipped.stdout).unwrap(),
        "2026-12-26T08:00:00Z\n2026-12-27T08:00:00Z\n"
    );
    // Moved to the previous day merges with that day's own run (the 24th is before --after).
    let weekly = rota(&[
        "cron",
        "next",
        "0 9 * * FRI",
        "--tz",
        "Europe/Berlin",
        "--after",
        "2026-12-20T00:00:00Z",
        "--count",
        "2",
        "--exclude-ics",
        office,
        "--on-excluded",
        "next",
    ]);
    assert_eq!(
        String::from_utf8(weekly.stdout).unwrap(),
        "2026-12-26T08:00:00Z\n2027-01-01T08:00:00Z\n"
    );

    // A missing file, a bad file and a bad policy: exit 2, nothing on stdout, the reason on
    // stderr.
    let bad = folder.path().join("bad.ics");
    std::fs::write(&bad, OFFICE.replace("20261226", "2026122")).unwrap();
    let missing = folder.path().join("missing.ics");
    for (args, reason) in [
        (vec!["--exclude-ics", missing.to_str().unwrap()], "cannot read"),
        (vec!["--only-ics", bad.to_str().unwrap()], "line 7, DTEND"),
        (vec!["--on-excluded", "later"], "allowed: skip, next, previous"),
    ] {
        let output = next(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}

#[test]
fn cron_explain_lists_the_excluded_days_of_the_next_twelve_months() {
    let folder = tempfile::tempdir().unwrap();
    let holidays = folder.path().join("holidays.ics");
    // New Year's Day every year: always within the next twelve months.
    std::fs::write(
        &holidays,
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:ny\r\nDTSTART;VALUE=DATE:20000101\r\n\
         RRULE:FREQ=YEARLY\r\nSUMMARY:New Year\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    let output = rota(&[
        "cron",
        "explain",
        "0 9 * * *",
        "--tz",
        "Europe/Berlin",
        "--exclude-ics",
        holidays.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("Excluded days in the next 12 months (1 in Europe/Berlin"), "{text}");
    assert!(text.contains("-01-01 "), "{text}");
    assert!(text.contains("calendar holidays: New Year"), "{text}");
}

backend_test!(the_forecast_counts_starts_honouring_calendars_and_flags_herds, |db| {
    let world = World::new(&db, "2026-12-24T12:00:00Z").await;
    world.rota.add_calendar(Some("acme"), "office", &ics(OFFICE)).await.unwrap();
    let plain = JobPolicy { overlap: OverlapPolicy::Allow, ..JobPolicy::default() };
    for index in 0..25 {
        world.job(&format!("midnight-{index:02}"), "0 0 * * *", &plain).await;
    }
    // Excluded on Christmas: its 09:00 start is not in the forecast.
    world.job("report", "0 9 * * *", &excluding(&["office"], OnExcluded::Skip)).await;
    world.job("hourly", "30 * * * *", &plain).await;

    let forecast = world.rota.forecast(Some("acme"), 24, None).await.unwrap();
    assert_eq!(forecast.jobs, 27);
    assert_eq!(forecast.starts, 25 + 24);
    let json = serde_json::to_value(&forecast).unwrap();
    assert_eq!(
        json["busiest"][0],
        serde_json::json!({"minute": "2026-12-25T00:00:00Z", "starts": 25, "by_tenant": {"acme": 25}})
    );
    assert_eq!(json["herds"][0]["second"], "2026-12-25T00:00:00Z");
    assert_eq!(json["herds"][0]["suggested_jitter_window_seconds"], 60);

    // What if one more job joined the herd, with a jitter window: it leaves the second.
    let schedule = rota::cron::Schedule::parse("0 0 * * *", "UTC").unwrap();
    let jittered = JobPolicy { jitter_window: Some(Duration::from_secs(60)), ..plain.clone() };
    let what_if = world
        .rota
        .forecast(Some("acme"), 24, Some(("acme", "new", &schedule, &jittered)))
        .await
        .unwrap();
    assert_eq!((what_if.jobs, what_if.herds[0].starts), (28, 25));
    let what_if = world
        .rota
        .forecast(Some("acme"), 24, Some(("acme", "new", &schedule, &plain)))
        .await
        .unwrap();
    assert_eq!(what_if.herds[0].starts, 26);
    // The editor's what-if: the new job's next start joins the midnight herd.
    let what_if = world.rota.what_if("acme", "new", &schedule, &plain).await.unwrap();
    let first = &what_if.starts[0];
    assert_eq!(first.at, at("2026-12-25T00:00:00Z"));
    assert_eq!((first.same_second, first.fleet_minute, first.tenant_minute), (26, 26, 26));
    assert!(first.herd);
    assert_eq!(what_if.suggested_jitter_window_seconds, Some(60));
    // With the window, it starts half a minute later (its id is not known yet) and no herd.
    let what_if = world.rota.what_if("acme", "new", &schedule, &jittered).await.unwrap();
    assert_eq!(what_if.starts[0].at, at("2026-12-25T00:00:30Z"));
    assert!(!what_if.starts[0].herd);
    assert_eq!(what_if.suggested_jitter_window_seconds, None);
    let error = world.rota.forecast(None, 0, None).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Invalid);
});

// Issue 17: the what-if showed a saved job's jittered starts at its window's middle, not where
// the engine makes them ready (its stable offset, from its id).
backend_test!(the_what_if_starts_a_saved_jittered_job_when_the_engine_does, |db| {
    let world = World::new(&db, "2026-12-24T12:00:00Z").await;
    let schedule = rota::cron::Schedule::parse("0 0 * * *", "UTC").unwrap();
    let window = Duration::from_secs(600);
    let policy = JobPolicy {
        jitter_window: Some(window),
        overlap: OverlapPolicy::Allow,
        ..JobPolicy::default()
    };
    // A job whose offset is not in the middle's second (what the what-if showed before); one
    // that is is disabled, out of the forecast.
    let mut index = 0;
    let job = loop {
        let name = format!("jittered-{index}");
        world.job(&name, "0 0 * * *", &policy).await;
        let job = world.rota.job(JobRef::named("acme", &name)).await.unwrap();
        if policy.start_offset(job.id).as_secs() != (window / 2).as_secs() {
            break job;
        }
        world.rota.disable_job(JobRef::Id(job.id), "test", None).await.unwrap();
        index += 1;
    };
    let what_if = world.rota.what_if("acme", &job.name, &schedule, &policy).await.unwrap();
    let forecast = world
        .rota
        .forecast(Some("acme"), 24, Some(("acme", &job.name, &schedule, &policy)))
        .await
        .unwrap();

    world.tick_at(&["2026-12-25T00:00:00Z"]).await;
    let filter = RunFilter { job: Some(job.name.clone()), limit: Some(10), ..RunFilter::default() };
    let runs = world.rota.list_runs(&filter).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(what_if.starts[0].at, runs[0].not_before);
    assert_eq!(what_if.starts[0].same_second, 1);
    // The forecast with the edited job counts its start in that second.
    assert_eq!(forecast.per_second.get(&runs[0].not_before.timestamp()), Some(&1));
});

// Issue 17, item 7: the schedule editor's next runs say which a calendar excludes (naming the
// calendar and the event) and which it moves, and where to.
backend_test!(the_editors_preview_marks_excluded_and_moved_runs, |db| {
    let world = World::new(&db, "2026-12-23T12:00:00Z").await;
    world.rota.add_calendar(Some("acme"), "office", &ics(OFFICE)).await.unwrap();
    let preview = |policy: JobPolicy| {
        let rota = &world.rota;
        async move {
            rota.preview_schedule_with_calendars("acme", "0 9 * * *", "UTC", "UTC", &policy, 4)
                .await
        }
    };
    let kinds = |preview: &rota::api::SchedulePreview| -> Vec<String> {
        preview
            .slots
            .iter()
            .map(|slot| match &slot.kind {
                SlotKind::Run => format!("run {}", slot.at.to_rfc3339()),
                SlotKind::Excluded { because, .. } => format!("excluded ({because})"),
                SlotKind::Moved { because, from } => {
                    format!(
                        "moved from {} to {} ({because})",
                        from.to_rfc3339(),
                        slot.at.to_rfc3339()
                    )
                }
            })
            .collect()
    };
    let plain = preview(JobPolicy::default()).await.unwrap();
    assert!(plain.slots.iter().all(|slot| slot.kind == SlotKind::Run));
    let skipped = preview(excluding(&["office"], OnExcluded::Skip)).await.unwrap();
    assert_eq!(
        kinds(&skipped),
        [
            "run 2026-12-24T09:00:00+00:00",
            "excluded (calendar office: Christmas Day)",
            "run 2026-12-26T09:00:00+00:00",
            "run 2026-12-27T09:00:00+00:00",
        ]
    );
    let moved = preview(excluding(&["office"], OnExcluded::Previous)).await.unwrap();
    assert_eq!(
        kinds(&moved)[1],
        "moved from 2026-12-25T09:00:00+00:00 to 2026-12-24T09:00:00+00:00 (calendar office: Christmas Day)"
    );
    assert_eq!(moved.runs.len(), moved.slots.len());
    let error = preview(excluding(&["nowhere"], OnExcluded::Skip)).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::NotFound);
});

backend_test!(the_timelines_projected_runs_honour_calendars, |db| {
    let world = World::new(&db, "2026-12-24T12:00:00Z").await;
    world.rota.add_calendar(Some("acme"), "office", &ics(OFFICE)).await.unwrap();
    world.job("skipping", "0 9 * * *", &excluding(&["office"], OnExcluded::Skip)).await;
    world.job("moving", "0 9 * * FRI", &excluding(&["office"], OnExcluded::Next)).await;
    let query = rota::timeline::SpanQuery {
        from: at("2026-12-24T12:00:00Z"),
        to: at("2026-12-28T00:00:00Z"),
        tenant: None,
        job_id: None,
        limit: 100,
    };
    let timeline = world.rota.timeline(&query).await.unwrap();
    let mut ghosts: Vec<(String, String)> = timeline
        .projections
        .iter()
        .map(|ghost| (ghost.job.clone(), ghost.at.to_rfc3339()))
        .collect();
    ghosts.sort();
    assert_eq!(
        ghosts,
        [
            ("moving".to_owned(), "2026-12-26T09:00:00+00:00".to_owned()),
            ("skipping".to_owned(), "2026-12-26T09:00:00+00:00".to_owned()),
            ("skipping".to_owned(), "2026-12-27T09:00:00+00:00".to_owned()),
        ]
    );
});
