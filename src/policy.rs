//! Run-lifecycle policies: what happens when a run fails, when the previous run is still busy,
//! when occurrences were missed, when a job keeps failing, and how fast a tenant may start runs.
//!
//! Everything here is pure (no I/O, no clock) and table-tested. The store keeps these values in
//! columns (enums as text under SQL `CHECK`s); the engine and the store's claim apply them.
//!
//! Policies are kept apart from a job's definition ([`crate::job::JobDefinition`]) and a
//! tenant's limits ([`crate::store::TenantUpdate`]) on purpose: an editor that knows only the
//! definition (the console's job editor) can replace it without resetting the policies.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::calendars::OnExcluded;
use crate::cron::Schedule;
use crate::error::{Error, Result};
use crate::text_enum::text_enum;

/// Consecutive failed occurrences after which a job is disabled, unless the job or its tenant
/// says otherwise.
pub const DEFAULT_AUTO_DISABLE_AFTER: u32 = 5;
/// Retries of a failed attempt, unless the job or its tenant says otherwise.
pub const DEFAULT_MAX_RETRIES: u32 = 0;
/// How far back missed occurrences are caught up, unless the job says otherwise (or the
/// schedule's period, when that is longer).
pub const DEFAULT_CATCH_UP_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Runs `run_all` starts for one gap, unless the job says otherwise.
pub const DEFAULT_MISSED_MAX_RUNS: u32 = 100;

/// A run that starts more than this after it became ready records what it waited for
/// (`runs.waited_for`); anything shorter is the dispatcher's ordinary latency.
pub const LATE_START: Duration = Duration::from_secs(1);

/// Upper bounds for values typed by people: far above sane settings, they catch typos.
pub const MAX_RETRIES: u32 = 100;
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);
pub const MAX_MULTIPLIER: f64 = 10.0;
pub const MAX_CATCH_UP_WINDOW: Duration = Duration::from_secs(366 * 24 * 3600);
pub const MAX_MISSED_RUNS: u32 = 1000;
pub const MAX_AUTO_DISABLE_AFTER: u32 = 1000;
pub const MAX_RATE_LIMIT_COUNT: u32 = 1_000_000;
pub const MAX_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// What the tick does with an occurrence when the job's previous run is still queued or running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverlapPolicy {
    /// Record the occurrence as `skipped` (with the reason) and do not run it.
    #[default]
    Skip,
    /// Queue it if no run of the job waits yet; it starts when the running one ends.
    QueueOne,
    /// Run it regardless.
    Allow,
    /// Cancel the queued runs, ask the running one to stop, and run this one once it has.
    CancelPrevious,
}

text_enum!(OverlapPolicy, "overlap", {
    Skip => "skip",
    QueueOne => "queue_one",
    Allow => "allow",
    CancelPrevious => "cancel_previous",
});

impl OverlapPolicy {
    /// Whether runs of the job must never run at the same time: the claim starts such a run
    /// only while no other run of the job is running. (`skip` prevents overlap at tick time;
    /// a person's "run now" may still overlap.)
    pub fn exclusive(self) -> bool {
        matches!(self, OverlapPolicy::QueueOne | OverlapPolicy::CancelPrevious)
    }
}

/// What happens to occurrences that fell in a gap (no scheduler running, or the job paused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissedPolicy {
    /// One catch-up run for the whole gap (the latest occurrence within the catch-up window);
    /// the others are recorded `missed`.
    #[default]
    RunOnce,
    /// Run every missed occurrence within the catch-up window, at most `max_runs` (the most
    /// recent ones); the others are recorded `missed`.
    RunAll { max_runs: u32 },
    /// Run none; every missed occurrence is recorded `skipped`.
    Skip,
}

/// The text form of [`MissedPolicy`] (its `max_runs` is a column of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MissedKind {
    RunOnce,
    RunAll,
    Skip,
}

text_enum!(MissedKind, "missed", {
    RunOnce => "run_once",
    RunAll => "run_all",
    Skip => "skip",
});

impl MissedPolicy {
    pub fn kind(self) -> MissedKind {
        match self {
            MissedPolicy::RunOnce => MissedKind::RunOnce,
            MissedPolicy::RunAll { .. } => MissedKind::RunAll,
            MissedPolicy::Skip => MissedKind::Skip,
        }
    }

    /// `run_all` needs a count; the others ignore it.
    pub fn from_parts(kind: MissedKind, max_runs: Option<u32>) -> MissedPolicy {
        match kind {
            MissedKind::RunOnce => MissedPolicy::RunOnce,
            MissedKind::RunAll => {
                MissedPolicy::RunAll { max_runs: max_runs.unwrap_or(DEFAULT_MISSED_MAX_RUNS) }
            }
            MissedKind::Skip => MissedPolicy::Skip,
        }
    }

    pub fn max_runs(self) -> Option<u32> {
        match self {
            MissedPolicy::RunAll { max_runs } => Some(max_runs),
            _ => None,
        }
    }
}

