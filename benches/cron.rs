//! Next-occurrence speed: Rota against the `croner` and `cron` crates and a minute-by-minute
//! scan (the design Rota replaced), on the same expressions and the same starting instants.
//!
//! Run with `cargo bench --bench cron` (add `-- --quick` for a faster, rougher run). After the
//! criterion groups the bench prints a markdown table of medians, timed again in-process so
//! that the table does not depend on criterion's files.

use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use criterion::{BenchmarkId, Criterion, SamplingMode};

/// How long the minute scan looks before giving up, like the seed implementation did.
const SCAN_LIMIT_MINUTES: i64 = 366 * 24 * 60;

/// One expression of the mix.
struct Case {
    name: &'static str,
    /// Rota and croner syntax (five fields).
    expression: &'static str,
    /// The `cron` crate's syntax (seconds first, weekday names), when it can express the same
    /// schedule; it cannot express `L` or `#` and combines the day fields with AND.
    cron_crate: Option<&'static str>,
    tz: &'static str,
    after: &'static str,
    /// The minute scan's field check, written out by hand.
    scan_matches: fn(&NaiveDateTime) -> bool,
    /// Extra rows outside the comparison mix (croner reads them differently); they are left
    /// out of the geometric means.
    rota_only: bool,
}

fn last_day(wall: &NaiveDateTime) -> u32 {
    (28..=31).rev().find(|&day| wall.date().with_day(day).is_some()).unwrap_or(28)
}

const CASES: [Case; 10] = [
    Case {
        name: "common: */5 * * * *",
        expression: "*/5 * * * *",
        cron_crate: Some("0 */5 * * * *"),
        tz: "UTC",
        after: "2027-03-10T10:02:30Z",
        scan_matches: |wall| wall.minute() % 5 == 0,
        rota_only: false,
    },
    Case {
        name: "common: 0 9 * * 1-5 (Berlin)",
        expression: "0 9 * * 1-5",
        cron_crate: Some("0 0 9 * * Mon-Fri"),
        tz: "Europe/Berlin",
        after: "2027-03-26T10:00:00Z",
        scan_matches: |wall| {
            wall.minute() == 0
                && wall.hour() == 9
                && (1..=5).contains(&wall.weekday().num_days_from_sunday())
        },
        rota_only: false,
    },
    Case {
        name: "common: 30 2 * * * (New York, DST)",
        expression: "30 2 * * *",
        cron_crate: Some("0 30 2 * * *"),
        tz: "America/New_York",
        after: "2027-03-13T12:00:00Z",
        scan_matches: |wall| wall.minute() == 30 && wall.hour() == 2,
        rota_only: false,
    },
    Case {
        name: "common: 0 0 1 * *",
        expression: "0 0 1 * *",
        cron_crate: Some("0 0 0 1 * *"),
        tz: "UTC",
        after: "2027-03-15T00:00:00Z",
        scan_matches: |wall| wall.minute() == 0 && wall.hour() == 0 && wall.day() == 1,
        rota_only: false,
    },
    Case {
        name: "sparse: 0 0 29 2 *",
        expression: "0 0 29 2 *",
        cron_crate: Some("0 0 0 29 2 *"),
        tz: "UTC",
        after: "2027-11-01T00:00:00Z",
        scan_matches: |wall| {
            wall.minute() == 0 && wall.hour() == 0 && wall.day() == 29 && wall.month() == 2
        },
        rota_only: false,
    },
    Case {
        name: "sparse: 0 0 31 * 5",
        expression: "0 0 31 * 5",
        cron_crate: None,
        tz: "UTC",
        after: "2027-03-01T00:00:00Z",
        scan_matches: |wall| {
            wall.minute() == 0
                && wall.hour() == 0
                && (wall.day() == 31 || wall.weekday().num_days_from_sunday() == 5)
        },
        rota_only: false,
    },
    Case {
        name: "sparse: 0 12 * * 5#3",
        expression: "0 12 * * 5#3",
        cron_crate: None,
        tz: "UTC",
        after: "2027-03-20T00:00:00Z",
        scan_matches: |wall| {
            wall.minute() == 0
                && wall.hour() == 12
                && wall.weekday().num_days_from_sunday() == 5
                && (wall.day() - 1) / 7 == 2
        },
        rota_only: false,
    },
    Case {
        name: "sparse: 0 0 L * *",
        expression: "0 0 L * *",
        cron_crate: None,
        tz: "UTC",
        after: "2027-03-01T00:00:00Z",
        scan_matches: |wall| wall.minute() == 0 && wall.hour() == 0 && wall.day() == last_day(wall),
        rota_only: false,
    },
    Case {
        name: "extra: 0 0 29 2 */7 (Berlin)",
        expression: "0 0 29 2 */7",
        cron_crate: None,
        tz: "Europe/Berlin",
        after: "2027-01-01T00:00:00Z",
        scan_matches: |_| false,
        rota_only: true,
    },
    Case {
        name: "extra: 0 0 29 2 */7 prev (Berlin)",
        expression: "0 0 29 2 */7",
        cron_crate: None,
        tz: "Europe/Berlin",
        after: "2060-01-01T00:00:00Z",
        scan_matches: |_| false,
        rota_only: true,
    },
];

