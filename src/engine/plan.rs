//! What the tick does with a due job: pure policy, no I/O, table-tested.

use chrono::{DateTime, Utc};

use crate::cron::Schedule;
use crate::store::{DueJob, TickPlan};

/// Occurrences at most this late are not "missed": a busy or briefly stalled engine runs each
/// of them (as Quartz's misfire threshold). Older ones fall under the catch-up policy.
pub const MISFIRE_THRESHOLD: chrono::Duration = chrono::Duration::seconds(60);

/// Bound on occurrences enqueued for one job in one tick (a six-field schedule firing every
/// second after a 60-second stall is 60).
const MAX_ENQUEUE_PER_TICK: usize = 1000;

/// Decides which occurrences of a due job to enqueue at `now` and where its next run moves.
///
/// Every occurrence within [`MISFIRE_THRESHOLD`] of `now` runs. After longer downtime, when no
/// occurrence is that recent, only the latest missed one runs (one catch-up run for the whole
/// gap). The next run is computed from `now`, so a restart never causes a burst of backlog.
pub fn plan_tick(due: &DueJob, schedule: Option<&Schedule>, now: DateTime<Utc>) -> TickPlan {
    let Some(schedule) = schedule else {
        // An unparseable stored schedule never fires; the engine logs it.
        return TickPlan { enqueue: Vec::new(), next_run_at: None };
    };
    let one_ms = chrono::Duration::milliseconds(1);
    let from = due.next_run_at.max(now - MISFIRE_THRESHOLD);
    let mut enqueue = Vec::new();
    let mut next = schedule.next_after(from - one_ms);
    while let Some(occurrence) = next.filter(|occurrence| *occurrence <= now) {
        enqueue.push(occurrence);
        if enqueue.len() >= MAX_ENQUEUE_PER_TICK {
            break;
        }
        next = schedule.next_after(occurrence);
    }
    if enqueue.is_empty() {
        let latest_due = schedule.prev_before(now + one_ms);
        enqueue.extend(latest_due.filter(|latest| *latest >= due.next_run_at));
    }
    TickPlan { enqueue, next_run_at: schedule.next_after(now) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn due(next_run_at: &str) -> DueJob {
        DueJob {
            job_id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            schedule: "*/5 * * * *".into(),
            timezone: "UTC".into(),
            next_run_at: at(next_run_at),
        }
    }

    #[test]
    fn on_time_tick_enqueues_the_due_occurrence() {
        let schedule = Schedule::parse("*/5 * * * *", "UTC").unwrap();
        let plan =
            plan_tick(&due("2027-01-01T10:05:00Z"), Some(&schedule), at("2027-01-01T10:05:00Z"));
        assert_eq!(plan.enqueue, vec![at("2027-01-01T10:05:00Z")]);
        assert_eq!(plan.next_run_at, Some(at("2027-01-01T10:10:00Z")));
    }

    #[test]
    fn after_downtime_only_the_latest_occurrence_runs() {
        let schedule = Schedule::parse("*/5 * * * *", "UTC").unwrap();
        let plan =
            plan_tick(&due("2027-01-01T10:05:00Z"), Some(&schedule), at("2027-01-01T13:07:30Z"));
        assert_eq!(plan.enqueue, vec![at("2027-01-01T13:05:00Z")]);
        assert_eq!(plan.next_run_at, Some(at("2027-01-01T13:10:00Z")));
    }

    #[test]
    fn a_short_stall_runs_every_occurrence() {
        let schedule = Schedule::parse("*/5 * * * * *", "UTC").unwrap();
        let plan =
            plan_tick(&due("2027-01-01T10:00:05Z"), Some(&schedule), at("2027-01-01T10:00:21Z"));
        assert_eq!(
            plan.enqueue,
            vec![
                at("2027-01-01T10:00:05Z"),
                at("2027-01-01T10:00:10Z"),
                at("2027-01-01T10:00:15Z"),
                at("2027-01-01T10:00:20Z")
            ]
        );
        assert_eq!(plan.next_run_at, Some(at("2027-01-01T10:00:25Z")));
    }

    #[test]
    fn unparseable_schedule_never_fires() {
        let plan = plan_tick(&due("2027-01-01T10:05:00Z"), None, at("2027-01-01T10:05:00Z"));
        assert!(plan.enqueue.is_empty());
        assert_eq!(plan.next_run_at, None);
    }
}