/// How long to wait before the next attempt of a failed occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backoff {
    /// The same delay before every retry.
    Fixed { delay: Duration },
    /// `initial`, then `initial * multiplier`, `initial * multiplier²`, ... never more than `max`.
    Exponential { initial: Duration, multiplier: f64, max: Duration },
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::Exponential {
            initial: Duration::from_secs(10),
            multiplier: 2.0,
            max: Duration::from_secs(3600),
        }
    }
}

/// The text form of [`Backoff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackoffKind {
    Fixed,
    Exponential,
}

text_enum!(BackoffKind, "backoff", {
    Fixed => "fixed",
    Exponential => "exponential",
});

impl Backoff {
    pub fn kind(&self) -> BackoffKind {
        match self {
            Backoff::Fixed { .. } => BackoffKind::Fixed,
            Backoff::Exponential { .. } => BackoffKind::Exponential,
        }
    }

    /// `(kind, initial or fixed delay, multiplier, max)`: the columns it is stored in. A fixed
    /// delay is stored with multiplier 1 and max equal to the delay.
    pub fn parts(&self) -> (BackoffKind, Duration, f64, Duration) {
        match *self {
            Backoff::Fixed { delay } => (BackoffKind::Fixed, delay, 1.0, delay),
            Backoff::Exponential { initial, multiplier, max } => {
                (BackoffKind::Exponential, initial, multiplier, max)
            }
        }
    }

    pub fn from_parts(
        kind: BackoffKind,
        initial: Duration,
        multiplier: f64,
        max: Duration,
    ) -> Backoff {
        match kind {
            BackoffKind::Fixed => Backoff::Fixed { delay: initial },
            BackoffKind::Exponential => Backoff::Exponential { initial, multiplier, max },
        }
    }

    /// The delay before retry number `retry` (1 for the first retry), before jitter.
    pub fn base(&self, retry: u32) -> Duration {
        match *self {
            Backoff::Fixed { delay } => delay,
            Backoff::Exponential { initial, multiplier, max } => {
                let exponent = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
                let millis = initial.as_millis() as f64 * multiplier.powi(exponent);
                let max_millis = max.as_millis() as f64;
                if !millis.is_finite() || millis >= max_millis {
                    max
                } else {
                    Duration::from_millis(millis.round() as u64)
                }
            }
        }
    }
}

/// The retry policy in effect for a run (the job's settings with its tenant's default applied).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Retries after the first attempt: an occurrence runs at most `max_retries + 1` times.
    pub max_retries: u32,
    pub backoff: Backoff,
    /// Each delay is shortened by up to this fraction (0 to 1), by a stable pseudo-random amount
    /// per (job, occurrence, attempt), so that runs that failed together do not retry together.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: DEFAULT_MAX_RETRIES, backoff: Backoff::default(), jitter: 0.1 }
    }
}

impl RetryPolicy {
    /// The delay after attempt `attempt` (1-based) of occurrence `scheduled_at` of `job_id`
    /// failed, before the next attempt; the same inputs always give the same delay.
    pub fn delay(&self, attempt: u32, job_id: Uuid, scheduled_at: DateTime<Utc>) -> Duration {
        let base = self.backoff.base(attempt);
        if self.jitter <= 0.0 {
            return base;
        }
        let hash = stable_hash(&[
            job_id.as_bytes(),
            &scheduled_at.timestamp_millis().to_le_bytes(),
            &attempt.to_le_bytes(),
        ]);
        let fraction = (hash >> 11) as f64 / (1u64 << 53) as f64;
        let factor = 1.0 - self.jitter.min(1.0) * fraction;
        Duration::from_millis((base.as_millis() as f64 * factor).round() as u64)
    }

    /// When attempt `attempt` failed: the delay before the next one, or `None` when the
    /// occurrence has used all its attempts.
    pub fn next_delay(
        &self,
        attempt: u32,
        job_id: Uuid,
        scheduled_at: DateTime<Utc>,
    ) -> Option<Duration> {
        (attempt <= self.max_retries).then(|| self.delay(attempt, job_id, scheduled_at))
    }
}

/// A job's policies, as stored with the job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobPolicy {
    /// `None`: the tenant's default, or [`DEFAULT_MAX_RETRIES`].
    pub max_retries: Option<u32>,
    pub backoff: Backoff,
    pub retry_jitter: f64,
    pub overlap: OverlapPolicy,
    pub missed: MissedPolicy,
    /// Missed occurrences older than this are recorded but never run. `None`: one day, or the
    /// schedule's period when that is longer.
    pub catch_up_window: Option<Duration>,
    /// Failed occurrences in a row that disable the job; `Some(0)` never disables it. `None`:
    /// the tenant's default, or [`DEFAULT_AUTO_DISABLE_AFTER`].
    pub auto_disable_after: Option<u32>,
    /// Re-enabling the job puts it on probation: its first failed occurrence disables it again.
    pub probation: bool,
    /// Spread the job's runs over this window after each scheduled instant, by an offset that
    /// is stable per job ([`jitter_offset`]).
    pub jitter_window: Option<Duration>,
    /// Calendars (by name: the tenant's, else a shared one) whose days and windows the job
    /// does not run in.
    pub exclude_calendars: Vec<String>,
    /// The calendar whose days (or windows) alone the job runs on.
    pub only_calendar: Option<String>,
    /// What an occurrence a calendar excludes does.
    pub on_excluded: OnExcluded,
}

