//! Daylight-saving effects on a schedule, explained for people.
//!
//! For every offset transition in a period, [`effects`] works out which matching wall times the
//! transition skips or repeats and what the scheduler does about them, using the same rules as
//! the engine (see [`super::engine`]).

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::calendar::wall_to_naive;
use super::engine::Engine;
use super::zone::{Resolution, Step};

/// How many affected wall times an effect lists (it always counts all of them).
const LISTED_TIMES: usize = 20;
/// Counting stops here; only a six-field expression in a day-long gap comes near.
const COUNT_LIMIT: usize = 1_000_000;

/// What a transition does to a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DstEffectKind {
    /// Matching wall times fall in a spring-forward gap; the job runs once, at the transition.
    MovedToTransition,
    /// Matching wall times fall in a spring-forward gap (or a jump of three hours or more) and
    /// do not run.
    Skipped,
    /// Matching wall times happen twice; the job runs only in the first pass.
    RunsOnce,
    /// Matching wall times happen twice; the job runs in both passes.
    RunsTwice,
}

/// One daylight-saving (or other offset) transition that changes when a schedule runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DstEffect {
    /// The local date of the affected wall times.
    pub date: NaiveDate,
    pub kind: DstEffectKind,
    /// The instant the offset changes.
    pub transition: DateTime<Utc>,
    /// The skipped (gap) or repeated (overlap) wall times: `[window_start, window_end)`.
    pub window_start: NaiveDateTime,
    pub window_end: NaiveDateTime,
    /// The matching wall times in the window (the first twenty).
    pub affected: Vec<NaiveDateTime>,
    /// How many matching wall times the window holds.
    pub affected_count: u32,
    /// When the job runs instead, for [`DstEffectKind::MovedToTransition`].
    pub runs_at: Option<DateTime<Utc>>,
    /// The zone's abbreviation before and after the transition ("CEST", "CET").
    pub abbreviation_before: String,
    pub abbreviation_after: String,
    /// Whether times are shown with seconds (six-field expressions).
    pub with_seconds: bool,
}

fn abbreviation(tz: Tz, instant: i64) -> String {
    DateTime::from_timestamp(instant, 0)
        .map(|utc| utc.with_timezone(&tz).format("%Z").to_string())
        .unwrap_or_default()
}

/// Every effect of the transitions in `[from, to)`.
pub(crate) fn effects(engine: &Engine<'_>, from: i64, to: i64) -> Vec<DstEffect> {
    let zone = engine.zone;
    let resolution = engine.resolution;
    let unit = resolution.seconds();
    let mut found = Vec::new();
    for index in zone.transitions_between(from, to) {
        if !zone.start_is_tick(index, resolution) {
            continue;
        }
        let transition = zone.start(index);
        let previous_wall = resolution.floor(transition - 1 + zone.offset(index - 1));
        let wall_now = resolution.floor(transition + zone.offset(index));
        let virtual_before = zone.virtual_before(index, resolution);
        let step = Step::classify(wall_now.saturating_sub(virtual_before), unit);
        let forward = wall_now > previous_wall;
        // Gap: the wall times after the last one seen and before the new one never happen.
        // Overlap: the wall times from the new one up to the last one seen happen again.
        let (window_start, window_end, lower, upper) = if forward {
            let lower = virtual_before.max(previous_wall);
            (previous_wall + unit, wall_now, lower, wall_now - 1)
        } else {
            (wall_now, previous_wall + unit, wall_now - 1, previous_wall)
        };
        let affected_count = engine.count_between(lower, upper, COUNT_LIMIT);
        if affected_count == 0 {
            continue;
        }
        let kind = match (forward, step, engine.fixed) {
            (true, Step::Gap, true) | (true, Step::SmallGap, _) => DstEffectKind::MovedToTransition,
            (true, _, _) => DstEffectKind::Skipped,
            (false, Step::Repeat, true) => DstEffectKind::RunsOnce,
            (false, _, _) => DstEffectKind::RunsTwice,
        };
        let affected: Vec<NaiveDateTime> = engine
            .matches_between(lower, upper, LISTED_TIMES)
            .into_iter()
            .filter_map(wall_to_naive)
            .collect();
        let (Some(start), Some(end), Some(at)) = (
            wall_to_naive(window_start),
            wall_to_naive(window_end),
            DateTime::from_timestamp(transition, 0),
        ) else {
            continue;
        };
        // The first skipped or repeated wall time names the day.
        let date = start.date();
        found.push(DstEffect {
            date,
            kind,
            transition: at,
            window_start: start,
            window_end: end,
            affected,
            affected_count: u32::try_from(affected_count).unwrap_or(u32::MAX),
            runs_at: (kind == DstEffectKind::MovedToTransition).then_some(at),
            abbreviation_before: abbreviation(zone.tz(), transition - 1),
            abbreviation_after: abbreviation(zone.tz(), transition),
            with_seconds: resolution == Resolution::Second,
        });
    }
    found
}

impl DstEffect {
    fn clock(&self, wall: NaiveDateTime) -> String {
        if self.with_seconds || wall.format("%S").to_string() != "00" {
            wall.format("%H:%M:%S").to_string()
        } else {
            wall.format("%H:%M").to_string()
        }
    }

    /// The window as "02:00-02:59" (its last unit, not its exclusive end).
    fn window(&self) -> String {
        let unit = if self.with_seconds { 1 } else { 60 };
        let last = self.window_end - chrono::TimeDelta::seconds(unit);
        format!("{}-{}", self.clock(self.window_start), self.clock(last))
    }

    /// The affected times as "02:00, 02:15 and 02:30" (with "and N more" past the list).
    fn affected_list(&self) -> String {
        let mut words: Vec<String> = self.affected.iter().map(|&wall| self.clock(wall)).collect();
        let unlisted = self.affected_count as usize - words.len().min(self.affected_count as usize);
        if unlisted > 0 {
            words.push(format!("{unlisted} more"));
        }
        match words.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        }
    }
}

impl fmt::Display for DstEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = self.date.format("%Y-%m-%d");
        let single = self.affected_count == 1;
        match self.kind {
            DstEffectKind::MovedToTransition => {
                // A gap ends exactly at the clock reading of the transition instant.
                let runs_at = self.clock(self.window_end);
                if single {
                    write!(
                        f,
                        "{date}: {} does not exist, runs at {runs_at} {}",
                        self.affected_list(),
                        self.abbreviation_after
                    )
                } else {
                    write!(
                        f,
                        "{date}: {} do not exist, runs once at {runs_at} {}",
                        self.affected_list(),
                        self.abbreviation_after
                    )
                }
            }
            DstEffectKind::Skipped => write!(
                f,
                "{date}: {} does not exist, {} skipped",
                self.window(),
                if single { "1 run".to_owned() } else { format!("{} runs", self.affected_count) }
            ),
            DstEffectKind::RunsOnce if single => write!(
                f,
                "{date}: {} happens twice, runs once at {} {}",
                self.affected_list(),
                self.affected_list(),
                self.abbreviation_before
            ),
            DstEffectKind::RunsOnce => write!(
                f,
                "{date}: {} happen twice, run once each, in the first pass ({})",
                self.affected_list(),
                self.abbreviation_before
            ),
            DstEffectKind::RunsTwice => write!(
                f,
                "{date}: {} happens twice, runs in both passes ({} and {})",
                self.window(),
                self.abbreviation_before,
                self.abbreviation_after
            ),
        }
    }
}
