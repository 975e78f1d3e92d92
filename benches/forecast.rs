//! The forecast benchmark: `cargo bench --bench forecast`.
//!
//! 10,000 jobs over 24 hours, a realistic mix (every 5 and 15 minutes, hourly, daily at spread
//! times, a midnight herd, weekdays at 09:00; six zones; one job in ten with a holiday
//! calendar, one in five with a jitter window), computed by `rota::forecast::forecast` from
//! the cron engine's iterator. Prints the median of the repetitions next to the starts counted
//! (the cost follows the starts, not the minutes of the window). Timings are measured, never
//! asserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rota::calendars::{dates_calendar, parse_ics, CalendarRule, NamedCalendar, OnExcluded};
use rota::cron::Schedule;
use rota::forecast::{forecast, ForecastJob};

const JOBS: usize = 10_000;
const ZONES: &[&str] =
    &["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"];

fn expression(index: usize) -> String {
    match index % 10 {
        0 => "*/5 * * * *".to_owned(),
        1 => "*/15 * * * *".to_owned(),
        2 | 3 => format!("{} * * * *", index % 60),
        4..=7 => format!("{} {} * * *", index % 60, (index / 60) % 24),
        8 => "0 0 * * *".to_owned(),
        _ => "0 9 * * MON-FRI".to_owned(),
    }
}

fn main() {
    let schedules: Vec<Schedule> = (0..JOBS)
        .map(|index| Schedule::parse(&expression(index), ZONES[index % ZONES.len()]).unwrap())
        .collect();
    let holidays: Vec<chrono::NaiveDate> =
        ["2027-01-01", "2027-04-02", "2027-05-01", "2027-12-24", "2027-12-25", "2027-12-26"]
            .iter()
            .map(|day| day.parse().unwrap())
            .collect();
    let calendar = parse_ics(&dates_calendar(&holidays, &[])).unwrap();
    let rule = CalendarRule {
        exclude: vec![NamedCalendar { name: "holidays".into(), calendar: Arc::new(calendar) }],
        only: None,
        on_excluded: OnExcluded::Next,
    };
    let tenants: Vec<String> = (0..100).map(|index| format!("tenant-{index:03}")).collect();
    let jobs: Vec<ForecastJob<'_>> = schedules
        .iter()
        .enumerate()
        .map(|(index, schedule)| ForecastJob {
            tenant: &tenants[index % tenants.len()],
            name: format!("{}/job-{index:05}", tenants[index % tenants.len()]),
            schedule,
            rule: (index % 10 == 3).then_some(&rule),
            offset: Duration::from_secs(if index % 5 == 0 { (index % 240) as u64 } else { 0 }),
            jittered: index % 5 == 0,
        })
        .collect();
    // A window with a holiday in it (the calendar's lookups are part of the cost).
    let from: DateTime<Utc> = "2027-12-24T06:00:00Z".parse().unwrap();
    let to = from + chrono::Duration::hours(24);
    let quick = std::env::args().any(|arg| arg == "--quick");
    let repetitions = if quick { 3 } else { 11 };
    let mut timings = Vec::new();
    let mut result = None;
    for _ in 0..repetitions {
        let started = Instant::now();
        let computed = forecast(&jobs, from, to);
        timings.push(started.elapsed());
        result = Some(computed);
    }
    timings.sort();
    let median = timings[timings.len() / 2];
    let result = result.unwrap();
    println!("| jobs | window | starts | herds | median | per start |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {JOBS} | 24 h | {} | {} | {:.1} ms | {:.0} ns |",
        result.starts,
        result.herds.len(),
        median.as_secs_f64() * 1000.0,
        median.as_secs_f64() * 1e9 / result.starts as f64,
    );
}