impl Default for JobPolicy {
    fn default() -> Self {
        JobPolicy {
            max_retries: None,
            backoff: Backoff::default(),
            retry_jitter: 0.1,
            overlap: OverlapPolicy::default(),
            missed: MissedPolicy::default(),
            catch_up_window: None,
            auto_disable_after: None,
            probation: false,
            jitter_window: None,
            exclude_calendars: Vec::new(),
            only_calendar: None,
            on_excluded: OnExcluded::Skip,
        }
    }
}

impl JobPolicy {
    /// The retry policy in effect, given the tenant's default number of retries.
    pub fn retry_policy(&self, tenant_default: Option<u32>) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries.or(tenant_default).unwrap_or(DEFAULT_MAX_RETRIES),
            backoff: self.backoff,
            jitter: self.retry_jitter,
        }
    }

    /// The failed occurrences in a row that disable the job, or `None` for never.
    pub fn auto_disable_threshold(&self, tenant_default: Option<u32>) -> Option<u32> {
        let threshold =
            self.auto_disable_after.or(tenant_default).unwrap_or(DEFAULT_AUTO_DISABLE_AFTER);
        (threshold > 0).then_some(threshold)
    }

    /// The catch-up window in effect for `schedule`.
    pub fn catch_up_window_for(&self, schedule: &Schedule) -> Duration {
        self.catch_up_window.unwrap_or_else(|| {
            let period = schedule.min_period().to_std().unwrap_or_default();
            DEFAULT_CATCH_UP_WINDOW.max(period)
        })
    }

    /// How long after its scheduled instant each run of `job_id` becomes ready.
    pub fn start_offset(&self, job_id: Uuid) -> Duration {
        self.jitter_window.map_or(Duration::ZERO, |window| jitter_offset(job_id, window))
    }

    /// Checks every field against its range and against `schedule`; the error names the
    /// field, the value and what is allowed.
    pub fn validate(&self, schedule: &Schedule) -> Result<()> {
        if let Some(retries) = self.max_retries {
            check_at_most("max_retries", retries, MAX_RETRIES)?;
        }
        let (_, initial, multiplier, max) = self.backoff.parts();
        check_duration("backoff_initial", initial, Duration::ZERO, MAX_RETRY_DELAY)?;
        if let Backoff::Exponential { .. } = self.backoff {
            if !(1.0..=MAX_MULTIPLIER).contains(&multiplier) {
                return Err(Error::invalid(
                    "backoff_multiplier",
                    multiplier,
                    format!("allowed 1-{MAX_MULTIPLIER}"),
                ));
            }
            check_duration("backoff_max", max, initial, MAX_RETRY_DELAY)?;
        }
        if !(0.0..=1.0).contains(&self.retry_jitter) {
            return Err(Error::invalid("retry_jitter", self.retry_jitter, "allowed 0-1"));
        }
        if let MissedPolicy::RunAll { max_runs } = self.missed {
            if !(1..=MAX_MISSED_RUNS).contains(&max_runs) {
                return Err(Error::invalid(
                    "missed_max_runs",
                    max_runs,
                    format!("allowed 1-{MAX_MISSED_RUNS}"),
                ));
            }
        }
        let period = schedule.min_period().to_std().unwrap_or_default();
        if let Some(window) = self.catch_up_window {
            check_duration("catch_up_window", window, period, MAX_CATCH_UP_WINDOW).map_err(
                |_| {
                    Error::invalid(
                        "catch_up_window",
                        human_duration(window),
                        format!(
                            "allowed {}-{} (at least the schedule's period)",
                            human_duration(period),
                            human_duration(MAX_CATCH_UP_WINDOW)
                        ),
                    )
                },
            )?;
        }
        if let Some(after) = self.auto_disable_after {
            check_at_most("auto_disable_after", after, MAX_AUTO_DISABLE_AFTER)?;
        }
        for name in &self.exclude_calendars {
            crate::calendars::validate_name("exclude_calendar", name)?;
        }
        if let Some(name) = &self.only_calendar {
            crate::calendars::validate_name("only_calendar", name)?;
            if self.exclude_calendars.contains(name) {
                return Err(Error::invalid(
                    "only_calendar",
                    name,
                    "is also an excluded calendar; allowed: a calendar not in exclude_calendar",
                ));
            }
        }
        if let Some(window) = self.jitter_window {
            let most = period.min(MAX_RETRY_DELAY);
            check_duration("jitter_window", window, Duration::from_secs(1), most).map_err(
                |_| {
                    Error::invalid(
                        "jitter_window",
                        human_duration(window),
                        format!(
                            "allowed 1s-{} (at most the schedule's period)",
                            human_duration(most)
                        ),
                    )
                },
            )?;
        }
        Ok(())
    }
}

