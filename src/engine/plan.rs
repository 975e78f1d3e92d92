//! What the tick does with a due job: pure policy, no I/O, table-tested.
//!
//! The occurrences from the job's `next_run_at` up to now split in two. Those at most
//! [`MISFIRE_THRESHOLD`] old are on time: they run. Older ones fell in a gap (no scheduler was
//! running, or the job was paused) and follow the job's missed policy; every one of them gets a
//! row, so the history shows what did not run and why. The runs this leaves are then checked
//! against the overlap policy, given the job's runs still queued or running.

use chrono::{DateTime, Utc};

use crate::calendars::{CalendarRule, SlotKind, Timetable};
use crate::cron::Schedule;
use crate::policy::JobPolicy;
use crate::policy::{human_duration, MissedPolicy, OverlapPolicy, WaitedFor};
use crate::run::RunStatus;
use uuid::Uuid;

/// Occurrences at most this late are not "missed": a busy or briefly stalled engine runs each
/// of them (as Quartz's misfire threshold). Older ones fall under the missed policy.
pub const MISFIRE_THRESHOLD: chrono::Duration = chrono::Duration::seconds(60);

/// Bound on the rows written for one job in one tick (a six-field schedule firing every second
/// after three hours of downtime has 10,800 occurrences). Beyond it, the oldest row recorded
/// says that earlier occurrences were not recorded one by one.
pub const MAX_ROWS_PER_TICK: usize = 1000;

/// Why occurrences in a gap did not run at their time.
const SCHEDULER_DOWN: &str = "no scheduler was running";
const JOB_PAUSED: &str = "the job was paused";

/// An enabled job whose next run instant has come, as the tick sees it.
#[derive(Debug, Clone)]
pub struct DueJob {
    pub job_id: Uuid,
    pub tenant_id: Uuid,
    pub schedule: String,
    pub timezone: String,
    pub next_run_at: DateTime<Utc>,
    pub policy: JobPolicy,
    /// Whether the job had a run running, and one queued (retries waiting included), when the
    /// tick read it: 0 or 1 each (the overlap policies need no more, and a count would read a
    /// whole backlog).
    pub running: u64,
    pub queued: u64,
    /// The job's last pause, once it was resumed: occurrences in it were missed because of it.
    pub paused_between: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One row the tick writes for an occurrence (attempt 1, trigger `schedule`): a run to queue,
/// or an occurrence recorded as `skipped` or `missed` with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    pub scheduled_at: DateTime<Utc>,
    /// When a queued run becomes ready (after the job's jitter offset); ignored otherwise.
    pub not_before: DateTime<Utc>,
    /// `Queued`, `Skipped` or `Missed`.
    pub status: RunStatus,
    pub reason: Option<String>,
    pub waited_for: Option<WaitedFor>,
}

impl PlannedRun {
    /// A run of `scheduled_at`, ready at once.
    pub fn queued(scheduled_at: DateTime<Utc>) -> Self {
        PlannedRun {
            scheduled_at,
            not_before: scheduled_at,
            status: RunStatus::Queued,
            reason: None,
            waited_for: None,
        }
    }

    /// An occurrence that did not run.
    pub fn recorded(scheduled_at: DateTime<Utc>, status: RunStatus, reason: String) -> Self {
        PlannedRun {
            scheduled_at,
            not_before: scheduled_at,
            status,
            reason: Some(reason),
            waited_for: None,
        }
    }
}

/// What the tick decided for one due job: which rows to write for its occurrences and where the
/// job's next run instant moves. Decided by the engine, written by the store in the same
/// transaction that read the job.
#[derive(Debug, Clone, Default)]
pub struct TickPlan {
    pub runs: Vec<PlannedRun>,
    /// `None` means the schedule never fires again; the job stays enabled but is never due.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Overlap `cancel_previous`: before inserting, cancel the job's queued runs and ask its
    /// running ones to stop, with this reason.
    pub supersede: Option<String>,
}

impl TickPlan {
    /// A plan that queues each of `occurrences`, ready at its instant.
    pub fn enqueue(occurrences: &[DateTime<Utc>], next_run_at: Option<DateTime<Utc>>) -> Self {
        TickPlan {
            runs: occurrences.iter().copied().map(PlannedRun::queued).collect(),
            next_run_at,
            supersede: None,
        }
    }

