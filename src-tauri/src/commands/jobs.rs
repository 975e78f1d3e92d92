//! Jobs: the table (filtered, sorted and paged by the database), reading one job, creating and
//! editing with optimistic concurrency.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rota::api::{
    JobFilters, JobPage as CoreJobPage, JobQuery as CoreJobQuery, JobSort as CoreJobSort,
    JobState as CoreJobState, JobStateFilter as CoreJobStateFilter,
};
use rota::handler::isolation::parse_bytes;
use rota::handler::{CommandLimits, CommandSpec, FollowRedirects, HandlerSpec, HttpSpec};
use rota::job::{Job, JobDefinition};
use rota::policy::{self as core_policy, Backoff, JobPolicy, MissedKind};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use super::runs::RunAttempt;
use super::{instant, optional_instant, parse_id};
use crate::console::Console;
use crate::error::CommandError;

/// Whether a job runs on its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Enabled,
    /// Switched off by a person.
    Disabled,
    /// Switched off by Rota after too many consecutive failures.
    AutoDisabled,
}

/// The states the jobs table filters by; a job can be in two (a paused job is also enabled or
/// disabled; a failing one is enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum JobStateFilter {
    Enabled,
    Disabled,
    AutoDisabled,
    Paused,
    /// Enabled, with failed occurrences in a row.
    Failing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum HandlerKind {
    Http,
    Command,
    Named,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum JobSort {
    Name,
    Tenant,
    NextRun,
    LastRun,
    Failures,
    Updated,
}

/// One page of the jobs table. Everything is applied by the database.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobQuery {
    /// Matches job or tenant names containing this text (case-insensitive).
    pub search: Option<String>,
    pub tenant: Option<String>,
    pub state: Option<JobStateFilter>,
    pub handler: Option<HandlerKind>,
    pub sort: JobSort,
    pub descending: bool,
    /// Where the page starts: the previous page's `nextCursor`; `null` for the first page.
    pub cursor: Option<String>,
    pub limit: u32,
}

/// A job as the jobs table shows it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobRow {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub handler: HandlerKind,
    pub state: JobState,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: u32,
    /// A paused job is not due until resumed (its next run is where it would run).
    pub paused: bool,
    /// Its tenant is paused: none of its runs start until the tenant is resumed.
    pub tenant_paused: bool,
    pub next_run_at: Option<String>,
    pub last_run_at: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobPage {
    pub rows: Vec<JobRow>,
    /// Jobs matching the filters, on all pages.
    pub total: u32,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A name and value (HTTP header, environment variable), kept in the order the user typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

/// What a job runs, as the editor edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HandlerInput {
    #[serde(rename_all = "camelCase")]
    Http {
        method: String,
        url: String,
        headers: Vec<NameValue>,
    },
    #[serde(rename_all = "camelCase")]
    Command {
        program: String,
        args: Vec<String>,
        env: Vec<NameValue>,
        working_dir: Option<String>,
        shell: bool,
        /// Run as this user (the scheduler must run as root); `null`: the tenant's user.
        run_as: Option<String>,
        limits: LimitsInput,
        /// Text for standard input instead of the run's envelope JSON (a crontab line's `%`
        /// input); `null`: the envelope.
        stdin: Option<String>,
    },
    Named {
        name: String,
    },
}

/// A command's resource limits as the editor edits them; `null`: the tenant's default, else
/// the scheduler's. The core checks every range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LimitsInput {
    pub cpu_seconds: Option<u32>,
    /// Bytes as text: a number, or one with K, M or G (`512M`), as `rota tenant set` takes.
    pub address_space: Option<String>,
    pub open_files: Option<u32>,
    pub processes: Option<u32>,
}

impl From<Option<CommandLimits>> for LimitsInput {
    fn from(limits: Option<CommandLimits>) -> Self {
        let limits = limits.unwrap_or_default();
        let small =
            |value: Option<u64>| value.map(|value| u32::try_from(value).unwrap_or(u32::MAX));
        LimitsInput {
            cpu_seconds: small(limits.cpu_seconds),
            address_space: limits.address_space_bytes.map(size_text),
            open_files: small(limits.open_files),
            processes: small(limits.processes),
        }
    }
}

/// `2G`, `512M`, or the number of bytes: a size `parse_bytes` reads back exactly.
fn size_text(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{}G", bytes / GIB)
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{}M", bytes / MIB)
    } else {
        bytes.to_string()
    }
}

