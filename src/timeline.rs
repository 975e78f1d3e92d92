//! Runs in time, as the console shows them: the runs of a window ([`RunSpan`]), the runs the
//! schedules will make next ([`Projection`], from the cron engine and each job's average
//! duration), throughput and lateness per time bucket ([`RunBucket`]), and a change feed
//! ([`ChangeCursor`]) that lets a viewer follow what the engines write without reloading.
//!
//! Everything here is bounded and read through indexes: a window of runs is a few index range
//! scans (`runs_started`, `runs_queued_ready`, `runs_recent`) cut at a limit; the change feed
//! reads runs created since the cursor (the time-ordered primary key), started since it
//! (`runs_started`) and finished since it (`runs_finished`), so its cost follows what changed,
//! not what is stored or how much runs at once. The store runs the queries ([`crate::store::Store::run_spans`] and
//! friends); the rules for people (what a window covers, how projections are cut, which changes
//! a viewer has not seen) are the pure functions of this module, tested on their own.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::job::Job;
use crate::run::{RunStatus, Trigger};

/// A window shows runs that started up to this long before it (and still ran into it).
pub const SPAN_LOOKBACK: TimeDelta = TimeDelta::days(1);
/// The most runs one window returns; a larger window is cut (and says so).
pub const MAX_SPANS: u32 = 100_000;
/// The longest window: a month and a bit.
pub const MAX_WINDOW: TimeDelta = TimeDelta::days(45);
/// Projected runs per job and in all, per window: enough to see a herd at 00:00 or a collision,
/// bounded so that `* * * * *` over a month does not draw 43,200 ghosts.
pub const MAX_PROJECTIONS_PER_JOB: usize = 500;
pub const MAX_PROJECTIONS: usize = 20_000;
/// Jobs whose future runs a window projects, soonest first.
pub const MAX_PROJECTED_JOBS: u32 = 1_000;
/// Average durations are taken over the successful runs that started this far back.
pub const DURATION_HISTORY: TimeDelta = TimeDelta::days(7);
/// The change feed re-reads this far behind its cursor: rows written by a node whose clock is a
/// little behind, or committed just after the last look, are still seen (and deduplicated).
pub const CHANGE_MARGIN: TimeDelta = TimeDelta::seconds(10);
/// Changed runs one look returns; more means "reload" ([`Changes::truncated`]).
pub const MAX_CHANGES: u32 = 2_000;
/// Running runs a look re-reads by id (the rest are seen when they finish).
pub const MAX_WATCHED: usize = 200;

/// One run (an attempt of an occurrence) as a timeline draws it: no output, no payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSpan {
    pub id: Uuid,
    pub job_id: Uuid,
    pub job: String,
    pub tenant_id: Uuid,
    pub tenant: String,
    pub scheduled_at: DateTime<Utc>,
    /// When a queued run became (or becomes) ready.
    pub not_before: DateTime<Utc>,
    pub trigger: Trigger,
    pub attempt: u32,
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl RunSpan {
    /// Where the bar of this run begins: when it started, else when it became ready (a queued
    /// run waiting) or was due (an occurrence that did not run).
    pub fn begins_at(&self) -> DateTime<Utc> {
        match (self.started_at, self.status) {
            (Some(started), _) => started,
            (None, RunStatus::Queued) => self.not_before,
            (None, _) => self.scheduled_at,
        }
    }

    /// Where it ends: when it finished, `now` while it is running or waiting, else where it
    /// began (a point).
    pub fn ends_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match (self.finished_at, self.status) {
            (Some(finished), _) => finished.max(self.begins_at()),
            (None, RunStatus::Running | RunStatus::Queued) => now.max(self.begins_at()),
            (None, _) => self.begins_at(),
        }
    }
}

/// Which runs a window shows. Statuses are filtered by the viewer (they are few and change
/// nothing about the cost); tenant and job narrow the query itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub tenant: Option<String>,
    pub job_id: Option<Uuid>,
    /// At most this many runs ([`MAX_SPANS`] at most).
    pub limit: u32,
}

/// A run a schedule will make: a ghost beside the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projection {
    pub job_id: Uuid,
    pub job: String,
    pub tenant_id: Uuid,
    pub tenant: String,
    pub at: DateTime<Utc>,
    /// The job's average duration over its recent successful runs, when it has any.
    pub expected: Option<Duration>,
}

/// A window of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// When the window was read: running and waiting runs end here.
    pub now: DateTime<Utc>,
    pub spans: Vec<RunSpan>,
    /// More runs than the limit fall in the window; the spans are the earliest ones.
    pub truncated: bool,
    pub projections: Vec<Projection>,
    /// Some projections were left out ([`MAX_PROJECTIONS_PER_JOB`], [`MAX_PROJECTIONS`],
    /// [`MAX_PROJECTED_JOBS`]).
    pub projections_truncated: bool,
}