    /// The instants of the runs it queues.
    pub fn queued(&self) -> Vec<DateTime<Utc>> {
        self.runs
            .iter()
            .filter(|run| run.status == RunStatus::Queued)
            .map(|run| run.scheduled_at)
            .collect()
    }
}

/// Why an occurrence did not run, in few enough kinds to count in metrics (the row's reason
/// says it in words, with the policy and the instants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NotRunReason {
    /// No scheduler was running at its instant (the engine was down, or could not reach the
    /// database for longer than the misfire threshold).
    NoScheduler,
    /// The job was paused at its instant.
    JobPaused,
    /// Overlap `skip`: a previous run of the job was still running.
    PreviousRunning,
    /// Overlap `skip`: a previous run of the job was still queued.
    PreviousQueued,
    /// Overlap `queue_one`: a run of the job was already waiting.
    AlreadyWaiting,
    /// Overlap `cancel_previous`: a newer occurrence replaced it.
    Superseded,
    /// A calendar of the job excludes it (and it was not moved).
    Calendar,
}

impl NotRunReason {
    pub fn as_str(self) -> &'static str {
        match self {
            NotRunReason::NoScheduler => "no_scheduler",
            NotRunReason::JobPaused => "job_paused",
            NotRunReason::PreviousRunning => "previous_running",
            NotRunReason::PreviousQueued => "previous_queued",
            NotRunReason::AlreadyWaiting => "already_waiting",
            NotRunReason::Superseded => "superseded",
            NotRunReason::Calendar => "calendar",
        }
    }
}

/// Occurrences a plan records as not run, by status (`skipped` or `missed`) and reason.
pub type NotRunTally = std::collections::HashMap<(RunStatus, NotRunReason), u64>;

/// Decides what to write for a due job at `now`: a row per occurrence since its `next_run_at`
/// (queued, `missed` or `skipped`, with reasons), whether previous runs are superseded, and its
/// next run instant, which is computed from `now` so that a restart never causes a burst.
pub fn plan_tick(due: &DueJob, schedule: Option<&Schedule>, now: DateTime<Utc>) -> TickPlan {
    plan_tick_tallied(due, schedule, None, now, &mut NotRunTally::new())
}

/// [`plan_tick`] for a job with calendars (`rule`; `None` or an empty rule: none), adding the
/// occurrences it records as not run to `tally`.
///
/// With calendars the job's slots replace the schedule's occurrences: an excluded occurrence
/// is a `skipped` row naming the calendar and the event, a moved one runs at its new instant
/// with a reason saying where it came from, and the next run instant is the next slot.
pub fn plan_tick_tallied(
    due: &DueJob,
    schedule: Option<&Schedule>,
    rule: Option<&CalendarRule>,
    now: DateTime<Utc>,
    tally: &mut NotRunTally,
) -> TickPlan {
    let Some(schedule) = schedule else {
        // An unparseable stored schedule never fires; the engine logs it.
        return TickPlan::default();
    };
    let timetable = Timetable::new(schedule, rule);
    let mut rows = Vec::new();
    // Why a run is not the schedule's own occurrence (a moved one), by instant.
    let mut moved: Vec<(DateTime<Utc>, String)> = Vec::new();
    let (occurrences, truncated) = if timetable.rule.is_some() {
        let (slots, truncated) = timetable.slots_between(due.next_run_at, now, MAX_ROWS_PER_TICK);
        let mut runs = Vec::with_capacity(slots.len());
        for slot in slots {
            match &slot.kind {
                SlotKind::Run => runs.push(slot.at),
                SlotKind::Moved { .. } => {
                    runs.push(slot.at);
                    moved.push((slot.at, slot.reason().unwrap_or_default()));
                }
                SlotKind::Excluded { .. } => {
                    *tally.entry((RunStatus::Skipped, NotRunReason::Calendar)).or_default() += 1;
                    let reason = slot.reason().unwrap_or_default();
                    rows.push(PlannedRun::recorded(slot.at, RunStatus::Skipped, reason));
                }
            }
        }
        (runs, truncated)
    } else {
        occurrences_since(schedule, due.next_run_at, now)
    };
    let split = occurrences.partition_point(|at| *at < now - MISFIRE_THRESHOLD);
    let (gap, on_time) = occurrences.split_at(split);

    // Occurrences that should run, oldest first, with the reason for a late one.
    let mut candidates: Vec<(DateTime<Utc>, Option<String>)> = Vec::new();
    if !gap.is_empty() {
        plan_gap(
            due,
            schedule,
            gap,
            on_time.is_empty(),
            truncated,
            now,
            &mut rows,
            &mut candidates,
            tally,
        );
    }
    candidates.extend(on_time.iter().map(|at| (*at, None)));
    for (at, reason) in &mut candidates {
        if let Some((_, why)) = moved.iter().find(|(moved_at, _)| moved_at == at) {
            *reason = Some(match reason.take() {
                Some(late) => format!("{why}; {late}"),
                None => why.clone(),
            });
        }
    }
    let supersede = apply_overlap(due, candidates, &mut rows, tally);
    rows.sort_by_key(|row| row.scheduled_at);
    let next_run_at = match timetable.rule {
        Some(_) => timetable.next_slot_after(now).map(|slot| slot.at),
        None => schedule.next_after(now),
    };
    TickPlan { runs: rows, next_run_at, supersede }
}