/// At most `count` runs of a tenant start within any `window` (a sliding window), across nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    pub count: u32,
    pub window: Duration,
}

impl RateLimit {
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_RATE_LIMIT_COUNT).contains(&self.count) {
            return Err(Error::invalid(
                "rate_limit",
                self,
                format!("the count must be 1-{MAX_RATE_LIMIT_COUNT}"),
            ));
        }
        if self.window < Duration::from_secs(1) || self.window > MAX_RATE_LIMIT_WINDOW {
            return Err(Error::invalid(
                "rate_limit",
                self,
                format!("the window must be 1s-{}", human_duration(MAX_RATE_LIMIT_WINDOW)),
            ));
        }
        Ok(())
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, human_duration(self.window))
    }
}

/// `COUNT/WINDOW`, such as `60/1m`, `1000/1h` or `5/30s` (a bare window is in seconds).
impl FromStr for RateLimit {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = || Error::invalid("rate_limit", text, "expected COUNT/WINDOW, e.g. 60/1m");
        let (count, window) = text.split_once('/').ok_or_else(invalid)?;
        let count = count.trim().parse().map_err(|_| invalid())?;
        let window = parse_duration("rate_limit", window.trim())?;
        let limit = RateLimit { count, window };
        limit.validate()?;
        Ok(limit)
    }
}

/// A tenant's defaults and limits that concern runs' lifecycle.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantPolicy {
    /// `None`: no limit on starts (only `max_concurrent`).
    pub rate_limit: Option<RateLimit>,
    /// For jobs that do not set `max_retries`.
    pub default_max_retries: Option<u32>,
    /// For jobs that do not set `auto_disable_after` (0: never).
    pub default_auto_disable_after: Option<u32>,
}

impl TenantPolicy {
    pub fn validate(&self) -> Result<()> {
        if let Some(limit) = &self.rate_limit {
            limit.validate()?;
        }
        if let Some(retries) = self.default_max_retries {
            check_at_most("default_max_retries", retries, MAX_RETRIES)?;
        }
        if let Some(after) = self.default_auto_disable_after {
            check_at_most("default_auto_disable_after", after, MAX_AUTO_DISABLE_AFTER)?;
        }
        Ok(())
    }
}

/// Why a run that was ready did not start at once. Recorded on the run (`runs.waited_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitedFor {
    /// The tenant had `max_concurrent` runs running.
    TenantLimit,
    /// The tenant had started its rate limit's worth of runs within the window.
    RateLimit,
    /// Another run of the same job was running (overlap `queue_one` or `cancel_previous`).
    Overlap,
}

text_enum!(WaitedFor, "waited_for", {
    TenantLimit => "tenant_limit",
    RateLimit => "rate_limit",
    Overlap => "overlap",
});

/// Which of a tenant's limits a claim used up, given how many runs it `took` and the room it
/// had under `max_concurrent` and under the rate limit (`None`: no rate limit). Runs that start
/// late afterwards waited for that limit. The Postgres claim computes the same in SQL.
pub fn limit_reached(
    took: i64,
    concurrency_room: i64,
    rate_room: Option<i64>,
) -> Option<WaitedFor> {
    if took >= concurrency_room {
        Some(WaitedFor::TenantLimit)
    } else if rate_room.is_some_and(|room| took >= room) {
        Some(WaitedFor::RateLimit)
    } else {
        None
    }
}

/// The stable start offset of `job_id` within `window`: the same on every node and restart.
pub fn jitter_offset(job_id: Uuid, window: Duration) -> Duration {
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    if window_ms == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(stable_hash(&[job_id.as_bytes()]) % window_ms)
}

/// A 64-bit hash that is the same on every machine, release and restart (FNV-1a over the parts,
/// then SplitMix64's finalizer to spread the bits), unlike the standard library's hashers.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in *part {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separates parts, so that ("ab", "c") and ("a", "bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// Changes to a job's policies, field by field: what the flags of `rota job add` and `rota job
/// set` say, and what a schedules file's `policy:` section says, under the same names
/// (durations in seconds). `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// `fixed` or `exponential`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_initial: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_multiplier: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_jitter: Option<f64>,
    /// `skip`, `queue_one`, `allow` or `cancel_previous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlap: Option<String>,
    /// `run_once`, `run_all` or `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed_max_runs: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catch_up_window: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_disable_after: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probation: Option<bool>,
    /// 0: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_window: Option<f64>,
    /// Calendar names; replaces the list (empty: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_calendars: Option<Vec<String>>,
    /// A calendar name; empty text removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_calendar: Option<String>,
    /// `skip`, `next` or `previous`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_excluded: Option<String>,
}

impl PolicyChanges {
    pub fn is_empty(&self) -> bool {
        self == &PolicyChanges::default()
    }