impl LimitsInput {
    /// The limits, or `None` when none is set (as a job without `limits` is stored).
    fn into_limits(self) -> Result<Option<CommandLimits>, CommandError> {
        let address_space_bytes =
            match self.address_space.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(text) => Some(parse_bytes(text).map_err(|reason| {
                    CommandError::invalid("handler.limits.addressSpace", reason)
                })?),
            };
        let limits = CommandLimits {
            cpu_seconds: self.cpu_seconds.map(u64::from),
            address_space_bytes,
            open_files: self.open_files.map(u64::from),
            processes: self.processes.map(u64::from),
        };
        Ok((!limits.is_empty()).then_some(limits))
    }
}

/// The editable definition of a job, with its run-lifecycle policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobInput {
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub handler: HandlerInput,
    /// The payload as JSON text; the core parses and validates it.
    pub payload: String,
    pub timeout_seconds: u32,
    pub policy: PolicyInput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum BackoffKind {
    Fixed,
    Exponential,
}

/// What happens to an occurrence while the job's previous run is still queued or running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum OverlapPolicy {
    Skip,
    QueueOne,
    Allow,
    CancelPrevious,
}

/// What happens to an occurrence a calendar of the job excludes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum OnExcluded {
    /// It does not run (a skipped run names the calendar and the event).
    #[default]
    Skip,
    /// It runs at the same wall time on the next allowed day.
    Next,
    /// It runs at the same wall time on the previous allowed day.
    Previous,
}

impl From<OnExcluded> for rota::calendars::OnExcluded {
    fn from(value: OnExcluded) -> Self {
        match value {
            OnExcluded::Skip => rota::calendars::OnExcluded::Skip,
            OnExcluded::Next => rota::calendars::OnExcluded::Next,
            OnExcluded::Previous => rota::calendars::OnExcluded::Previous,
        }
    }
}

impl From<rota::calendars::OnExcluded> for OnExcluded {
    fn from(value: rota::calendars::OnExcluded) -> Self {
        match value {
            rota::calendars::OnExcluded::Skip => OnExcluded::Skip,
            rota::calendars::OnExcluded::Next => OnExcluded::Next,
            rota::calendars::OnExcluded::Previous => OnExcluded::Previous,
        }
    }
}

/// A job's calendars, as the editor chooses them (names of its tenant's or shared calendars).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CalendarsInput {
    /// Calendars whose days (or windows) the job does not run on.
    pub exclude_calendars: Vec<String>,
    /// The calendar whose days alone the job runs on; `null`: none.
    pub only_calendar: Option<String>,
    pub on_excluded: OnExcluded,
}

impl CalendarsInput {
    /// Sets `policy`'s calendars to these.
    pub fn apply_to(&self, policy: &mut JobPolicy) {
        policy.exclude_calendars = self.exclude_calendars.clone();
        policy.only_calendar = self.only_calendar.clone().filter(|name| !name.is_empty());
        policy.on_excluded = self.on_excluded.into();
    }
}

impl From<&JobPolicy> for CalendarsInput {
    fn from(policy: &JobPolicy) -> Self {
        CalendarsInput {
            exclude_calendars: policy.exclude_calendars.clone(),
            only_calendar: policy.only_calendar.clone(),
            on_excluded: policy.on_excluded.into(),
        }
    }
}

/// What happens to occurrences missed while no scheduler ran or the job was paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum MissedPolicy {
    RunOnce,
    RunAll,
    Skip,
}

/// A job's run-lifecycle policies as the editor edits them (`null`: the default, which for
/// retries and the auto-disable threshold is the tenant's). The core checks every range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInput {
    /// Retries after a failed attempt.
    pub max_retries: Option<u32>,
    pub backoff: BackoffKind,
    /// The fixed delay, or the first delay of an exponential backoff.
    pub backoff_initial_seconds: f64,
    /// Exponential only: each delay is the previous one times this.
    pub backoff_multiplier: f64,
    /// Exponential only: the longest delay.
    pub backoff_max_seconds: f64,
    /// Each retry delay is shortened by up to this fraction (0 to 1).
    pub retry_jitter: f64,
    pub overlap: OverlapPolicy,
    pub missed: MissedPolicy,
    /// `run_all` only: the most missed occurrences run for one gap.
    pub missed_max_runs: u32,
    /// Missed occurrences older than this are recorded, never run; `null`: a day, or the
    /// schedule's period when longer.
    pub catch_up_window_seconds: Option<u32>,
    /// Failed occurrences in a row that disable the job; 0 never does.
    pub auto_disable_after: Option<u32>,
    /// A re-enabled job is on probation: its next failed occurrence disables it again.
    pub probation: bool,
    /// Spread runs over this window after each scheduled instant (a stable offset per job).
    pub jitter_window_seconds: Option<u32>,
    /// The calendars the job runs around.
    pub calendars: CalendarsInput,
}

