//! The load forecast: when every enabled job will start over the next hours, the busiest
//! minutes, and herds (many starts in the same second) with a jitter window that would spread
//! them.
//!
//! Each job's starts come from its [`Timetable`] (the cron engine's iterator with the job's
//! calendars: excluded occurrences do not start, moved ones start where they moved) plus its
//! stable jitter offset. Nothing scans minutes: the cost is the number of starts, so 10,000
//! hourly and daily jobs over a day cost a few hundred thousand iterator steps
//! (`cargo bench --bench forecast`). Pure: the caller gives the jobs and the window.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::calendars::{CalendarRule, Timetable};
use crate::cron::Schedule;

/// A second with at least this many starts is a herd.
pub const HERD_THRESHOLD: u64 = 20;

/// The suggested jitter window spreads a herd to at most this many starts a second.
pub const SPREAD_TARGET_PER_SECOND: u64 = 5;

/// How many of the busiest minutes a forecast lists.
pub const BUSIEST_LISTED: usize = 10;

/// How many job names a herd lists.
const HERD_JOBS_LISTED: usize = 10;

/// One job as the forecast sees it.
#[derive(Debug, Clone)]
pub struct ForecastJob<'a> {
    pub tenant: &'a str,
    /// `tenant/name`, for herds.
    pub name: String,
    pub schedule: &'a Schedule,
    pub rule: Option<&'a CalendarRule>,
    /// The job's stable start offset after each instant (its jitter).
    pub offset: Duration,
    /// Whether the job already spreads its starts (a jitter window).
    pub jittered: bool,
}

/// A minute and its starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusyMinute {
    /// The minute's first instant (RFC 3339, UTC).
    pub minute: DateTime<Utc>,
    pub starts: u64,
    pub by_tenant: BTreeMap<String, u64>,
}

/// Many starts in the same second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Herd {
    pub second: DateTime<Utc>,
    pub starts: u64,
    /// How many of them have no jitter window (the ones a window would spread).
    pub unjittered: u64,
    /// The first jobs of the herd (`tenant/name`), by name.
    pub jobs: Vec<String>,
    /// A jitter window that spreads the herd to at most [`SPREAD_TARGET_PER_SECOND`] starts a
    /// second, in whole minutes.
    pub suggested_jitter_window_seconds: u64,
}

/// When everything starts in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Forecast {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub jobs: u64,
    pub starts: u64,
    /// The busiest minutes, busiest first (then earliest).
    pub busiest: Vec<BusyMinute>,
    /// Herds, largest first (then earliest).
    pub herds: Vec<Herd>,
    /// Starts per minute of the window, in order (for a chart).
    #[serde(skip)]
    pub per_minute: BTreeMap<i64, u64>,
    /// Starts per (minute, tenant), for the what-if.
    #[serde(skip)]
    pub tenant_minutes: HashMap<(i64, String), u64>,
    /// Starts per second, for the what-if.
    #[serde(skip)]
    pub per_second: HashMap<i64, u64>,
}

/// One start of a job being edited, among everything else that starts then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatIfStart {
    pub at: DateTime<Utc>,
    /// Starts in that minute across the fleet (this job included).
    pub fleet_minute: u64,
    /// Starts in that minute in the job's tenant (this job included).
    pub tenant_minute: u64,
    /// Starts in that very second (this job included).
    pub same_second: u64,
    /// The second is a herd ([`HERD_THRESHOLD`] starts or more).
    pub herd: bool,
}

impl Forecast {
    /// How crowded each of `starts` (a job's own, already counted in the forecast) is.
    pub fn crowding(&self, tenant: &str, starts: &[DateTime<Utc>]) -> Vec<WhatIfStart> {
        starts
            .iter()
            .map(|at| {
                let second = at.timestamp();
                let minute = second.div_euclid(60);
                let same_second = self.per_second.get(&second).copied().unwrap_or(0);
                WhatIfStart {
                    at: *at,
                    fleet_minute: self.per_minute.get(&minute).copied().unwrap_or(0),
                    tenant_minute: self
                        .tenant_minutes
                        .get(&(minute, tenant.to_owned()))
                        .copied()
                        .unwrap_or(0),
                    same_second,
                    herd: same_second >= HERD_THRESHOLD,
                }
            })
            .collect()
    }
}