    /// The changes that turn the default policies into `policy`: what an export writes, only
    /// the fields that differ.
    pub fn from_policy(policy: &JobPolicy) -> PolicyChanges {
        let default = JobPolicy::default();
        let (kind, initial, multiplier, max) = policy.backoff.parts();
        let (default_kind, default_initial, default_multiplier, default_max) =
            default.backoff.parts();
        let exponential = kind == BackoffKind::Exponential;
        PolicyChanges {
            max_retries: policy.max_retries,
            backoff: (kind != default_kind).then(|| kind.to_string()),
            backoff_initial: (initial != default_initial).then_some(initial.as_secs_f64()),
            backoff_multiplier: (exponential && multiplier != default_multiplier)
                .then_some(multiplier),
            backoff_max: (exponential && max != default_max).then_some(max.as_secs_f64()),
            retry_jitter: (policy.retry_jitter != default.retry_jitter)
                .then_some(policy.retry_jitter),
            overlap: (policy.overlap != default.overlap).then(|| policy.overlap.to_string()),
            missed: (policy.missed.kind() != default.missed.kind())
                .then(|| policy.missed.kind().to_string()),
            missed_max_runs: policy.missed.max_runs(),
            catch_up_window: policy.catch_up_window.map(|window| window.as_secs_f64()),
            auto_disable_after: policy.auto_disable_after,
            probation: policy.probation.then_some(true),
            jitter_window: policy.jitter_window.map(|window| window.as_secs_f64()),
            exclude_calendars: (!policy.exclude_calendars.is_empty())
                .then(|| policy.exclude_calendars.clone()),
            only_calendar: policy.only_calendar.clone(),
            on_excluded: (policy.on_excluded != default.on_excluded)
                .then(|| policy.on_excluded.to_string()),
        }
    }

    /// Changes what these say in `policy`. An error names the field; `policy` may then be half
    /// changed, so callers apply to a copy. (Whether the result fits the job's schedule is
    /// [`JobPolicy::validate`]'s question.)
    pub fn apply(&self, policy: &mut JobPolicy) -> Result<()> {
        if let Some(retries) = self.max_retries {
            policy.max_retries = Some(retries);
        }
        let (mut kind, mut initial, mut multiplier, mut max) = policy.backoff.parts();
        if let Some(text) = &self.backoff {
            let new: BackoffKind = text.parse()?;
            if new == BackoffKind::Exponential && kind == BackoffKind::Fixed {
                let (_, _, default_multiplier, default_max) = Backoff::default().parts();
                multiplier = default_multiplier;
                max = default_max.max(initial);
            }
            kind = new;
        }
        if let Some(value) = self.backoff_initial {
            initial = seconds("backoff_initial", value, MAX_RETRY_DELAY)?;
        }
        for (field, value) in
            [("backoff_multiplier", self.backoff_multiplier), ("backoff_max", self.backoff_max)]
        {
            if let (Some(value), BackoffKind::Fixed) = (value, kind) {
                return Err(Error::invalid(field, value, "only applies to backoff exponential"));
            }
        }
        if let Some(value) = self.backoff_multiplier {
            multiplier = value;
        }
        if let Some(value) = self.backoff_max {
            max = seconds("backoff_max", value, MAX_RETRY_DELAY)?;
        }
        policy.backoff = Backoff::from_parts(kind, initial, multiplier, max);
        if let Some(jitter) = self.retry_jitter {
            policy.retry_jitter = jitter;
        }
        if let Some(text) = &self.overlap {
            policy.overlap = text.parse::<OverlapPolicy>()?;
        }
        let missed = match &self.missed {
            Some(text) => text.parse::<MissedKind>()?,
            None => policy.missed.kind(),
        };
        if let Some(runs) = self.missed_max_runs {
            if missed != MissedKind::RunAll {
                return Err(Error::invalid(
                    "missed_max_runs",
                    runs,
                    "only applies to missed run_all",
                ));
            }
        }
        policy.missed =
            MissedPolicy::from_parts(missed, self.missed_max_runs.or(policy.missed.max_runs()));
        if let Some(value) = self.catch_up_window {
            policy.catch_up_window = Some(seconds("catch_up_window", value, MAX_CATCH_UP_WINDOW)?);
        }
        if let Some(after) = self.auto_disable_after {
            policy.auto_disable_after = Some(after);
        }
        if let Some(probation) = self.probation {
            policy.probation = probation;
        }
        if let Some(value) = self.jitter_window {
            let window = seconds("jitter_window", value, MAX_RETRY_DELAY)?;
            policy.jitter_window = (!window.is_zero()).then_some(window);
        }
        if let Some(names) = &self.exclude_calendars {
            let mut unique: Vec<String> = Vec::with_capacity(names.len());
            for name in names {
                if !unique.contains(name) {
                    unique.push(name.clone());
                }
            }
            policy.exclude_calendars = unique;
        }
        if let Some(name) = &self.only_calendar {
            policy.only_calendar = (!name.is_empty()).then(|| name.clone());
        }
        if let Some(text) = &self.on_excluded {
            policy.on_excluded = text.parse()?;
        }
        Ok(())
    }
}