/// A name a `named` handler may refer to.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NamedHandler {
    pub name: String,
    /// `http` or `command` for a stored definition; `null` for a handler built into the
    /// scheduler process.
    pub kind: Option<HandlerKind>,
    /// The URL or the program it runs, for people choosing.
    pub target: Option<String>,
}

/// One job with everything the editor needs.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobDetail {
    pub id: String,
    pub tenant: String,
    /// Pass back with an edit; a save based on an older version is refused.
    pub version: String,
    pub definition: JobInput,
    pub state: JobState,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: u32,
    pub next_run_at: Option<String>,
    pub last_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// A paused job is not due until resumed.
    pub paused: bool,
    /// Its tenant is paused: none of its runs start until the tenant is resumed.
    pub tenant_paused: bool,
    /// The error of the last failed occurrence.
    pub last_error: Option<String>,
    /// Re-enabled on probation: the next failed occurrence disables it again.
    pub on_probation: bool,
    /// Who enabled it last.
    pub enabled_by: Option<String>,
}

fn handler_kind(spec: &HandlerSpec) -> HandlerKind {
    match spec {
        HandlerSpec::Http(_) => HandlerKind::Http,
        HandlerSpec::Command(_) => HandlerKind::Command,
        HandlerSpec::Named { .. } => HandlerKind::Named,
    }
}

fn job_state(job: &Job) -> JobState {
    match CoreJobState::of(job) {
        CoreJobState::Enabled => JobState::Enabled,
        CoreJobState::Disabled => JobState::Disabled,
        CoreJobState::AutoDisabled => JobState::AutoDisabled,
    }
}

fn pairs(map: BTreeMap<String, String>) -> Vec<NameValue> {
    map.into_iter().map(|(name, value)| NameValue { name, value }).collect()
}

impl From<HandlerSpec> for HandlerInput {
    fn from(spec: HandlerSpec) -> Self {
        match spec {
            HandlerSpec::Http(http) => HandlerInput::Http {
                method: http.method,
                url: http.url,
                headers: pairs(http.headers),
            },
            HandlerSpec::Command(command) => HandlerInput::Command {
                program: command.program,
                args: command.args,
                env: pairs(command.env),
                working_dir: command.working_dir.map(|dir| dir.display().to_string()),
                shell: command.shell,
                run_as: command.run_as,
                limits: command.limits.into(),
                stdin: command.stdin,
            },
            HandlerSpec::Named { name } => HandlerInput::Named { name },
        }
    }
}

/// Name-value lists become maps; a name given twice is refused rather than silently dropped.
fn map(field: &str, list: Vec<NameValue>) -> Result<BTreeMap<String, String>, CommandError> {
    let mut map = BTreeMap::new();
    for NameValue { name, value } in list {
        if map.insert(name.clone(), value).is_some() {
            return Err(CommandError::invalid(field, format!("{name:?} is given twice")));
        }
    }
    Ok(map)
}

impl HandlerInput {
    fn into_spec(self) -> Result<HandlerSpec, CommandError> {
        Ok(match self {
            HandlerInput::Http { method, url, headers } => HandlerSpec::Http(HttpSpec {
                method,
                url,
                headers: map("handler.headers", headers)?,
                // Not shown in the console: `update_job` keeps the job's own setting.
                follow_redirects: FollowRedirects::None,
            }),
            HandlerInput::Command {
                program,
                args,
                env,
                working_dir,
                shell,
                run_as,
                limits,
                stdin,
            } => {
                // Every field of the spec comes back from the editor, which shows them all: an
                // edit of the schedule never drops the run-as user, the limits or the stdin.
                HandlerSpec::Command(CommandSpec {
                    program,
                    args,
                    env: map("handler.env", env)?,
                    working_dir: working_dir
                        .filter(|dir| !dir.trim().is_empty())
                        .map(PathBuf::from),
                    shell,
                    limits: limits.into_limits()?,
                    run_as: run_as
                        .map(|user| user.trim().to_owned())
                        .filter(|user| !user.is_empty()),
                    stdin,
                })
            }
            HandlerInput::Named { name } => HandlerSpec::Named { name },
        })
    }
}