/// The starts of `jobs` in `[from, to)`.
pub fn forecast(jobs: &[ForecastJob<'_>], from: DateTime<Utc>, to: DateTime<Utc>) -> Forecast {
    // Per minute: starts by tenant index; per second: the jobs starting.
    let mut tenants: Vec<&str> = Vec::new();
    let mut minutes: HashMap<i64, HashMap<usize, u64>> = HashMap::new();
    let mut seconds: HashMap<i64, Vec<u32>> = HashMap::new();
    let mut total = 0u64;
    let horizon = to - from;
    for (index, job) in jobs.iter().enumerate() {
        let tenant = match tenants.iter().position(|known| *known == job.tenant) {
            Some(position) => position,
            None => {
                tenants.push(job.tenant);
                tenants.len() - 1
            }
        };
        let offset = chrono::Duration::from_std(job.offset).unwrap_or_default();
        // Occurrences up to an offset before the window start inside it.
        let timetable = Timetable::new(job.schedule, job.rule);
        let start = from - offset - chrono::Duration::seconds(1);
        for slot in timetable.runs_after(start, horizon + offset) {
            let at = slot.at + offset;
            if at >= to {
                break;
            }
            if at < from {
                continue;
            }
            total += 1;
            let second = at.timestamp();
            *minutes.entry(second.div_euclid(60)).or_default().entry(tenant).or_default() += 1;
            seconds.entry(second).or_default().push(index as u32);
        }
    }
    let per_minute: BTreeMap<i64, u64> =
        minutes.iter().map(|(minute, counts)| (*minute, counts.values().sum())).collect();
    let mut ranked: Vec<(i64, u64)> = per_minute.iter().map(|(m, s)| (*m, *s)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let busiest = ranked
        .into_iter()
        .take(BUSIEST_LISTED)
        .filter_map(|(minute, starts)| {
            let by_tenant = minutes[&minute]
                .iter()
                .map(|(tenant, count)| (tenants[*tenant].to_owned(), *count))
                .collect();
            Some(BusyMinute {
                minute: DateTime::from_timestamp(minute * 60, 0)?,
                starts,
                by_tenant,
            })
        })
        .collect();
    let mut herds: Vec<Herd> = seconds
        .iter()
        .filter(|(_, starting)| starting.len() as u64 >= HERD_THRESHOLD)
        .filter_map(|(&second, starting)| {
            let mut names: Vec<&str> =
                starting.iter().map(|index| jobs[*index as usize].name.as_str()).collect();
            names.sort_unstable();
            let unjittered =
                starting.iter().filter(|index| !jobs[**index as usize].jittered).count() as u64;
            Some(Herd {
                second: DateTime::from_timestamp(second, 0)?,
                starts: starting.len() as u64,
                unjittered,
                jobs: names.into_iter().take(HERD_JOBS_LISTED).map(str::to_owned).collect(),
                suggested_jitter_window_seconds: suggested_window(starting.len() as u64),
            })
        })
        .collect();
    herds.sort_by(|a, b| b.starts.cmp(&a.starts).then(a.second.cmp(&b.second)));
    let tenant_minutes = minutes
        .iter()
        .flat_map(|(minute, counts)| {
            counts.iter().map(|(tenant, count)| ((*minute, tenants[*tenant].to_owned()), *count))
        })
        .collect();
    let per_second =
        seconds.iter().map(|(second, starting)| (*second, starting.len() as u64)).collect();
    Forecast {
        from,
        to,
        jobs: jobs.len() as u64,
        starts: total,
        busiest,
        herds,
        per_minute,
        tenant_minutes,
        per_second,
    }
}

/// The whole minutes that spread `starts` to at most [`SPREAD_TARGET_PER_SECOND`] a second.
pub fn suggested_window(starts: u64) -> u64 {
    let seconds = starts.div_ceil(SPREAD_TARGET_PER_SECOND);
    seconds.div_ceil(60).max(1) * 60
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::calendars::{dates_calendar, parse_ics, NamedCalendar, OnExcluded};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// The brute force: every second of the window, every job, does it start then? (Its
    /// schedule's next occurrence after the second before, shifted by its offset, on a day no
    /// calendar excludes.)
    fn brute_force(
        jobs: &[ForecastJob<'_>],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> BTreeMap<i64, u64> {
        let mut counts = BTreeMap::new();
        let mut second = from;
        while second < to {
            for job in jobs {
                let offset = chrono::Duration::from_std(job.offset).unwrap();
                let nominal = second - offset;
                let due = job.schedule.next_after(nominal - chrono::Duration::seconds(1));
                let excluded = job
                    .rule
                    .is_some_and(|rule| rule.verdict(nominal, job.schedule.timezone()).is_some());
                if due == Some(nominal) && !excluded {
                    *counts.entry(second.timestamp().div_euclid(60)).or_insert(0) += 1;
                }
            }
            second += chrono::Duration::seconds(1);
        }
        counts
    }

    #[test]
    fn the_forecast_matches_a_brute_force_count() {
        let schedules: Vec<Schedule> = [
            ("*/7 * * * *", "UTC"),
            ("0 * * * *", "Europe/Berlin"),
            ("30 1,2,3 * * *", "America/New_York"),
            ("*/20 * * * * *", "UTC"),
            ("0 0 * * *", "Asia/Kolkata"),
        ]
        .iter()
        .map(|(expression, zone)| Schedule::parse(expression, zone).unwrap())
        .collect();
        let closed = parse_ics(&dates_calendar(&["2027-03-14".parse().unwrap()], &[])).unwrap();
        let rule = CalendarRule {
            exclude: vec![NamedCalendar { name: "closed".into(), calendar: Arc::new(closed) }],
            only: None,
            on_excluded: OnExcluded::Skip,
        };
        let jobs: Vec<ForecastJob<'_>> = schedules
            .iter()
            .enumerate()
            .map(|(index, schedule)| ForecastJob {
                tenant: if index % 2 == 0 { "acme" } else { "globex" },
                name: format!("job{index}"),
                schedule,
                rule: (index % 2 == 1).then_some(&rule),
                offset: Duration::from_secs(index as u64 * 13),
                jittered: index > 2,
            })
            .collect();
        // Across New York's spring change (2027-03-14) and the excluded day's edges.
        let (from, to) = (at("2027-03-13T22:00:00Z"), at("2027-03-14T09:00:00Z"));
        let result = forecast(&jobs, from, to);
        assert_eq!(result.per_minute, brute_force(&jobs, from, to));
        assert_eq!(result.starts, result.per_minute.values().sum::<u64>());
        let busiest = &result.busiest[0];
        assert_eq!(busiest.starts, *result.per_minute.values().max().unwrap());
        assert_eq!(busiest.by_tenant.values().sum::<u64>(), busiest.starts);
    }

    #[test]
    fn a_herd_is_found_and_a_jitter_window_offered() {
        let midnight = Schedule::parse("0 0 * * *", "UTC").unwrap();
        let jobs: Vec<ForecastJob<'_>> = (0..120)
            .map(|index| ForecastJob {
                tenant: "acme",
                name: format!("acme/report-{index:03}"),
                schedule: &midnight,
                rule: None,
                offset: Duration::ZERO,
                jittered: false,
            })
            .collect();
        let result = forecast(&jobs, at("2027-01-01T12:00:00Z"), at("2027-01-02T12:00:00Z"));
        assert_eq!(result.herds.len(), 1);
        let herd = &result.herds[0];
        assert_eq!(
            (herd.second, herd.starts, herd.unjittered),
            (at("2027-01-02T00:00:00Z"), 120, 120)
        );
        assert_eq!(herd.jobs.len(), 10);
        assert_eq!(herd.jobs[0], "acme/report-000");
        // 120 starts at 5 a second: 24 seconds, offered as one minute.
        assert_eq!(herd.suggested_jitter_window_seconds, 60);
        assert_eq!(suggested_window(10_000), 2040);
        assert_eq!(result.busiest[0].minute, at("2027-01-02T00:00:00Z"));
    }
}