/// The implementations compared, in table order.
const IMPLEMENTATIONS: [&str; 4] = ["rota", "croner", "cron", "minute-scan"];

/// One prepared (case, implementation) pair: a closure computing the next occurrence.
type NextFn = Box<dyn Fn() -> Option<i64>>;

fn prepare(case: &Case, implementation: &str) -> Option<NextFn> {
    let tz: Tz = case.tz.parse().expect("known zone");
    let after = DateTime::parse_from_rfc3339(case.after).expect("valid instant").to_utc();
    if case.rota_only && implementation != "rota" {
        return None;
    }
    match implementation {
        "rota" if case.name.contains("prev") => {
            let schedule = rota::cron::Schedule::parse_in(case.expression, tz).expect("valid");
            black_box(schedule.prev_before(after));
            Some(Box::new(move || schedule.prev_before(black_box(after)).map(|at| at.timestamp())))
        }
        "rota" => {
            let schedule = rota::cron::Schedule::parse_in(case.expression, tz).expect("valid");
            // Build the zone table before timing.
            black_box(schedule.next_after(after));
            Some(Box::new(move || schedule.next_after(black_box(after)).map(|at| at.timestamp())))
        }
        "croner" => {
            let cron = croner::Cron::from_str(case.expression).expect("croner parses the mix");
            let start = after.with_timezone(&tz);
            Some(Box::new(move || {
                cron.find_next_occurrence(black_box(&start), false).ok().map(|at| at.timestamp())
            }))
        }
        "cron" => {
            let schedule = cron::Schedule::from_str(case.cron_crate?).expect("cron parses");
            let start = after.with_timezone(&tz);
            Some(Box::new(move || {
                schedule.after(black_box(&start)).next().map(|at| at.timestamp())
            }))
        }
        "minute-scan" => {
            let matches = case.scan_matches;
            Some(Box::new(move || minute_scan(black_box(after), tz, matches)))
        }
        _ => None,
    }
}

/// The baseline: step one minute at a time, convert to the zone's wall clock, check the fields.
fn minute_scan(after: DateTime<Utc>, tz: Tz, matches: fn(&NaiveDateTime) -> bool) -> Option<i64> {
    let first = after.timestamp().div_euclid(60) * 60 + 60;
    (0..SCAN_LIMIT_MINUTES).map(|step| first + step * 60).find(|&instant| {
        DateTime::from_timestamp(instant, 0)
            .map(|utc| matches(&tz.from_utc_datetime(&utc.naive_utc()).naive_local()))
            .unwrap_or(false)
    })
}