impl JobInput {
    /// The definition and policies to save. `stored` is the handler the editor was shown
    /// (masked): values still masked are taken from it (`None` for a new job, where a mask is
    /// refused).
    fn into_parts(
        self,
        stored: Option<&HandlerSpec>,
    ) -> Result<(JobDefinition, JobPolicy), CommandError> {
        let policy = self.policy.into_policy()?;
        let handler = rota::redact::restore_handler(self.handler.into_spec()?, stored)
            .map_err(|error| CommandError::invalid(&error.field, error.reason))?;
        let definition = JobDefinition {
            name: self.name,
            schedule: self.schedule,
            timezone: self.timezone,
            handler,
            payload: rota::api::parse_payload(&self.payload)?,
            timeout: Duration::from_secs(u64::from(self.timeout_seconds)),
        };
        Ok((definition, policy))
    }
}

impl PolicyInput {
    fn into_policy(self) -> Result<JobPolicy, CommandError> {
        let most = core_policy::MAX_RETRY_DELAY;
        let initial = core_policy::seconds("backoff_initial", self.backoff_initial_seconds, most)?;
        let max = core_policy::seconds("backoff_max", self.backoff_max_seconds, most)?;
        let kind = match self.backoff {
            BackoffKind::Fixed => core_policy::BackoffKind::Fixed,
            BackoffKind::Exponential => core_policy::BackoffKind::Exponential,
        };
        let missed = match self.missed {
            MissedPolicy::RunOnce => MissedKind::RunOnce,
            MissedPolicy::RunAll => MissedKind::RunAll,
            MissedPolicy::Skip => MissedKind::Skip,
        };
        let seconds = |value: Option<u32>| value.map(|value| Duration::from_secs(value.into()));
        let mut policy = JobPolicy {
            max_retries: self.max_retries,
            backoff: Backoff::from_parts(kind, initial, self.backoff_multiplier, max),
            retry_jitter: self.retry_jitter,
            overlap: match self.overlap {
                OverlapPolicy::Skip => core_policy::OverlapPolicy::Skip,
                OverlapPolicy::QueueOne => core_policy::OverlapPolicy::QueueOne,
                OverlapPolicy::Allow => core_policy::OverlapPolicy::Allow,
                OverlapPolicy::CancelPrevious => core_policy::OverlapPolicy::CancelPrevious,
            },
            missed: core_policy::MissedPolicy::from_parts(missed, Some(self.missed_max_runs)),
            catch_up_window: seconds(self.catch_up_window_seconds),
            auto_disable_after: self.auto_disable_after,
            probation: self.probation,
            jitter_window: seconds(self.jitter_window_seconds),
            ..JobPolicy::default()
        };
        self.calendars.apply_to(&mut policy);
        Ok(policy)
    }
}

impl From<&JobPolicy> for PolicyInput {
    fn from(policy: &JobPolicy) -> Self {
        let (kind, initial, multiplier, max) = policy.backoff.parts();
        let seconds = |value: Option<Duration>| {
            value.map(|value| u32::try_from(value.as_secs()).unwrap_or(u32::MAX))
        };
        PolicyInput {
            max_retries: policy.max_retries,
            backoff: match kind {
                core_policy::BackoffKind::Fixed => BackoffKind::Fixed,
                core_policy::BackoffKind::Exponential => BackoffKind::Exponential,
            },
            backoff_initial_seconds: initial.as_secs_f64(),
            backoff_multiplier: multiplier,
            backoff_max_seconds: max.as_secs_f64(),
            retry_jitter: policy.retry_jitter,
            overlap: match policy.overlap {
                core_policy::OverlapPolicy::Skip => OverlapPolicy::Skip,
                core_policy::OverlapPolicy::QueueOne => OverlapPolicy::QueueOne,
                core_policy::OverlapPolicy::Allow => OverlapPolicy::Allow,
                core_policy::OverlapPolicy::CancelPrevious => OverlapPolicy::CancelPrevious,
            },
            missed: match policy.missed.kind() {
                MissedKind::RunOnce => MissedPolicy::RunOnce,
                MissedKind::RunAll => MissedPolicy::RunAll,
                MissedKind::Skip => MissedPolicy::Skip,
            },
            missed_max_runs: policy
                .missed
                .max_runs()
                .unwrap_or(core_policy::DEFAULT_MISSED_MAX_RUNS),
            catch_up_window_seconds: seconds(policy.catch_up_window),
            auto_disable_after: policy.auto_disable_after,
            probation: policy.probation,
            jitter_window_seconds: seconds(policy.jitter_window),
            calendars: CalendarsInput::from(policy),
        }
    }
}