/// Whole seconds typed by a person (`--backoff-initial 30`), as a duration; negative or
/// non-finite values name the field.
pub fn seconds(field: &str, value: f64, most: Duration) -> Result<Duration> {
    if !value.is_finite() || value < 0.0 || value > most.as_secs_f64() {
        return Err(Error::invalid(field, value, format!("allowed 0-{} seconds", most.as_secs())));
    }
    Ok(Duration::from_millis((value * 1000.0).round() as u64))
}

/// `90`, `90s`, `15m`, `2h` or `1d`.
pub fn parse_duration(field: &str, text: &str) -> Result<Duration> {
    let invalid = || Error::invalid(field, text, "expected a duration such as 30s, 15m, 2h or 1d");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    number.checked_mul(unit).map(Duration::from_secs).ok_or_else(invalid)
}

/// A duration for people, in the largest unit that divides it: `1d`, `3h`, `90s`, `250ms`.
pub fn human_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if !millis.is_multiple_of(1000) {
        return format!("{millis}ms");
    }
    let seconds = duration.as_secs();
    match seconds {
        0 => "0s".to_owned(),
        s if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        s if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        s if s.is_multiple_of(60) => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn check_at_most(field: &str, value: u32, most: u32) -> Result<()> {
    if value > most {
        return Err(Error::invalid(field, value, format!("allowed 0-{most}")));
    }
    Ok(())
}

fn check_duration(field: &str, value: Duration, least: Duration, most: Duration) -> Result<()> {
    if value < least || value > most {
        return Err(Error::invalid(
            field,
            human_duration(value),
            format!("allowed {}-{}", human_duration(least), human_duration(most)),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn exponential_backoff_grows_and_is_capped() {
        let backoff = Backoff::Exponential { initial: S(10), multiplier: 3.0, max: S(200) };
        let delays: Vec<Duration> = (1..=6).map(|retry| backoff.base(retry)).collect();
        assert_eq!(delays, [S(10), S(30), S(90), S(200), S(200), S(200)]);
        // Huge exponents saturate at the cap instead of overflowing.
        assert_eq!(backoff.base(u32::MAX), S(200));
        assert_eq!(Backoff::Fixed { delay: S(7) }.base(9), S(7));
    }

    #[test]
    fn jitter_is_deterministic_and_only_shortens() {
        let policy =
            RetryPolicy { max_retries: 3, backoff: Backoff::Fixed { delay: S(100) }, jitter: 0.5 };
        let job = Uuid::from_u128(42);
        let when = at("2027-01-01T00:00:00Z");
        let first = policy.delay(1, job, when);
        assert_eq!(first, policy.delay(1, job, when), "same inputs, same delay");
        let delays: Vec<Duration> =
            (1..=50).map(|attempt| policy.delay(attempt, job, when)).collect();
        assert!(delays.iter().all(|delay| *delay >= S(50) && *delay <= S(100)), "{delays:?}");
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 40, "jitter spreads: {} distinct of 50", distinct.len());
        let none = RetryPolicy { jitter: 0.0, ..policy };
        assert_eq!(none.delay(1, job, when), S(100));
    }

    #[test]
    fn retries_stop_after_max_retries() {
        let policy =
            RetryPolicy { max_retries: 2, backoff: Backoff::Fixed { delay: S(5) }, jitter: 0.0 };
        let job = Uuid::nil();
        let when = at("2027-01-01T00:00:00Z");
        let table = [(1, Some(S(5))), (2, Some(S(5))), (3, None), (4, None)];
        for (attempt, expected) in table {
            assert_eq!(policy.next_delay(attempt, job, when), expected, "attempt {attempt}");
        }
    }

    #[test]
    fn tenant_defaults_fill_what_the_job_leaves_open() {
        let policy = JobPolicy::default();
        assert_eq!(policy.retry_policy(None).max_retries, DEFAULT_MAX_RETRIES);
        assert_eq!(policy.retry_policy(Some(3)).max_retries, 3);
        let own = JobPolicy { max_retries: Some(1), ..JobPolicy::default() };
        assert_eq!(own.retry_policy(Some(3)).max_retries, 1);
        let table = [
            (None, None, Some(DEFAULT_AUTO_DISABLE_AFTER)),
            (None, Some(0), None),
            (None, Some(2), Some(2)),
            (Some(7), Some(2), Some(7)),
            (Some(0), Some(2), None),
        ];
        for (job, tenant, expected) in table {
            let policy = JobPolicy { auto_disable_after: job, ..JobPolicy::default() };
            assert_eq!(policy.auto_disable_threshold(tenant), expected, "{job:?} {tenant:?}");
        }
    }

    #[test]
    fn enums_parse_and_list_allowed_values() {
        for overlap in OverlapPolicy::ALL {
            assert_eq!(overlap.as_str().parse::<OverlapPolicy>().unwrap(), *overlap);
            let json = serde_json::to_string(overlap).unwrap();
            assert_eq!(json, format!("\"{}\"", overlap.as_str()));
        }
        let message = "sometimes".parse::<OverlapPolicy>().unwrap_err().to_string();
        assert_eq!(
            message,
            "overlap: \"sometimes\" is invalid: allowed: skip, queue_one, allow, cancel_previous"
        );
        let message = "later".parse::<MissedKind>().unwrap_err().to_string();
        assert!(message.ends_with("allowed: run_once, run_all, skip"), "{message}");
        assert_eq!("exponential".parse::<BackoffKind>().unwrap(), BackoffKind::Exponential);
        assert_eq!("rate_limit".parse::<WaitedFor>().unwrap(), WaitedFor::RateLimit);
        assert_eq!(
            serde_json::to_string(&MissedPolicy::RunAll { max_runs: 3 }).unwrap(),
            r#"{"run_all":{"max_runs":3}}"#
        );
    }

    #[test]
    fn validation_names_field_value_and_range() {
        let hourly = Schedule::parse("@hourly", "UTC").unwrap();
        JobPolicy::default().validate(&hourly).unwrap();
        let cases: Vec<(JobPolicy, &str)> = vec![
            (
                JobPolicy { catch_up_window: Some(S(600)), ..JobPolicy::default() },
                "catch_up_window: \"10m\" is invalid: allowed 1h-366d (at least the schedule's period)",
            ),
            (
                JobPolicy { max_retries: Some(101), ..JobPolicy::default() },
                "max_retries: \"101\" is invalid: allowed 0-100",
            ),
            (
                JobPolicy {
                    backoff: Backoff::Exponential { initial: S(60), multiplier: 2.0, max: S(30) },
                    ..JobPolicy::default()
                },
                "backoff_max: \"30s\" is invalid: allowed 1m-7d",
            ),
            (
                JobPolicy {
                    backoff: Backoff::Exponential { initial: S(1), multiplier: 0.5, max: S(30) },
                    ..JobPolicy::default()
                },
                "backoff_multiplier: \"0.5\" is invalid: allowed 1-10",
            ),
            (
                JobPolicy { retry_jitter: 1.5, ..JobPolicy::default() },
                "retry_jitter: \"1.5\" is invalid: allowed 0-1",
            ),
            (
                JobPolicy { missed: MissedPolicy::RunAll { max_runs: 0 }, ..JobPolicy::default() },
                "missed_max_runs: \"0\" is invalid: allowed 1-1000",
            ),
            (
                JobPolicy { jitter_window: Some(S(7200)), ..JobPolicy::default() },
                "jitter_window: \"2h\" is invalid: allowed 1s-1h (at most the schedule's period)",
            ),
        ];
        for (policy, expected) in cases {
            assert_eq!(policy.validate(&hourly).unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn default_catch_up_window_covers_at_least_one_period() {
        let policy = JobPolicy::default();
        let hourly = Schedule::parse("@hourly", "UTC").unwrap();
        assert_eq!(policy.catch_up_window_for(&hourly), DEFAULT_CATCH_UP_WINDOW);
        let weekly = Schedule::parse("0 3 * * 1", "UTC").unwrap();
        assert_eq!(policy.catch_up_window_for(&weekly), S(7 * 86_400));
        policy.validate(&weekly).unwrap();
    }

    #[test]
    fn rate_limits_parse_and_print() {
        let table = [
            ("60/1m", 60, S(60), "60/1m"),
            ("5/30", 5, S(30), "5/30s"),
            ("1000/1h", 1000, S(3600), "1000/1h"),
        ];
        for (text, count, window, printed) in table {
            let limit: RateLimit = text.parse().unwrap();
            assert_eq!(limit, RateLimit { count, window });
            assert_eq!(limit.to_string(), printed);
        }
        for bad in ["60", "x/1m", "60/1w", "0/1m", "60/0s", "-1/1m"] {
            let error = bad.parse::<RateLimit>().unwrap_err();
            assert!(error.to_string().starts_with("rate_limit:"), "{bad}: {error}");
        }
    }

    #[test]
    fn jitter_offset_is_stable_and_inside_the_window() {
        let window = S(600);
        let job = Uuid::parse_str("0190f5c3-7d1e-7a3b-9c4d-5e6f708192a3").unwrap();
        // A fixed value: the offset must never change between releases, or runs would move.
        assert_eq!(jitter_offset(job, window), Duration::from_millis(441_459));
        let offsets: Vec<Duration> =
            (0..500u128).map(|n| jitter_offset(Uuid::from_u128(n), window)).collect();
        assert!(offsets.iter().all(|offset| *offset < window));
        // 500 jobs spread over the window: every minute of it gets some.
        let mut minutes = [0u32; 10];
        for offset in &offsets {
            minutes[(offset.as_secs() / 60) as usize] += 1;
        }
        assert!(minutes.iter().all(|count| *count > 20), "{minutes:?}");
        assert_eq!(jitter_offset(job, Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn stable_hash_has_fixed_values() {
        // Pinned: a change here moves every job's jitter offset.
        assert_eq!(stable_hash(&[b"rota"]), 0x6ebf_b661_f023_85d5);
        assert_ne!(stable_hash(&[b"ab", b"c"]), stable_hash(&[b"a", b"bc"]));
    }

    #[test]
    fn limit_reached_names_the_exhausted_limit() {
        let table = [
            (3, 3, None, Some(WaitedFor::TenantLimit)),
            (2, 3, Some(2), Some(WaitedFor::RateLimit)),
            (2, 3, Some(5), None),
            (1, 3, None, None),
        ];
        for (took, room, rate, expected) in table {
            assert_eq!(limit_reached(took, room, rate), expected, "{took} {room} {rate:?}");
        }
    }

    #[test]
    fn durations_read_and_print() {
        assert_eq!(parse_duration("f", "90").unwrap(), S(90));
        assert_eq!(parse_duration("f", "15m").unwrap(), S(900));
        assert_eq!(parse_duration("f", "1d").unwrap(), S(86_400));
        assert!(parse_duration("f", "1.5h").is_err());
        assert_eq!(human_duration(S(86_400)), "1d");
        assert_eq!(human_duration(S(5400)), "90m");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(seconds("backoff_initial", 2.5, S(10)).unwrap(), Duration::from_millis(2500));
        assert_eq!(
            seconds("backoff_initial", -5.0, S(10)).unwrap_err().to_string(),
            "backoff_initial: \"-5\" is invalid: allowed 0-10 seconds"
        );
    }

    fn arbitrary_policy() -> impl proptest::strategy::Strategy<Value = JobPolicy> {
        use proptest::prelude::*;
        let millis = |most: Duration| 0..=u64::try_from(most.as_millis()).unwrap();
        let backoff = prop_oneof![
            millis(MAX_RETRY_DELAY)
                .prop_map(|ms| Backoff::Fixed { delay: Duration::from_millis(ms) }),
            (millis(MAX_RETRY_DELAY), 10u32..=100, millis(MAX_RETRY_DELAY)).prop_map(
                |(initial, tenths, max)| Backoff::Exponential {
                    initial: Duration::from_millis(initial),
                    multiplier: f64::from(tenths) / 10.0,
                    max: Duration::from_millis(max),
                }
            ),
        ];
        let overlap = prop_oneof![
            Just(OverlapPolicy::Skip),
            Just(OverlapPolicy::QueueOne),
            Just(OverlapPolicy::Allow),
            Just(OverlapPolicy::CancelPrevious),
        ];
        let missed = prop_oneof![
            Just(MissedPolicy::RunOnce),
            Just(MissedPolicy::Skip),
            (1u32..1000).prop_map(|max_runs| MissedPolicy::RunAll { max_runs }),
        ];
        (
            (proptest::option::of(0..=MAX_RETRIES), backoff, 0u32..=100, overlap, missed),
            (
                proptest::option::of(millis(MAX_CATCH_UP_WINDOW)),
                proptest::option::of(0u32..50),
                any::<bool>(),
                proptest::option::of(1..=u64::try_from(MAX_RETRY_DELAY.as_millis()).unwrap()),
            ),
        )
            .prop_map(
                |(
                    (max_retries, backoff, jitter, overlap, missed),
                    (catch_up, auto_disable_after, probation, jitter_window),
                )| JobPolicy {
                    max_retries,
                    backoff,
                    retry_jitter: f64::from(jitter) / 100.0,
                    overlap,
                    missed,
                    catch_up_window: catch_up.map(Duration::from_millis),
                    auto_disable_after,
                    probation,
                    jitter_window: jitter_window.map(Duration::from_millis),
                    exclude_calendars: if probation { vec!["office".into()] } else { Vec::new() },
                    only_calendar: (auto_disable_after == Some(3)).then(|| "closing".into()),
                    on_excluded: if probation { OnExcluded::Next } else { OnExcluded::Skip },
                },
            )
    }

    proptest::proptest! {
        /// What an export writes for a job's policies, applied to the defaults, gives the same
        /// policies back (the schedules file round trip).
        #[test]
        fn policy_changes_round_trip(policy in arbitrary_policy()) {
            let changes = PolicyChanges::from_policy(&policy);
            let mut applied = JobPolicy::default();
            changes.apply(&mut applied).unwrap();
            proptest::prop_assert_eq!(applied, policy);
        }
    }

    #[test]
    fn policy_changes_name_the_field_they_refuse() {
        let mut policy = JobPolicy::default();
        let fixed_with_multiplier = PolicyChanges {
            backoff: Some("fixed".into()),
            backoff_multiplier: Some(3.0),
            ..PolicyChanges::default()
        };
        let error = fixed_with_multiplier.apply(&mut policy).unwrap_err().to_string();
        assert!(error.starts_with("backoff_multiplier: \"3\" is invalid"), "{error}");
        let negative = PolicyChanges { jitter_window: Some(-1.0), ..PolicyChanges::default() };
        let error = negative.apply(&mut policy).unwrap_err().to_string();
        assert!(error.starts_with("jitter_window:"), "{error}");
        assert!(PolicyChanges::from_policy(&JobPolicy::default()).is_empty());
    }
}