/// Throughput and lateness of the runs that started in one bucket of time.
#[derive(Debug, Clone, PartialEq)]
pub struct RunBucket {
    pub start: DateTime<Utc>,
    /// Runs started in the bucket.
    pub started: u64,
    /// Of those, how many ended failed, timed out or lost.
    pub failed: u64,
    /// Lateness (started minus scheduled) of the scheduled first attempts that started in the
    /// bucket: average and worst, in milliseconds. Retries and manual runs are left out: their
    /// distance from the occurrence is backoff or intent, not lateness.
    pub late_avg_ms: Option<f64>,
    pub late_max_ms: Option<i64>,
}

/// Instants that move when something other than a run changes: the latest job edit, tenant
/// edit and node heartbeat. Read through indexes or small tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeMarks {
    pub jobs: Option<DateTime<Utc>>,
    pub tenants: Option<DateTime<Utc>>,
    pub nodes: Option<DateTime<Utc>>,
    pub node_count: u64,
}

/// Where a viewer of the change feed is: what it has been told, as of when.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeCursor {
    /// When the viewer last looked (the console's clock).
    pub at: Option<DateTime<Utc>>,
    pub marks: ChangeMarks,
    /// The runs that were running at the last look, as far as the viewer was told: the next look
    /// reads them again by id (at most [`MAX_WATCHED`] of them), so that one handed back to the
    /// queue at a shutdown (neither started nor finished since) is seen too.
    pub running: Vec<Uuid>,
    /// The status each run had when it was last reported, for the runs reported within
    /// [`CHANGE_MARGIN`]: re-reading the margin reports nothing twice.
    pub reported: HashMap<Uuid, (RunStatus, DateTime<Utc>)>,
}

/// What changed since a [`ChangeCursor`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Runs created, started, finished or handed back since the cursor, oldest first.
    pub runs: Vec<RunSpan>,
    /// More runs changed than one look returns: reload instead of patching.
    pub truncated: bool,
    pub jobs: bool,
    pub tenants: bool,
    pub nodes: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty() && !self.truncated && !self.jobs && !self.tenants && !self.nodes
    }
}

/// The smallest time-ordered id (UUID v7, as the store makes them) of `at`'s millisecond: every
/// row created at or after `at` has an id at least this (ids compare bytewise on both backends).
pub fn first_id_at(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    Uuid::from_bytes(bytes)
}

/// Checks a window: `from` before `to`, at most [`MAX_WINDOW`] long.
pub fn validate_window(from: DateTime<Utc>, to: DateTime<Utc>) -> crate::Result<()> {
    if from >= to {
        return Err(crate::Error::invalid("from", from.to_rfc3339(), "must be before `to`"));
    }
    if to - from > MAX_WINDOW {
        return Err(crate::Error::invalid(
            "to",
            to.to_rfc3339(),
            format!("a window spans at most {} days", MAX_WINDOW.num_days()),
        ));
    }
    Ok(())
}

/// The future runs of `jobs` in `[max(from, now), to)`, from their schedules (the cron engine
/// the scheduler uses), each with its job's average duration from `durations` (milliseconds by
/// job id). Bounded per job and in all; the flag says whether anything was left out.
pub fn project(
    jobs: &[Job],
    durations: &HashMap<Uuid, f64>,
    calendars: &crate::calendars::CalendarBook,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Vec<Projection>, bool) {
    let start = from.max(now);
    let mut projections = Vec::new();
    let mut truncated = false;
    for job in jobs {
        let Some(next) = job.next_run_at else { continue };
        let Ok(schedule) = job.parsed_schedule() else { continue };
        let expected = durations
            .get(&job.id)
            .filter(|ms| ms.is_finite() && **ms >= 0.0)
            .map(|ms| Duration::from_millis(ms.round() as u64));
        // The job's runs from its next run instant on (which may lie before `now` when the
        // engine is behind), with its calendars: excluded occurrences make no ghost, moved
        // ones a ghost where they run.
        let (rule, _) = calendars.rule(job.tenant_id, &job.policy);
        let timetable = crate::calendars::Timetable::new(&schedule, rule.as_ref());
        let horizon = (to - next).max(chrono::Duration::zero()) + chrono::Duration::seconds(1);
        let runs = timetable.runs_after(next - chrono::Duration::seconds(1), horizon);
        let mut count = 0;
        for at in runs.map(|slot| slot.at) {
            if at >= to {
                break;
            }
            if at < start {
                continue;
            }
            if count == MAX_PROJECTIONS_PER_JOB || projections.len() == MAX_PROJECTIONS {
                truncated = true;
                break;
            }
            projections.push(Projection {
                job_id: job.id,
                job: job.name.clone(),
                tenant_id: job.tenant_id,
                tenant: job.tenant.clone(),
                at,
                expected,
            });
            count += 1;
        }
    }
    projections.sort_by(|a, b| a.at.cmp(&b.at).then(a.job_id.cmp(&b.job_id)));
    (projections, truncated)
}