impl From<Job> for JobDetail {
    fn from(job: Job) -> Self {
        let state = job_state(&job);
        let policy = PolicyInput::from(&job.policy);
        JobDetail {
            id: job.id.to_string(),
            tenant: job.tenant,
            version: job.version.to_string(),
            state,
            disabled_reason: job.disabled_reason,
            consecutive_failures: job.consecutive_failures,
            next_run_at: optional_instant(job.next_run_at),
            last_run_at: optional_instant(job.last_run_at),
            created_at: instant(job.created_at),
            updated_at: instant(job.updated_at),
            paused: job.paused,
            tenant_paused: job.tenant_paused,
            last_error: rota::redact::optional_text(job.last_error),
            on_probation: job.on_probation,
            enabled_by: job.enabled_by,
            definition: JobInput {
                name: job.name,
                schedule: job.schedule,
                timezone: job.timezone,
                // Secrets masked ([`rota::redact::handler`]); a save that sends a mask back
                // keeps the stored value ([`rota::redact::restore_handler`]).
                handler: rota::redact::handler(&job.handler).into(),
                // Pretty-printed, as people edit it.
                payload: serde_json::to_string_pretty(&job.payload).unwrap_or_default(),
                timeout_seconds: u32::try_from(job.timeout.as_secs()).unwrap_or(u32::MAX),
                policy,
            },
        }
    }
}

impl From<Job> for JobRow {
    fn from(job: Job) -> Self {
        JobRow {
            id: job.id.to_string(),
            state: job_state(&job),
            handler: handler_kind(&job.handler),
            tenant: job.tenant,
            name: job.name,
            schedule: job.schedule,
            timezone: job.timezone,
            disabled_reason: job.disabled_reason,
            consecutive_failures: job.consecutive_failures,
            paused: job.paused,
            tenant_paused: job.tenant_paused,
            next_run_at: optional_instant(job.next_run_at),
            last_run_at: optional_instant(job.last_run_at),
            updated_at: instant(job.updated_at),
        }
    }
}

/// The jobs table's filters as the core takes them (blank text is no filter).
pub(crate) fn job_filters(
    search: Option<String>,
    tenant: Option<String>,
    state: Option<JobStateFilter>,
    handler: Option<HandlerKind>,
) -> JobFilters {
    JobFilters {
        search: search.filter(|text| !text.trim().is_empty()),
        tenant: tenant.filter(|tenant| !tenant.is_empty()),
        state: state.map(|state| match state {
            JobStateFilter::Enabled => CoreJobStateFilter::Enabled,
            JobStateFilter::Disabled => CoreJobStateFilter::Disabled,
            JobStateFilter::AutoDisabled => CoreJobStateFilter::AutoDisabled,
            JobStateFilter::Paused => CoreJobStateFilter::Paused,
            JobStateFilter::Failing => CoreJobStateFilter::Failing,
        }),
        handler_kind: handler.map(|kind| match kind {
            HandlerKind::Http => "http",
            HandlerKind::Command => "command",
            HandlerKind::Named => "named",
        }),
    }
}

impl TryFrom<JobQuery> for CoreJobQuery {
    type Error = CommandError;

    fn try_from(query: JobQuery) -> Result<Self, CommandError> {
        let after = match query.cursor.as_deref().filter(|cursor| !cursor.is_empty()) {
            Some(text) => Some(rota::api::JobCursor::decode(text)?),
            None => None,
        };
        let filters = job_filters(query.search, query.tenant, query.state, query.handler);
        Ok(CoreJobQuery {
            search: filters.search,
            tenant: filters.tenant,
            state: filters.state,
            handler_kind: filters.handler_kind,
            sort: match query.sort {
                JobSort::Name => CoreJobSort::Name,
                JobSort::Tenant => CoreJobSort::Tenant,
                JobSort::NextRun => CoreJobSort::NextRun,
                JobSort::LastRun => CoreJobSort::LastRun,
                JobSort::Failures => CoreJobSort::Failures,
                JobSort::Updated => CoreJobSort::Updated,
            },
            descending: query.descending,
            after,
            limit: query.limit,
        })
    }
}