/// The occurrences in `[from, now]`, oldest first: at most [`MAX_ROWS_PER_TICK`], the most
/// recent ones, and whether older ones were left out. Walking back from `now` bounds the work
/// by the rows written, however long the gap.
fn occurrences_since(
    schedule: &Schedule,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Vec<DateTime<Utc>>, bool) {
    let mut newest_first = Vec::new();
    let mut cursor = now + chrono::Duration::milliseconds(1);
    while let Some(at) = schedule.prev_before(cursor).filter(|at| *at >= from) {
        if newest_first.len() == MAX_ROWS_PER_TICK {
            return (reversed(newest_first), true);
        }
        newest_first.push(at);
        cursor = at;
    }
    (reversed(newest_first), false)
}

fn reversed(mut occurrences: Vec<DateTime<Utc>>) -> Vec<DateTime<Utc>> {
    occurrences.reverse();
    occurrences
}

/// Applies the missed policy to the occurrences of a gap (oldest first): rows for those that do
/// not run, candidates for those that do.
#[allow(clippy::too_many_arguments)]
fn plan_gap(
    due: &DueJob,
    schedule: &Schedule,
    gap: &[DateTime<Utc>],
    nothing_on_time: bool,
    truncated: bool,
    now: DateTime<Utc>,
    rows: &mut Vec<PlannedRun>,
    candidates: &mut Vec<(DateTime<Utc>, Option<String>)>,
    tally: &mut NotRunTally,
) {
    let window = due.policy.catch_up_window_for(schedule);
    let window_start = now - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    let in_window = |at: &DateTime<Utc>| *at >= window_start;
    let cause = |at: DateTime<Utc>| match due.paused_between {
        Some((from, to)) if from <= at && at <= to => (JOB_PAUSED, NotRunReason::JobPaused),
        _ => (SCHEDULER_DOWN, NotRunReason::NoScheduler),
    };
    let missed_count =
        if truncated { format!("more than {}", gap.len()) } else { gap.len().to_string() };
    // The occurrences of the gap that run.
    let run: Vec<DateTime<Utc>> = match due.policy.missed {
        // With an on-time run this tick, that run is the catch-up.
        MissedPolicy::RunOnce => gap
            .iter()
            .rev()
            .find(|at| in_window(at))
            .filter(|_| nothing_on_time)
            .copied()
            .into_iter()
            .collect(),
        MissedPolicy::RunAll { max_runs } => {
            let within: Vec<DateTime<Utc>> = gap.iter().copied().filter(in_window).collect();
            let keep = within.len().saturating_sub(max_runs as usize);
            within[keep..].to_vec()
        }
        MissedPolicy::Skip => Vec::new(),
    };
    for (index, &at) in gap.iter().enumerate() {
        let (cause, kind) = cause(at);
        let mut reason = if run.contains(&at) {
            match due.policy.missed {
                MissedPolicy::RunOnce => format!("catch-up for {missed_count} missed occurrences"),
                _ => format!("late: {cause} (missed policy run_all)"),
            }
        } else if due.policy.missed == MissedPolicy::Skip {
            format!("{cause}; missed policy skip")
        } else if !in_window(&at) {
            format!("{cause}; older than the catch-up window of {}", human_duration(window))
        } else {
            match due.policy.missed {
                MissedPolicy::RunAll { max_runs } => {
                    format!("{cause}; missed policy run_all: at most {max_runs} catch-up runs")
                }
                _ => format!("{cause}; missed policy run_once: one catch-up run for the gap"),
            }
        };
        if index == 0 && truncated {
            reason.push_str(&format!(
                "; earlier occurrences since {} are not recorded one by one",
                due.next_run_at.to_rfc3339()
            ));
        }
        if run.contains(&at) {
            candidates.push((at, Some(reason)));
        } else {
            let status = if due.policy.missed == MissedPolicy::Skip {
                RunStatus::Skipped
            } else {
                RunStatus::Missed
            };
            *tally.entry((status, kind)).or_default() += 1;
            rows.push(PlannedRun::recorded(at, status, reason));
        }
    }
}