/// Folds one look of the change feed into the cursor: keeps the runs the viewer has not been
/// told about in their current state, remembers what it reported (forgetting reports older than
/// [`CHANGE_MARGIN`]), the running set and the marks. Returns the changes to report.
pub fn fold_changes(
    cursor: &mut ChangeCursor,
    now: DateTime<Utc>,
    runs: Vec<RunSpan>,
    truncated: bool,
    marks: ChangeMarks,
) -> Changes {
    let first_look = cursor.at.is_none();
    // The runs running now, as far as this viewer knows: those it knew of, updated by what this
    // look read (a run that started, finished or was handed back).
    let mut running: std::collections::BTreeSet<Uuid> = cursor.running.iter().copied().collect();
    for run in &runs {
        if run.status == RunStatus::Running {
            running.insert(run.id);
        } else {
            running.remove(&run.id);
        }
    }
    let mut fresh = Vec::new();
    for run in runs {
        let unchanged =
            cursor.reported.get(&run.id).is_some_and(|(status, _)| *status == run.status);
        if !unchanged {
            cursor.reported.insert(run.id, (run.status, now));
            fresh.push(run);
        }
    }
    // Forget reports older than the margin the next look re-reads, except for running runs,
    // which the next looks read again by id.
    cursor.reported.retain(|id, (_, at)| running.contains(id) || now - *at <= CHANGE_MARGIN * 2);
    cursor.running = running.into_iter().collect();
    let changes = Changes {
        runs: if first_look { Vec::new() } else { fresh },
        truncated: truncated && !first_look,
        jobs: !first_look && marks.jobs != cursor.marks.jobs,
        tenants: !first_look && marks.tenants != cursor.marks.tenants,
        nodes: !first_look
            && (marks.nodes != cursor.marks.nodes || marks.node_count != cursor.marks.node_count),
    };
    cursor.marks = marks;
    cursor.at = Some(now);
    changes
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 14, 7, minute, 0).unwrap()
    }

    fn span(id: u128, status: RunStatus) -> RunSpan {
        RunSpan {
            id: Uuid::from_u128(id),
            job_id: Uuid::from_u128(1),
            job: "report".into(),
            tenant_id: Uuid::from_u128(2),
            tenant: "acme".into(),
            scheduled_at: at(0),
            not_before: at(0),
            trigger: Trigger::Schedule,
            attempt: 1,
            status,
            started_at: (status != RunStatus::Queued).then(|| at(1)),
            finished_at: status.is_final().then(|| at(3)),
        }
    }

    #[test]
    fn first_ids_order_below_every_id_of_their_millisecond() {
        let instant = at(5) + TimeDelta::milliseconds(250);
        let floor = first_id_at(instant);
        // As the store makes ids (`codec::new_id`).
        let made = |at: DateTime<Utc>| {
            let millis = u64::try_from(at.timestamp_millis()).unwrap();
            let nanos = u32::try_from(millis % 1000).unwrap() * 1_000_000;
            Uuid::new_v7(uuid::Timestamp::from_unix_time(millis / 1000, nanos, 0, 0))
        };
        assert!(floor <= made(instant));
        assert!(made(instant - TimeDelta::milliseconds(1)) < floor);
    }

    #[test]
    fn bars_begin_at_the_start_and_end_at_the_finish_or_now() {
        let done = span(1, RunStatus::Succeeded);
        assert_eq!((done.begins_at(), done.ends_at(at(30))), (at(1), at(3)));
        let running = RunSpan { finished_at: None, ..span(2, RunStatus::Running) };
        assert_eq!(running.ends_at(at(30)), at(30));
        let waiting = RunSpan { not_before: at(2), ..span(3, RunStatus::Queued) };
        assert_eq!((waiting.begins_at(), waiting.ends_at(at(30))), (at(2), at(30)));
        let missed = RunSpan { started_at: None, ..span(4, RunStatus::Missed) };
        assert_eq!((missed.begins_at(), missed.ends_at(at(30))), (at(0), at(3)));
    }

    #[test]
    fn windows_are_ordered_and_bounded() {
        assert!(validate_window(at(0), at(1)).is_ok());
        assert!(validate_window(at(1), at(1)).is_err());
        assert!(validate_window(at(0), at(0) + TimeDelta::days(46)).is_err());
    }

    #[test]
    fn the_change_feed_reports_each_state_once() {
        let mut cursor = ChangeCursor::default();
        let marks = ChangeMarks { jobs: Some(at(0)), ..ChangeMarks::default() };
        // The first look only sets the cursor.
        let first =
            fold_changes(&mut cursor, at(10), vec![span(1, RunStatus::Running)], false, marks);
        assert!(first.is_empty());
        assert_eq!(cursor.running, vec![Uuid::from_u128(1)]);
        // The same running run again: nothing new.
        let same =
            fold_changes(&mut cursor, at(11), vec![span(1, RunStatus::Running)], false, marks);
        assert!(same.is_empty(), "{same:?}");
        // It finished, and a job was edited.
        let edited = ChangeMarks { jobs: Some(at(11)), ..marks };
        let done =
            fold_changes(&mut cursor, at(12), vec![span(1, RunStatus::Failed)], false, edited);
        assert_eq!(done.runs.len(), 1);
        assert!(done.jobs && !done.tenants && !done.nodes);
        assert!(cursor.running.is_empty());
        // Re-read within the margin: not reported again.
        let again =
            fold_changes(&mut cursor, at(13), vec![span(1, RunStatus::Failed)], false, edited);
        assert!(again.is_empty(), "{again:?}");
    }
}