impl From<CoreJobPage> for JobPage {
    fn from(page: CoreJobPage) -> Self {
        JobPage {
            rows: page.jobs.into_iter().map(JobRow::from).collect(),
            total: u32::try_from(page.total).unwrap_or(u32::MAX),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        }
    }
}

/// One page of jobs.
#[tauri::command]
#[specta::specta]
pub async fn list_jobs(
    console: State<'_, Console>,
    query: JobQuery,
) -> Result<JobPage, CommandError> {
    let rota = console.rota().await?;
    Ok(rota.job_page(&query.try_into()?).await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn get_job(console: State<'_, Console>, id: String) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    Ok(rota.job(parse_id(&id)?).await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn create_job(
    console: State<'_, Console>,
    tenant: String,
    input: JobInput,
) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    let (definition, policy) = input.into_parts(None)?;
    let job = rota.add_job(&tenant, &definition, &policy).await?;
    console.schedules_changed().await;
    Ok(job.into())
}

/// Saves an edit made on `expectedVersion`; if the job changed since, nothing is saved and the
/// error (code `stale_version`) carries the current version, which `get_job` shows.
#[tauri::command]
#[specta::specta]
pub async fn update_job(
    console: State<'_, Console>,
    id: String,
    expected_version: String,
    input: JobInput,
) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    let expected = expected_version
        .parse::<i64>()
        .map_err(|_| CommandError::invalid("expectedVersion", "not a version number"))?;
    let id = parse_id(&id)?;
    // The stored handler holds the secrets the editor was shown masked and the redirect rule
    // it does not show. Read at any version: a stale edit is refused below by the version check.
    let current = rota.job(id).await?;
    let (mut definition, policy) = input.into_parts(Some(&current.handler))?;
    // An edited HTTP handler keeps the redirect rule the console does not show.
    if let (HandlerSpec::Http(edited), HandlerSpec::Http(shown)) =
        (&mut definition.handler, &current.handler)
    {
        edited.follow_redirects = shown.follow_redirects;
    }
    let job = rota.update_job(id, expected, &definition, Some(&policy)).await?;
    console.schedules_changed().await;
    Ok(job.into())
}

/// Runs the editor's unsaved definition once as a test (trigger `test`), validated as saving it
/// would be; the UI follows the run with `get_run`. `jobId` names the job being edited, if any:
/// its stored handler fills in the values the editor was shown masked, as a save does, and its
/// tenant is the test's.
#[tauri::command]
#[specta::specta]
pub async fn test_run(
    console: State<'_, Console>,
    tenant: String,
    job_id: Option<String>,
    input: JobInput,
) -> Result<RunAttempt, CommandError> {
    let rota = console.rota().await?;
    let (tenant, definition) = match job_id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => {
            let current = rota.job(parse_id(id)?).await?;
            let (mut definition, _) = input.into_parts(Some(&current.handler))?;
            if let (HandlerSpec::Http(edited), HandlerSpec::Http(shown)) =
                (&mut definition.handler, &current.handler)
            {
                edited.follow_redirects = shown.follow_redirects;
            }
            (current.tenant, definition)
        }
        None => (tenant, input.into_parts(None)?.0),
    };
    let run = rota.test_run(&tenant, &definition).await?;
    console.schedules_changed().await;
    Ok(RunAttempt::from(&run))
}

/// The names a `named` handler may use, with what each runs: the named-handler picker.
#[tauri::command]
#[specta::specta]
pub async fn list_named_handlers(
    console: State<'_, Console>,
) -> Result<Vec<NamedHandler>, CommandError> {
    let rota = console.rota().await?;
    let handlers = rota.named_handlers().await?;
    Ok(handlers
        .into_iter()
        .map(|handler| NamedHandler {
            name: handler.name,
            kind: handler.spec.as_ref().map(handler_kind),
            target: handler.spec.map(|spec| match spec {
                HandlerSpec::Http(http) => {
                    format!("{} {}", http.method, rota::redact::url(&http.url))
                }
                HandlerSpec::Command(command) => command.program,
                HandlerSpec::Named { name } => name,
            }),
        })
        .collect())
}
