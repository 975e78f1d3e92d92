//! What the console reads and does, on both backends: an occurrence with all its attempts, a
//! job's runs, a timeline window with projected runs, the overview, the change feed, and the job
//! operations it performs by id. Runs are made and finished through the store's own steps
//! (enqueue, claim, complete) on fixed instants, so every assertion is about the SQL, not about
//! timing.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rota::api::{
    BackfillRequest, ChangeCursor, JobPolicy, JobRef, NodeCondition, Rota, SpanQuery, TenantPolicy,
};
use rota::clock::ManualClock;
use rota::engine::TickPlan;
use rota::handler::{CommandSpec, HandlerSpec};
use rota::job::{Job, JobDefinition};
use rota::run::{RunStatus, Trigger};
use rota::store::prelude::*;
use rota::store::{AnyStore, ClaimedRun, NodeHealth, NodeInfo, RunResult};
use rota::tenant::NewTenant;
use rota::ErrorCode;
use serde_json::json;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

const NODE: &str = "node-a";

struct World {
    rota: Rota<AnyStore>,
    store: AnyStore,
    clock: Arc<ManualClock>,
}

impl World {
    async fn new(db: &support::TestDatabase, start: &str) -> World {
        let store = db.store().await;
        let clock = Arc::new(ManualClock::new(at(start)));
        let rota = Rota::new(store.clone(), clock.clone());
        World { rota, store, clock }
    }

    fn now(&self) -> DateTime<Utc> {
        self.rota.now()
    }

    async fn job(&self, tenant: &str, name: &str, schedule: &str) -> Job {
        if self.rota.tenant(tenant).await.is_err() {
            self.rota
                .add_tenant(
                    &NewTenant { max_concurrent: 10, ..NewTenant::named(tenant) },
                    &TenantPolicy::default(),
                )
                .await
                .unwrap();
        }
        let definition = JobDefinition {
            name: name.into(),
            schedule: schedule.into(),
            timezone: "UTC".into(),
            handler: HandlerSpec::Command(CommandSpec::new("/bin/true", Vec::<String>::new())),
            payload: json!({"kind": name}),
            timeout: Duration::from_secs(60),
        };
        self.rota.add_job(tenant, &definition, &JobPolicy::default()).await.unwrap()
    }

    /// Queues runs of `job` for the given occurrences (as the tick would), leaving every job's
    /// next run where its schedule put it.
    async fn enqueue(&self, job: &Job, occurrences: &[DateTime<Utc>]) {
        let occurrences = occurrences.to_vec();
        let job_id = job.id;
        self.store
            .enqueue_due(self.now(), self.now() + TimeDelta::days(400), 100, &move |due| {
                if due.job_id == job_id {
                    TickPlan::enqueue(&occurrences, Some(due.next_run_at))
                } else {
                    TickPlan {
                        runs: Vec::new(),
                        next_run_at: Some(due.next_run_at),
                        supersede: None,
                    }
                }
            })
            .await
            .unwrap();
    }

    async fn claim(&self) -> Vec<ClaimedRun> {
        self.store.claim(NODE, self.now(), 100, Duration::from_secs(30)).await.unwrap()
    }

    async fn finish(
        &self,
        claimed: &ClaimedRun,
        status: RunStatus,
        retry_at: Option<DateTime<Utc>>,
    ) {
        let result = RunResult {
            run_id: claimed.run.id,
            node_id: NODE.into(),
            fencing_token: claimed.run.fencing_token,
            status,
            finished_at: self.now(),
            duration_ms: (self.now() - claimed.run.started_at.unwrap()).num_milliseconds(),
            exit_code: Some(if status == RunStatus::Succeeded { 0 } else { 1 }),
            http_status: None,
            output: "out\n".into(),
            error: (status != RunStatus::Succeeded).then(|| "exit status 1".into()),
            retry_at,
        };
        assert_eq!(self.store.complete(&[result]).await.unwrap(), vec![true]);
    }