fn criterion_groups(criterion: &mut Criterion) {
    for case in &CASES {
        let mut group = criterion.benchmark_group(case.name);
        // Flat sampling keeps the slow minute scan within the time budget.
        group.sampling_mode(SamplingMode::Flat).sample_size(10);
        for implementation in IMPLEMENTATIONS {
            if let Some(next) = prepare(case, implementation) {
                group.bench_function(BenchmarkId::from_parameter(implementation), |bencher| {
                    bencher.iter(&next)
                });
            }
        }
        group.finish();
    }
}

/// Median nanoseconds per call over 21 timed batches of about a millisecond each.
fn median_nanoseconds(next: &NextFn) -> f64 {
    let start = Instant::now();
    black_box(next());
    let single = start.elapsed().max(Duration::from_nanos(1));
    let per_batch =
        (Duration::from_millis(1).as_nanos() / single.as_nanos()).clamp(1, 1_000_000) as u32;
    let mut samples: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                black_box(next());
            }
            start.elapsed().as_nanos() as f64 / f64::from(per_batch)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn geometric_mean(values: &[f64]) -> f64 {
    (values.iter().map(|value| value.ln()).sum::<f64>() / values.len() as f64).exp()
}

fn format_ns(value: Option<f64>) -> String {
    match value {
        Some(value) if value >= 1_000_000.0 => format!("{:.2} ms", value / 1_000_000.0),
        Some(value) if value >= 10_000.0 => format!("{:.1} µs", value / 1_000.0),
        Some(value) => format!("{value:.0} ns"),
        None => "n/a".to_owned(),
    }
}

fn summary() {
    println!("\n## Next occurrence: median time per call\n");
    println!("| expression | rota | croner | cron | minute scan | croner/rota | scan/rota |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let mut croner_ratios = Vec::new();
    let mut scan_ratios = Vec::new();
    let mut sparse_scan_ratios = Vec::new();
    let mut cron_ratios = Vec::new();
    for case in &CASES {
        let time = |implementation: &str| {
            prepare(case, implementation).map(|next| median_nanoseconds(&next))
        };
        let answers: Vec<Option<i64>> = IMPLEMENTATIONS
            .iter()
            .filter_map(|implementation| prepare(case, implementation))
            .map(|next| next())
            .collect();
        let [rota, croner, cron, scan] = IMPLEMENTATIONS.map(time);
        let rota = rota.expect("rota runs every case");
        let ratio = |other: Option<f64>| other.map(|other| other / rota);
        if case.rota_only {
            let what = if case.name.contains("prev") { "prev_before" } else { "next_after" };
            println!(
                "| `{}` {} ({what}, Feb 29 on a Sunday) | {} | | | | | |",
                case.expression,
                case.tz,
                format_ns(Some(rota))
            );
            continue;
        }
        croner_ratios.extend(ratio(croner));
        scan_ratios.extend(ratio(scan));
        cron_ratios.extend(ratio(cron));
        if case.name.starts_with("sparse") {
            sparse_scan_ratios.extend(ratio(scan));
        }
        let agree = if answers.windows(2).all(|pair| pair[0] == pair[1]) {
            ""
        } else {
            " (answers differ)"
        };
        println!(
            "| `{}` {}{agree} | {} | {} | {} | {} | {:.1}x | {:.0}x |",
            case.expression,
            case.tz,
            format_ns(Some(rota)),
            format_ns(croner),
            format_ns(cron),
            format_ns(scan),
            ratio(croner).unwrap_or(f64::NAN),
            ratio(scan).unwrap_or(f64::NAN),
        );
    }
    println!(
        "\nGeometric mean over the mix: croner/rota {:.1}x, minute scan/rota {:.0}x (sparse only: \
         {:.0}x), cron/rota {:.1}x (on the {} expressions the cron crate can express).",
        geometric_mean(&croner_ratios),
        geometric_mean(&scan_ratios),
        geometric_mean(&sparse_scan_ratios),
        geometric_mean(&cron_ratios),
        cron_ratios.len()
    );
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(700))
        .configure_from_args();
    criterion_groups(&mut criterion);
    criterion.final_summary();
    // `cargo test --benches` runs the bench binary in test mode; the table is for real runs.
    if std::env::args().any(|argument| argument == "--bench") {
        summary();
    }
}