/// Applies the overlap policy to the occurrences that should run (oldest first), given the
/// job's runs still running and queued: queued rows or `skipped` ones go to `rows`. Returns the
/// reason to supersede the previous runs with (`cancel_previous`).
fn apply_overlap(
    due: &DueJob,
    candidates: Vec<(DateTime<Utc>, Option<String>)>,
    rows: &mut Vec<PlannedRun>,
    tally: &mut NotRunTally,
) -> Option<String> {
    let offset = chrono::Duration::from_std(due.policy.start_offset(due.job_id))
        .unwrap_or(chrono::Duration::zero());
    let queue = |at: DateTime<Utc>, reason: Option<String>, waited_for: Option<WaitedFor>| {
        PlannedRun { not_before: at + offset, reason, waited_for, ..PlannedRun::queued(at) }
    };
    let mut skip = |at: DateTime<Utc>, kind: NotRunReason, reason: String| {
        *tally.entry((RunStatus::Skipped, kind)).or_default() += 1;
        PlannedRun::recorded(at, RunStatus::Skipped, reason)
    };
    let (running, mut queued) = (due.running, due.queued);
    match due.policy.overlap {
        OverlapPolicy::Allow => {
            rows.extend(candidates.into_iter().map(|(at, reason)| queue(at, reason, None)));
            None
        }
        OverlapPolicy::Skip => {
            for (at, reason) in candidates {
                if running > 0 {
                    rows.push(skip(
                        at,
                        NotRunReason::PreviousRunning,
                        "previous run still running".to_owned(),
                    ));
                } else if queued > 0 {
                    rows.push(skip(
                        at,
                        NotRunReason::PreviousQueued,
                        "previous run still queued".to_owned(),
                    ));
                } else {
                    rows.push(queue(at, reason, None));
                    queued += 1;
                }
            }
            None
        }
        OverlapPolicy::QueueOne => {
            for (at, reason) in candidates {
                if queued > 0 {
                    let reason = "a run of this job is already waiting (overlap queue_one)";
                    rows.push(skip(at, NotRunReason::AlreadyWaiting, reason.to_owned()));
                } else {
                    rows.push(queue(at, reason, (running > 0).then_some(WaitedFor::Overlap)));
                    queued += 1;
                }
            }
            None
        }
        OverlapPolicy::CancelPrevious => {
            let (latest, _) = *candidates.last()?;
            let superseded = format!(
                "superseded by the occurrence at {} (overlap cancel_previous)",
                latest.to_rfc3339()
            );
            let count = candidates.len();
            for (index, (at, reason)) in candidates.into_iter().enumerate() {
                if index + 1 < count {
                    rows.push(skip(at, NotRunReason::Superseded, superseded.clone()));
                } else {
                    rows.push(queue(at, reason, (running > 0).then_some(WaitedFor::Overlap)));
                }
            }
            (running + queued > 0).then_some(superseded)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::policy::JobPolicy;
    use uuid::Uuid;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn due(next_run_at: &str, policy: JobPolicy) -> DueJob {
        DueJob {
            job_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            schedule: "*/5 * * * *".into(),
            timezone: "UTC".into(),
            next_run_at: at(next_run_at),
            policy,
            running: 0,
            queued: 0,
            paused_between: None,
        }
    }

    fn every_five() -> Schedule {
        Schedule::parse("*/5 * * * *", "UTC").unwrap()
    }

    /// (instant, status, reason) of every row, for compact assertions.
    fn rows(plan: &TickPlan) -> Vec<(DateTime<Utc>, RunStatus, Option<String>)> {
        plan.runs.iter().map(|run| (run.scheduled_at, run.status, run.reason.clone())).collect()
    }

    fn count(plan: &TickPlan, status: RunStatus) -> usize {
        plan.runs.iter().filter(|run| run.status == status).count()
    }

    #[test]
    fn on_time_tick_enqueues_the_due_occurrence() {
        let job = due("2027-01-01T10:05:00Z", JobPolicy::default());
        let plan = plan_tick(&job, Some(&every_five()), at("2027-01-01T10:05:00Z"));
        assert_eq!(plan.queued(), vec![at("2027-01-01T10:05:00Z")]);
        assert_eq!(plan.runs.len(), 1);
        assert_eq!(plan.next_run_at, Some(at("2027-01-01T10:10:00Z")));
        assert_eq!(plan.supersede, None);
    }

    #[test]
    fn after_downtime_run_once_runs_the_latest_and_records_the_rest() {
        let job = due("2027-01-01T10:05:00Z", JobPolicy::default());
        let plan = plan_tick(&job, Some(&every_five()), at("2027-01-01T13:07:30Z"));
        assert_eq!(plan.queued(), vec![at("2027-01-01T13:05:00Z")]);
        // 10:05 to 13:05 is 37 occurrences: one catch-up, 36 missed.
        assert_eq!(count(&plan, RunStatus::Missed), 36);
        let catch_up = plan.runs.last().unwrap();
        assert_eq!(catch_up.reason.as_deref(), Some("catch-up for 37 missed occurrences"));
        assert_eq!(
            plan.runs[0].reason.as_deref(),
            Some("no scheduler was running; missed policy run_once: one catch-up run for the gap")
        );
        assert_eq!(plan.next_run_at, Some(at("2027-01-01T13:10:00Z")));
    }

    #[test]
    fn an_on_time_occurrence_is_the_catch_up() {
        let job = due("2027-01-01T10:05:00Z", JobPolicy::default());
        let plan = plan_tick(&job, Some(&every_five()), at("2027-01-01T13:05:20Z"));
        assert_eq!(plan.queued(), vec![at("2027-01-01T13:05:00Z")]);
        assert_eq!(plan.runs[0].status, RunStatus::Missed);
        assert_eq!(count(&plan, RunStatus::Missed), 36);
        assert_eq!(plan.runs.last().unwrap().reason, None, "an on-time run needs no reason");
    }

    #[test]
    fn missed_policies_over_a_three_hour_gap() {
        let now = at("2027-01-01T13:07:30Z");
        let table: [(MissedPolicy, usize, usize, usize); 4] = [
            (MissedPolicy::RunOnce, 1, 36, 0),
            (MissedPolicy::RunAll { max_runs: 1000 }, 37, 0, 0),
            (MissedPolicy::RunAll { max_runs: 5 }, 5, 32, 0),
            (MissedPolicy::Skip, 0, 0, 37),
        ];
        for (missed, queued, recorded_missed, skipped) in table {
            let policy =
                JobPolicy { missed, overlap: OverlapPolicy::Allow, ..JobPolicy::default() };
            let plan = plan_tick(&due("2027-01-01T10:05:00Z", policy), Some(&every_five()), now);
            assert_eq!(count(&plan, RunStatus::Queued), queued, "{missed:?}");
            assert_eq!(count(&plan, RunStatus::Missed), recorded_missed, "{missed:?}");
            assert_eq!(count(&plan, RunStatus::Skipped), skipped, "{missed:?}");
        }
        // run_all keeps the most recent ones.
        let policy = JobPolicy {
            missed: MissedPolicy::RunAll { max_runs: 2 },
            overlap: OverlapPolicy::Allow,
            ..JobPolicy::default()
        };
        let plan = plan_tick(&due("2027-01-01T10:05:00Z", policy), Some(&every_five()), now);
        assert_eq!(plan.queued(), vec![at("2027-01-01T13:00:00Z"), at("2027-01-01T13:05:00Z")]);
        assert_eq!(
            plan.runs[0].reason.as_deref(),
            Some("no scheduler was running; missed policy run_all: at most 2 catch-up runs")
        );
    }

    #[test]
    fn the_catch_up_window_bounds_what_runs() {
        let policy = JobPolicy {
            catch_up_window: Some(Duration::from_secs(3600)),
            missed: MissedPolicy::RunAll { max_runs: 100 },
            overlap: OverlapPolicy::Allow,
            ..JobPolicy::default()
        };
        let plan = plan_tick(
            &due("2027-01-01T10:05:00Z", policy),
            Some(&every_five()),
            at("2027-01-01T13:07:30Z"),
        );
        // 12:10 to 13:05 are within the hour.
        assert_eq!(count(&plan, RunStatus::Queued), 12);
        assert_eq!(
            plan.runs[0].reason.as_deref(),
            Some("no scheduler was running; older than the catch-up window of 1h")
        );
        // run_once with nothing in the window runs nothing.
        let policy =
            JobPolicy { catch_up_window: Some(Duration::from_secs(3600)), ..JobPolicy::default() };
        let daily = Schedule::parse("0 3 * * *", "UTC").unwrap();
        let job = DueJob {
            next_run_at: at("2027-01-01T03:00:00Z"),
            ..due("2027-01-01T03:00:00Z", policy)
        };
        let plan = plan_tick(&job, Some(&daily), at("2027-01-01T09:00:00Z"));
        assert_eq!(rows(&plan).len(), 1);
        assert_eq!(plan.runs[0].status, RunStatus::Missed);
    }

    #[test]
    fn a_paused_gap_says_so() {
        let mut job = due(
            "2027-01-01T10:05:00Z",
            JobPolicy { missed: MissedPolicy::Skip, ..JobPolicy::default() },
        );
        job.paused_between = Some((at("2027-01-01T10:00:00Z"), at("2027-01-01T10:12:00Z")));
        let plan = plan_tick(&job, Some(&every_five()), at("2027-01-01T10:20:30Z"));
        let reasons: Vec<_> =
            plan.runs.iter().map(|run| run.reason.clone().unwrap_or_default()).collect();
        assert_eq!(
            reasons[..3],
            [
                "the job was paused; missed policy skip",
                "the job was paused; missed policy skip",
                "no scheduler was running; missed policy skip"
            ]
        );
        assert_eq!(plan.queued(), vec![at("2027-01-01T10:20:00Z")]);
    }

    #[test]
    fn overlap_policies_with_a_run_still_running() {
        let now = at("2027-01-01T10:05:00Z");
        let table: [(OverlapPolicy, RunStatus, Option<&str>, bool); 4] = [
            (OverlapPolicy::Skip, RunStatus::Skipped, Some("previous run still running"), false),
            (OverlapPolicy::QueueOne, RunStatus::Queued, None, false),
            (OverlapPolicy::Allow, RunStatus::Queued, None, false),
            (OverlapPolicy::CancelPrevious, RunStatus::Queued, None, true),
        ];
        for (overlap, status, reason, supersedes) in table {
            let mut job =
                due("2027-01-01T10:05:00Z", JobPolicy { overlap, ..JobPolicy::default() });
            job.running = 1;
            let plan = plan_tick(&job, Some(&every_five()), now);
            assert_eq!(rows(&plan), vec![(now, status, reason.map(str::to_owned))], "{overlap}");
            assert_eq!(plan.supersede.is_some(), supersedes, "{overlap}");
            let waits = plan.runs[0].waited_for == Some(WaitedFor::Overlap);
            assert_eq!(waits, overlap.exclusive(), "{overlap}");
        }
    }

    #[test]
    fn queue_one_keeps_one_waiting_and_skip_counts_queued_runs() {
        let now = at("2027-01-01T10:05:00Z");
        let mut job = due(
            "2027-01-01T10:05:00Z",
            JobPolicy { overlap: OverlapPolicy::QueueOne, ..JobPolicy::default() },
        );
        job.running = 1;
        job.queued = 1;
        let plan = plan_tick(&job, Some(&every_five()), now);
        assert_eq!(
            rows(&plan),
            vec![(
                now,
                RunStatus::Skipped,
                Some("a run of this job is already waiting (overlap queue_one)".into())
            )]
        );
        let mut job = due("2027-01-01T10:05:00Z", JobPolicy::default());
        job.queued = 1;
        let plan = plan_tick(&job, Some(&every_five()), now);
        assert_eq!(
            rows(&plan),
            vec![(now, RunStatus::Skipped, Some("previous run still queued".into()))]
        );
    }

    #[test]
    fn the_tally_counts_what_did_not_run_by_status_and_reason() {
        let mut tally = NotRunTally::new();
        let job = due("2027-01-01T10:05:00Z", JobPolicy::default());
        plan_tick_tallied(&job, Some(&every_five()), None, at("2027-01-01T13:07:30Z"), &mut tally);
        let mut job = due("2027-01-01T13:10:00Z", JobPolicy::default());
        job.running = 1;
        plan_tick_tallied(&job, Some(&every_five()), None, at("2027-01-01T13:10:00Z"), &mut tally);
        let expected = NotRunTally::from([
            ((RunStatus::Missed, NotRunReason::NoScheduler), 36),
            ((RunStatus::Skipped, NotRunReason::PreviousRunning), 1),
        ]);
        assert_eq!(tally, expected);
    }

    #[test]
    fn a_short_stall_runs_every_occurrence_unless_they_overlap() {
        let schedule = Schedule::parse("*/5 * * * * *", "UTC").unwrap();
        let now = at("2027-01-01T10:00:21Z");
        let allow = due(
            "2027-01-01T10:00:05Z",
            JobPolicy { overlap: OverlapPolicy::Allow, ..JobPolicy::default() },
        );
        let plan = plan_tick(&allow, Some(&schedule), now);
        assert_eq!(
            plan.queued(),
            vec![
                at("2027-01-01T10:00:05Z"),
                at("2027-01-01T10:00:10Z"),
                at("2027-01-01T10:00:15Z"),
                at("2027-01-01T10:00:20Z")
            ]
        );
        assert_eq!(plan.next_run_at, Some(at("2027-01-01T10:00:25Z")));
        // With the default (skip), the first queues and the others would overlap it.
        let plan =
            plan_tick(&due("2027-01-01T10:00:05Z", JobPolicy::default()), Some(&schedule), now);
        assert_eq!(plan.queued(), vec![at("2027-01-01T10:00:05Z")]);
        assert_eq!(count(&plan, RunStatus::Skipped), 3);
        // cancel_previous keeps the latest only.
        let cancel = due(
            "2027-01-01T10:00:05Z",
            JobPolicy { overlap: OverlapPolicy::CancelPrevious, ..JobPolicy::default() },
        );
        let plan = plan_tick(&cancel, Some(&schedule), now);
        assert_eq!(plan.queued(), vec![at("2027-01-01T10:00:20Z")]);
        assert_eq!(plan.supersede, None, "nothing earlier is active");
    }

    #[test]
    fn rows_are_bounded_per_tick() {
        let schedule = Schedule::parse("* * * * * *", "UTC").unwrap();
        let job = due("2027-01-01T10:00:00Z", JobPolicy::default());
        let plan = plan_tick(&job, Some(&schedule), at("2027-01-01T13:00:00Z"));
        assert_eq!(plan.runs.len(), MAX_ROWS_PER_TICK);
        let oldest = plan.runs[0].reason.clone().unwrap();
        assert!(
            oldest.ends_with(
                "earlier occurrences since 2027-01-01T10:00:00+00:00 are not recorded one by one"
            ),
            "{oldest}"
        );
        // The last minute is on time: its first occurrence runs, the others would overlap it.
        assert_eq!(plan.queued(), vec![at("2027-01-01T12:59:00Z")]);
        assert_eq!(count(&plan, RunStatus::Skipped), 60);
    }

    #[test]
    fn jitter_delays_readiness_but_not_the_occurrence() {
        let policy =
            JobPolicy { jitter_window: Some(Duration::from_secs(120)), ..JobPolicy::default() };
        let mut job = due("2027-01-01T10:05:00Z", policy.clone());
        job.job_id = Uuid::from_u128(7);
        let plan = plan_tick(&job, Some(&every_five()), at("2027-01-01T10:05:00Z"));
        let run = &plan.runs[0];
        assert_eq!(run.scheduled_at, at("2027-01-01T10:05:00Z"));
        let offset = chrono::Duration::from_std(policy.start_offset(job.job_id)).unwrap();
        assert_eq!(run.not_before, run.scheduled_at + offset);
        assert!(offset > chrono::Duration::zero() && offset < chrono::Duration::seconds(120));
    }

    #[test]
    fn unparseable_schedule_never_fires() {
        let plan = plan_tick(
            &due("2027-01-01T10:05:00Z", JobPolicy::default()),
            None,
            at("2027-01-01T10:05:00Z"),
        );
        assert!(plan.runs.is_empty());
        assert_eq!(plan.next_run_at, None);
    }
}