    /// The jobs projected on the timeline from 11:00 to 18:00 on 2027-03-14 (by name), and the
    /// ids of the overview's next runs: where a job that will not run must be missing.
    async fn projected_and_next(&self) -> (std::collections::BTreeSet<String>, Vec<uuid::Uuid>) {
        let window = SpanQuery {
            from: at("2027-03-14T11:00:00Z"),
            to: at("2027-03-14T18:00:00Z"),
            tenant: None,
            job_id: None,
            limit: 1000,
        };
        let timeline = self.rota.timeline(&window).await.unwrap();
        let projected = timeline.projections.iter().map(|ghost| ghost.job.clone()).collect();
        let overview = self.rota.overview().await.unwrap();
        (projected, overview.next_runs.iter().map(|job| job.id).collect())
    }
}

backend_test!(an_occurrence_lists_every_attempt_with_its_node_and_key, |db| {
    let world = World::new(&db, "2027-03-14T07:00:00Z").await;
    let job = world.job("acme", "report", "0 7 * * *").await;
    let occurrence = at("2027-03-14T07:00:00Z");
    world.enqueue(&job, &[occurrence]).await;
    world.clock.advance(TimeDelta::seconds(2));
    let first = world.claim().await;
    assert_eq!(first.len(), 1);
    world.clock.advance(TimeDelta::seconds(3));
    world.finish(&first[0], RunStatus::Failed, Some(world.now() + TimeDelta::seconds(10))).await;
    world.clock.advance(TimeDelta::seconds(10));
    let second = world.claim().await;
    assert_eq!(second[0].run.attempt, 2);
    world.clock.advance(TimeDelta::seconds(1));
    world.finish(&second[0], RunStatus::Succeeded, None).await;

    let seen = world.rota.occurrence(second[0].run.id).await.unwrap();
    assert_eq!(seen.job.id, job.id);
    assert_eq!(seen.scheduled_at, occurrence);
    assert_eq!(seen.idempotency_key, format!("{}:2027-03-14T07:00:00Z", job.id));
    let attempts: Vec<(u32, Trigger, RunStatus)> =
        seen.runs.iter().map(|run| (run.attempt, run.trigger, run.status)).collect();
    assert_eq!(
        attempts,
        [(1, Trigger::Schedule, RunStatus::Failed), (2, Trigger::Retry, RunStatus::Succeeded)]
    );
    assert_eq!(seen.runs[0].started_at, Some(occurrence + TimeDelta::seconds(2)));
    assert_eq!(seen.runs[0].error.as_deref(), Some("exit status 1"));
    assert_eq!(seen.runs[0].lease_owner.as_deref(), Some(NODE), "the node that ran it stays");
    // The same from the first attempt; and the job's runs, newest first.
    assert_eq!(world.rota.occurrence(first[0].run.id).await.unwrap().runs, seen.runs);
    let runs = world.rota.job_runs(job.id, 10).await.unwrap();
    assert_eq!(runs.iter().map(|run| run.attempt).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(world.rota.job_runs(job.id, 0).await.unwrap_err().code(), ErrorCode::Invalid);
});

backend_test!(a_timeline_window_finds_runs_by_when_they_ran_and_projects_the_future, |db| {
    let world = World::new(&db, "2027-03-14T12:00:00Z").await;
    let hourly = world.job("acme", "hourly", "0 * * * *").await;
    let other = world.job("globex", "other", "30 * * * *").await;
    // Three past occurrences of `hourly`: run at 12:00 (ok), one long ago that only ran now
    // (a backfill-like late run), and a queued one.
    world.enqueue(&hourly, &[at("2027-03-10T09:00:00Z"), at("2027-03-14T11:00:00Z")]).await;
    world.enqueue(&other, &[at("2027-03-14T11:30:00Z")]).await;
    let claimed = world.claim().await;
    assert_eq!(claimed.len(), 3);
    world.clock.advance(TimeDelta::minutes(2));
    for run in &claimed {
        world.finish(run, RunStatus::Succeeded, None).await;
    }
    world.enqueue(&hourly, &[at("2027-03-14T12:00:00Z")]).await;

    let window = SpanQuery {
        from: at("2027-03-14T11:00:00Z"),
        to: at("2027-03-14T15:00:00Z"),
        tenant: None,
        job_id: None,
        limit: 1000,
    };
    let timeline = world.rota.timeline(&window).await.unwrap();
    assert!(!timeline.truncated);
    let mut seen: Vec<(String, DateTime<Utc>, RunStatus)> = timeline
        .spans
        .iter()
        .map(|span| (span.job.clone(), span.scheduled_at, span.status))
        .collect();
    seen.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    assert_eq!(
        seen,
        [
            ("hourly".into(), at("2027-03-10T09:00:00Z"), RunStatus::Succeeded),
            ("hourly".into(), at("2027-03-14T11:00:00Z"), RunStatus::Succeeded),
            ("hourly".into(), at("2027-03-14T12:00:00Z"), RunStatus::Queued),
            ("other".into(), at("2027-03-14T11:30:00Z"), RunStatus::Succeeded),
        ],
        "the late run is found by when it ran; the queued one waits in the window"
    );
    // Ghosts: the next runs of both schedules until 15:00, with the average duration (2 min).
    let ghosts: Vec<(String, DateTime<Utc>)> =
        timeline.projections.iter().map(|ghost| (ghost.job.clone(), ghost.at)).collect();
    assert!(ghosts.contains(&("hourly".into(), at("2027-03-14T14:00:00Z"))), "{ghosts:?}");
    assert!(ghosts.contains(&("other".into(), at("2027-03-14T14:30:00Z"))), "{ghosts:?}");
    assert!(ghosts.iter().all(|(_, ghost)| *ghost >= world.now() && *ghost < window.to));
    let hourly_ghost = timeline.projections.iter().find(|ghost| ghost.job == "hourly").unwrap();
    assert_eq!(hourly_ghost.expected, Some(Duration::from_secs(120)));

    // Narrowed to a tenant and to a job; cut at a limit.
    let globex = SpanQuery { tenant: Some("globex".into()), ..window.clone() };
    let timeline = world.rota.timeline(&globex).await.unwrap();
    assert_eq!(timeline.spans.len(), 1);
    assert!(timeline.projections.iter().all(|ghost| ghost.tenant == "globex"));
    let one_job = SpanQuery { job_id: Some(hourly.id), limit: 2, ..window.clone() };
    let timeline = world.rota.timeline(&one_job).await.unwrap();
    assert_eq!(timeline.spans.len(), 2);
    assert!(timeline.truncated);
    // A past window has no ghosts; a bad window is refused naming the field.
    let past = SpanQuery {
        from: at("2027-03-10T00:00:00Z"),
        to: at("2027-03-11T00:00:00Z"),
        ..window.clone()
    };
    let timeline = world.rota.timeline(&past).await.unwrap();
    assert!(timeline.projections.is_empty() && timeline.spans.is_empty());
    let backwards = SpanQuery { from: window.to, to: window.from, ..window.clone() };
    assert_eq!(world.rota.timeline(&backwards).await.unwrap_err().code(), ErrorCode::Invalid);
});

backend_test!(jobs_that_will_not_run_have_no_next_run_and_no_projection, |db| {
    // The console shows "won't run" for these; the core must not list a next run or draw a
    // projected run for them either (an auto-disabled job kept its old next_run_at).
    let world = World::new(&db, "2027-03-14T12:00:00Z").await;
    let runs = world.job("acme", "runs", "0 * * * *").await;
    world.job("acme", "paused", "0 * * * *").await;
    world.job("acme", "disabled", "0 * * * *").await;
    world.rota.pause_job(JobRef::named("acme", "paused")).await.unwrap();
    world
        .rota
        .disable_job(JobRef::named("acme", "disabled"), "dana", Some("migrating"))
        .await
        .unwrap();
    let definition = JobDefinition {
        name: "fragile".into(),
        schedule: "0 * * * *".into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Command(CommandSpec::new("/bin/false", Vec::<String>::new())),
        payload: json!({}),
        timeout: Duration::from_secs(60),
    };
    let policy =
        JobPolicy { max_retries: Some(0), auto_disable_after: Some(1), ..JobPolicy::default() };
    let fragile = world.rota.add_job("acme", &definition, &policy).await.unwrap();
    world.enqueue(&fragile, &[at("2027-03-14T12:00:00Z")]).await;
    let claimed = world.claim().await;
    assert_eq!(claimed.len(), 1);
    world.clock.advance(TimeDelta::seconds(5));
    world.finish(&claimed[0], RunStatus::Failed, None).await;
    let fragile = world.rota.job(fragile.id).await.unwrap();
    assert!(!fragile.enabled, "one failure auto-disables it");
    assert!(fragile.next_run_at.is_some(), "it keeps the next run it would have made");

    let (projected, next) = world.projected_and_next().await;
    assert_eq!(projected, ["runs".to_owned()].into(), "only the job that runs is projected");
    assert_eq!(next, [runs.id], "only the job that runs has a next run");
});

backend_test!(jobs_of_a_paused_tenant_have_no_next_run_and_no_projection, |db| {
    // A paused tenant's runs never start: its jobs are listed as what they are (enabled, not
    // paused themselves, with the tenant's pause read with them) and neither in the overview's
    // next runs nor projected on the timeline.
    let world = World::new(&db, "2027-03-14T12:00:00Z").await;
    let runs = world.job("acme", "runs", "0 * * * *").await;
    let idle = world.job("idle", "nightly", "0 * * * *").await;
    assert!(!idle.tenant_paused);
    let pause = rota::api::TenantUpdate { paused: Some(true), ..Default::default() };
    world.rota.update_tenant("idle", &pause, None).await.unwrap();
    let idle = world.rota.job(idle.id).await.unwrap();
    assert!(idle.enabled && !idle.paused && idle.tenant_paused, "{idle:?}");
    let page = world
        .rota
        .job_page(&rota::api::JobQuery { limit: 10, ..Default::default() })
        .await
        .unwrap();
    let flags: Vec<(&str, bool)> =
        page.jobs.iter().map(|job| (job.tenant.as_str(), job.tenant_paused)).collect();
    assert_eq!(flags, [("idle", true), ("acme", false)]);

    let (projected, next) = world.projected_and_next().await;
    assert_eq!(projected, ["runs".to_owned()].into(), "the paused tenant's job is not projected");
    assert_eq!(next, [runs.id], "only the job that runs has a next run");

    // Resumed, it is back in both.
    let resume = rota::api::TenantUpdate { paused: Some(false), ..Default::default() };
    world.rota.update_tenant("idle", &resume, None).await.unwrap();
    let overview = world.rota.overview().await.unwrap();
    assert_eq!(overview.next_runs.len(), 2);
});

backend_test!(the_overview_counts_nodes_throughput_and_lateness, |db| {
    let world = World::new(&db, "2027-03-14T12:00:00Z").await;
    let job = world.job("acme", "minutely", "* * * * *").await;
    world
        .store
        .register_node(&NodeInfo {
            id: NODE.into(),
            host: "host".into(),
            pid: 42,
            version: "0.1.0".into(),
            workers: 4,
            started_at: world.now(),
            heartbeat_at: world.now(),
            stopped_at: None,
            health: None,
        })
        .await
        .unwrap();
    world.enqueue(&job, &[at("2027-03-14T11:58:00Z"), at("2027-03-14T11:59:00Z")]).await;
    let claimed = world.claim().await;
    world.clock.advance(TimeDelta::seconds(5));
    world.finish(&claimed[0], RunStatus::Failed, None).await;

    let overview = world.rota.overview().await.unwrap();
    assert_eq!(overview.running.len(), 1);
    assert_eq!(overview.recent_failures.len(), 1);
    assert_eq!(overview.nodes.len(), 1);
    assert_eq!(overview.nodes[0].running, 1);
    assert_eq!(overview.tenants[0].failed_since, 1);
    assert_eq!(overview.next_runs[0].id, job.id);
    let started: u64 = overview.buckets.iter().map(|bucket| bucket.started).sum();
    let failed: u64 = overview.buckets.iter().map(|bucket| bucket.failed).sum();
    assert_eq!((started, failed), (2, 1));
    let bucket = overview.buckets.last().unwrap();
    assert_eq!(bucket.start, at("2027-03-14T12:00:00Z"), "buckets align to quarter hours");
    // Started at 12:00:00 for 11:58 and 11:59: 120 s and 60 s late.
    assert_eq!(bucket.late_max_ms, Some(120_000));
    assert_eq!(bucket.late_avg_ms, Some(90_000.0));
});

// The node table tells the truth from the `nodes` table alone: what a node said about itself
// with its heartbeat, silence once heartbeats stop for three periods, and a clean stop.
backend_test!(the_node_table_shows_each_nodes_health_silence_and_stop, |db| {
    let world = World::new(&db, "2027-03-14T12:00:00Z").await;
    let node = NodeInfo {
        id: NODE.into(),
        host: "host".into(),
        pid: 42,
        version: "0.1.0".into(),
        workers: 4,
        started_at: world.now(),
        heartbeat_at: world.now(),
        stopped_at: None,
        health: None,
    };
    world.store.register_node(&node).await.unwrap();
    let judged =
        |nodes: Vec<rota::api::NodeStatus>| (nodes[0].condition, nodes[0].problems.clone());
    assert_eq!(judged(world.rota.list_nodes().await.unwrap()), (NodeCondition::Healthy, vec![]));

    let mut health = NodeHealth {
        healthy: false,
        problems: vec!["tick: the loop fails since 12:00:05".into()],
        heartbeat_every_ms: 10_000,
        results_waiting: 2,
    };
    world.clock.advance(TimeDelta::seconds(10));
    world.store.heartbeat(NODE, world.now(), &health).await.unwrap();
    assert_eq!(
        judged(world.rota.list_nodes().await.unwrap()),
        (NodeCondition::Unhealthy, vec!["tick: the loop fails since 12:00:05".to_owned()])
    );
    health.healthy = true;
    health.problems.clear();
    world.clock.advance(TimeDelta::seconds(10));
    world.store.heartbeat(NODE, world.now(), &health).await.unwrap();
    assert_eq!(judged(world.rota.list_nodes().await.unwrap()).0, NodeCondition::Healthy);

    // Three heartbeat periods without one: silent, with how long.
    world.clock.advance(TimeDelta::seconds(30));
    assert_eq!(judged(world.rota.list_nodes().await.unwrap()).0, NodeCondition::Healthy);
    world.clock.advance(TimeDelta::seconds(1));
    let (condition, problems) = judged(world.rota.list_nodes().await.unwrap());
    assert_eq!(condition, NodeCondition::Silent);
    assert!(problems[0].contains("no heartbeat for 31 s (silent after 30 s)"), "{problems:?}");

    world.store.mark_node_stopped(NODE, world.now()).await.unwrap();
    assert_eq!(judged(world.rota.list_nodes().await.unwrap()), (NodeCondition::Stopped, vec![]));
});

backend_test!(the_change_feed_reports_created_started_and_finished_runs_once, |db| {
    let world = World::new(&db, "2027-03-14T12:00:00Z").await;
    let job = world.job("acme", "report", "0 7 * * *").await;
    let mut cursor = ChangeCursor::default();
    assert!(
        world.rota.changes(&mut cursor).await.unwrap().is_empty(),
        "the first look only sets the cursor"
    );

    world.clock.advance(TimeDelta::seconds(1));
    let manual = world
        .rota
        .trigger(JobRef::named("acme", "report"), Some(&json!({"edited": true})))
        .await
        .unwrap();
    let changes = world.rota.changes(&mut cursor).await.unwrap();
    assert_eq!(
        changes.runs.iter().map(|run| (run.id, run.status)).collect::<Vec<_>>(),
        [(manual.id, RunStatus::Queued)]
    );
    assert!(world.rota.changes(&mut cursor).await.unwrap().runs.is_empty(), "reported once");

    world.clock.advance(TimeDelta::seconds(1));
    let claimed = world.claim().await;
    let changes = world.rota.changes(&mut cursor).await.unwrap();
    assert_eq!(changes.runs.iter().map(|run| run.status).collect::<Vec<_>>(), [RunStatus::Running]);

    // Finished a minute later (beyond the margin of re-reading): still seen, by its finish.
    world.clock.advance(TimeDelta::minutes(1));
    world.finish(&claimed[0], RunStatus::Succeeded, None).await;
    let changes = world.rota.changes(&mut cursor).await.unwrap();
    assert_eq!(
        changes.runs.iter().map(|run| run.status).collect::<Vec<_>>(),
        [RunStatus::Succeeded]
    );

    // A job edit moves the jobs mark.
    world.clock.advance(TimeDelta::seconds(1));
    world.rota.pause_job(JobRef::named("acme", "report")).await.unwrap();
    let changes = world.rota.changes(&mut cursor).await.unwrap();
    assert!(changes.jobs && changes.runs.is_empty(), "{changes:?}");
    assert_eq!(job.tenant, "acme");
});

backend_test!(the_change_feed_sees_a_run_handed_back_to_the_queue, |db| {
    let world = World::new(&db, "2027-03-14T12:00:00Z").await;
    world.job("acme", "report", "0 7 * * *").await;
    let mut cursor = ChangeCursor::default();
    world.rota.changes(&mut cursor).await.unwrap();
    world.rota.trigger(JobRef::named("acme", "report"), None).await.unwrap();
    world.clock.advance(TimeDelta::seconds(1));
    world.claim().await;
    let started = world.rota.changes(&mut cursor).await.unwrap();
    assert_eq!(started.runs.iter().map(|run| run.status).collect::<Vec<_>>(), [RunStatus::Running]);
    // A minute later (beyond the margin) its node shuts down and hands it back: it neither
    // started nor finished since, but the feed watches the runs it saw running.
    world.clock.advance(TimeDelta::minutes(1));
    assert_eq!(world.store.release(NODE, world.now()).await.unwrap(), 1);
    let released = world.rota.changes(&mut cursor).await.unwrap();
    assert_eq!(released.runs.iter().map(|run| run.status).collect::<Vec<_>>(), [RunStatus::Queued]);
    assert!(cursor.running.is_empty());
});

backend_test!(the_jobs_listing_pages_by_keyset_in_every_order_and_filter, |db| {
    use rota::api::{JobQuery, JobSort, JobStateFilter};
    let world = World::new(&db, "2026-03-01T00:00:00Z").await;
    // Names repeat across tenants (ties broken by id); schedules give distinct and equal next
    // runs; some jobs have no next run (disabled), which sorts last in both directions.
    let schedules = ["*/5 * * * *", "0 * * * *", "30 2 * * *", "0 * * * *"];
    let mut jobs = Vec::new();
    for index in 0..20_usize {
        let tenant = ["ta", "tb", "tc"][index % 3];
        let name = format!("n{:02}", index % 7);
        let job = world.job(tenant, &name, schedules[index % schedules.len()]).await;
        let job = if index % 5 == 0 {
            world
                .store
                .set_job_enabled(job.id, false, Some("off"), None, "test", world.now())
                .await
                .unwrap()
        } else {
            job
        };
        jobs.push(job);
    }
    let key = |job: &Job, sort: JobSort| -> (Option<String>, Option<i64>) {
        match sort {
            JobSort::Name => (None, None),
            JobSort::Tenant => (Some(job.tenant.clone()), None),
            JobSort::NextRun => (None, job.next_run_at.map(|at| at.timestamp_millis())),
            JobSort::LastRun => (None, job.last_run_at.map(|at| at.timestamp_millis())),
            JobSort::Failures => (None, Some(i64::from(job.consecutive_failures))),
            JobSort::Updated => (None, Some(job.updated_at.timestamp_millis())),
        }
    };
    let sorts = [
        JobSort::Name,
        JobSort::Tenant,
        JobSort::NextRun,
        JobSort::LastRun,
        JobSort::Failures,
        JobSort::Updated,
    ];
    for sort in sorts {
        for descending in [false, true] {
            for (tenant, state) in
                [(None, None), (Some("tb"), None), (None, Some(JobStateFilter::Enabled))]
            {
                // What the order must be, computed here: unset keys last, then name, then id.
                let mut expected: Vec<&Job> = jobs
                    .iter()
                    .filter(|job| tenant.is_none_or(|tenant| job.tenant == tenant))
                    .filter(|job| state.is_none() || job.enabled)
                    .collect();
                expected.sort_by(|a, b| {
                    let (ka, kb) = (key(a, sort), key(b, sort));
                    let unset = |k: &(Option<String>, Option<i64>)| {
                        matches!(sort, JobSort::NextRun | JobSort::LastRun) && k.1.is_none()
                    };
                    let order = ka.cmp(&kb).then_with(|| a.name.cmp(&b.name)).then(a.id.cmp(&b.id));
                    unset(&ka).cmp(&unset(&kb)).then(if descending {
                        order.reverse()
                    } else {
                        order
                    })
                });
                let expected: Vec<_> = expected.iter().map(|job| job.id).collect();
                let mut seen = Vec::new();
                let mut after = None;
                let mut pages = 0;
                loop {
                    let query = JobQuery {
                        tenant: tenant.map(str::to_owned),
                        state,
                        sort,
                        descending,
                        after: after.clone(),
                        limit: 4,
                        ..JobQuery::default()
                    };
                    let page = world.rota.job_page(&query).await.unwrap();
                    assert_eq!(page.total, expected.len() as u64);
                    assert!(page.jobs.len() <= 4);
                    seen.extend(page.jobs.iter().map(|job| job.id));
                    pages += 1;
                    assert!(pages <= 10, "paging does not end ({sort:?}, {descending})");
                    match page.next {
                        // The cursor survives its text form, as the console hands it over.
                        Some(next) => after = Some(JobCursorText::round_trip(&next)),
                        None => break,
                    }
                }
                assert_eq!(seen, expected, "{sort:?} descending={descending} tenant={tenant:?}");
            }
        }
    }
    // A cursor of another order is refused, naming the field.
    let first = world.rota.job_page(&JobQuery { limit: 2, ..JobQuery::default() }).await.unwrap();
    let error = world
        .rota
        .job_page(&JobQuery {
            sort: JobSort::Tenant,
            after: first.next,
            limit: 2,
            ..JobQuery::default()
        })
        .await
        .unwrap_err();
    assert!(error.to_string().starts_with("cursor: "), "{error}");
});

// The console reads a job and acts on it by id: a rename in between (by another console, `rota
// apply`, a crontab import) must not make it act on another job or fail to find this one.
backend_test!(job_operations_by_id_follow_the_job_through_a_rename, |db| {
    let world = World::new(&db, "2027-03-01T06:00:00Z").await;
    let job = world.job("acme", "report", "0 7 * * *").await;
    let renamed = JobDefinition { name: "daily-report".into(), ..job.definition() };
    let renamed = world.rota.update_job(job.id, job.version, &renamed, None).await.unwrap();
    let by_old_name = world.rota.job(JobRef::named("acme", "report")).await.unwrap_err();
    assert_eq!(by_old_name.code(), ErrorCode::NotFound);
    // Another job now takes the old name; operations by id must not reach it.
    let newcomer = world.job("acme", "report", "0 9 * * *").await;

    let paused = world.rota.pause_job(job.id).await.unwrap();
    assert_eq!((paused.name.as_str(), paused.paused), ("daily-report", true));
    assert!(!world.rota.resume_job(job.id).await.unwrap().paused);
    let disabled = world.rota.disable_job(job.id, "alice", Some("moving")).await.unwrap();
    assert_eq!(disabled.disabled_reason.as_deref(), Some("moving (by alice)"));
    let enabled = world.rota.enable_job(job.id, "alice", false).await.unwrap();
    let alice = db.recorded_as("alice");
    assert_eq!((enabled.enabled, enabled.enabled_by.as_deref()), (true, Some(alice.as_str())));
    assert_eq!(world.rota.trigger(job.id, None).await.unwrap().job, "daily-report");

    // 07:00 on 27 and 28 February.
    let (from, to) = (at("2027-02-27T00:00:00Z"), at("2027-03-01T00:00:00Z"));
    let preview = BackfillRequest { from, to, max: None, dry_run: true };
    let preview = world.rota.backfill(job.id, &preview).await.unwrap();
    assert_eq!((preview.occurrences.len(), preview.report), (2, None));
    let request = BackfillRequest { from, to, max: None, dry_run: false };
    let report = world.rota.backfill(job.id, &request).await.unwrap().report.unwrap();
    assert_eq!((report.occurrences, report.queued), (2, 2));

    // An edit names the version it was made on; one made on an older version is refused.
    let current = world.rota.job(job.id).await.unwrap();
    let edit = JobDefinition { schedule: "0 8 * * *".into(), ..current.definition() };
    let policy = JobPolicy { max_retries: Some(2), ..JobPolicy::default() };
    let stale = world.rota.update_job(job.id, renamed.version, &edit, Some(&policy)).await;
    assert_eq!(stale.unwrap_err().code(), ErrorCode::StaleVersion);
    let edited =
        world.rota.update_job(job.id, current.version, &edit, Some(&policy)).await.unwrap();
    assert_eq!((edited.schedule.as_str(), edited.policy.max_retries), ("0 8 * * *", Some(2)));

    let untouched = world.rota.job(newcomer.id).await.unwrap();
    assert_eq!(
        (untouched.version, untouched.paused, untouched.enabled),
        (newcomer.version, false, true)
    );
    let newcomer_runs = world.rota.job_runs(newcomer.id, 10).await.unwrap();
    assert!(newcomer_runs.is_empty(), "{newcomer_runs:?}");

    world.rota.delete_job(job.id).await.unwrap();
    assert_eq!(world.rota.job(job.id).await.unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(world.rota.pause_job(job.id).await.unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(world.rota.trigger(job.id, None).await.unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(world.rota.job(newcomer.id).await.unwrap().name, "report");
});

/// SQLite uses a partial index only for a query that states the index's condition in the same
/// words: the overview's count of recent failures and `runs_failures_by_tenant` (migration
/// 0017) must say it alike, or the count reads every run a tenant finished in the window.
#[tokio::test]
async fn on_sqlite_the_overview_counts_failures_through_their_index() {
    let db = support::TestDatabase::create(support::Backend::Sqlite).await.expect("a SQLite file");
    db.store().await.close().await;
    let plan: Vec<String> = with_connection!(db, |connection| {
        let steps: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
            "EXPLAIN QUERY PLAN {}",
            rota::store::pinned_plans::TENANT_OVERVIEW
        ))
        .fetch_all(&mut connection)
        .await
        .expect("plan");
        steps.into_iter().map(|(_, _, _, detail)| detail).collect()
    });
    let failures = plan.iter().any(|step| {
        step.starts_with(
            "SEARCH r USING INDEX runs_failures_by_tenant (tenant_id=? AND finished_at>?)",
        )
    });
    assert!(failures, "{plan:#?}");
}

/// The cursor's text form, as front ends carry it.
struct JobCursorText;

impl JobCursorText {
    fn round_trip(cursor: &rota::api::JobCursor) -> rota::api::JobCursor {
        rota::api::JobCursor::decode(&cursor.encode()).unwrap()
    }
}
