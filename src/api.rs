//! The operations people perform, shared by the CLI and the desktop console. Every input is
//! validated here before anything is written, and every instant comes from the injected clock;
//! front ends only translate between their transport types and these calls.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::handler::{HandlerRegistry, HandlerSpec};
use crate::job::{Job, JobDefinition};
use crate::run::Run;
use crate::store::{JobFilter, NodeInfo, RunFilter, Store};
use crate::tenant::{validate_name, NewTenant, Tenant};

/// Rota's operations over one store.
#[derive(Clone)]
pub struct Rota<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    /// In-process handlers a `named` handler may refer to besides stored definitions.
    registry: HandlerRegistry,
    /// Who makes the changes, recorded in the audit log with each (see [`crate::audit`]).
    operator: String,
}

impl<S: Store> Rota<S> {
    /// Changes are recorded as made by the operator from the environment (`$ROTA_OPERATOR`,
    /// else the OS user) until [`Rota::with_operator`] says otherwise.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        let operator = crate::audit::resolve_operator(None);
        Rota { store, clock, registry: HandlerRegistry::default(), operator }
    }

    /// Records this operator (a `--operator` flag, a desktop setting) with every change made
    /// through this `Rota`; a blank name keeps the current one. Names are trimmed and cut to
    /// [`crate::audit::MAX_OPERATOR_LEN`] characters.
    pub fn with_operator(mut self, name: impl AsRef<str>) -> Self {
        let name = crate::audit::clean_operator(name.as_ref());
        if !name.is_empty() {
            self.operator = name;
        }
        self
    }

    /// Who changes made through this `Rota` are recorded as made by.
    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// Also accept jobs whose named handler is one of `registry`'s in-process handlers.
    pub fn with_registry(mut self, registry: HandlerRegistry) -> Self {
        self.registry = registry;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub async fn add_tenant(&self, tenant: &NewTenant) -> Result<Tenant> {
        tenant.validate()?;
        self.store.create_tenant(tenant, &self.operator, self.now()).await
    }

    pub async fn tenant(&self, name: &str) -> Result<Tenant> {
        self.store.tenant_by_name(name).await
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.store.list_tenants().await
    }

    /// Stores a named handler definition that jobs refer to with `HandlerSpec::Named`.
    pub async fn set_named_handler(&self, name: &str, spec: &HandlerSpec) -> Result<()> {
        validate_name("handler name", name)?;
        if matches!(spec, HandlerSpec::Named { .. }) {
            return Err(Error::invalid(
                "handler",
                name,
                "a named handler must be an http or command definition, not another name",
            ));
        }
        spec.validate().map_err(|error| Error::invalid("handler", name, error.to_string()))?;
        self.store.upsert_named_handler(name, spec, &self.operator, self.now()).await
    }

    /// Creates a job with the default policies; its first run is the schedule's next occurrence
    /// after now.
    pub async fn add_job(&self, tenant: &str, definition: &JobDefinition) -> Result<Job> {
        self.add_job_with_policy(tenant, definition, &JobPolicy::default()).await
    }

    /// Creates a job with the given policies.
    pub async fn add_job_with_policy(
        &self,
        tenant: &str,
        definition: &JobDefinition,
        policy: &JobPolicy,
    ) -> Result<Job> {
        let schedule = definition.validate()?;
        policy.validate(&schedule)?;
        self.check_named_handler_exists(&definition.handler).await?;
        let tenant = self.store.tenant_by_name(tenant).await?;
        let now = self.now();
        let next_run_at = schedule.next_after(now);
        self.store.create_job(tenant.id, definition, policy, next_run_at, &self.operator, now).await
    }

    /// Replaces a job's definition if nobody changed it since `expected_version`; the next run
    /// is recomputed from now. Its policies stay, and must still fit the new schedule.
    pub async fn update_job(
        &self,
        id: Uuid,
        expected_version: i64,
        definition: &JobDefinition,
    ) -> Result<Job> {
        let schedule = definition.validate()?;
        self.store.job(id).await?.policy.validate(&schedule)?;
        self.check_named_handler_exists(&definition.handler).await?;
        let now = self.now();
        let next_run_at = schedule.next_after(now);
        self.store
            .update_job(id, expected_version, definition, next_run_at, &self.operator, now)
            .await
    }

    /// Replaces a job's definition and policies if nobody changed the job since
    /// `expected_version` (the console's editor, which edits both). Both are validated before
    /// anything is written; each part is written only if it changed (the definition first), so
    /// an unchanged definition keeps its next run.
    pub async fn update_job_with_policy(
        &self,
        id: Uuid,
        expected_version: i64,
        definition: &JobDefinition,
        policy: &JobPolicy,
    ) -> Result<Job> {
        let schedule = definition.validate()?;
        policy.validate(&schedule)?;
        self.check_named_handler_exists(&definition.handler).await?;
        let current = self.store.job(id).await?;
        let policy_changed = current.policy != *policy;
        let now = self.now();
        let mut version = expected_version;
        let mut saved = None;
        if current.definition() != *definition || !policy_changed {
            let next_run_at = schedule.next_after(now);
            let job = self
                .store
                .update_job(id, expected_version, definition, next_run_at, &self.operator, now)
                .await?;
            version = job.version;
            saved = Some(job);
        }
        if policy_changed {
            saved =
                Some(self.store.update_job_policy(id, version, policy, &self.operator, now).await?);
        }
        saved.ok_or_else(|| Error::NotFound { what: "job", key: id.to_string() })
    }

    /// Every name a `named` handler may refer to: the stored definitions and the in-process
    /// handlers of this `Rota`'s registry (`None` spec), by name.
    pub async fn handler_names(&self) -> Result<Vec<(String, Option<HandlerSpec>)>> {
        let mut names: Vec<(String, Option<HandlerSpec>)> = self
            .store
            .list_named_handlers()
            .await?
            .into_iter()
            .map(|(name, spec)| (name, Some(spec)))
            .collect();
        for name in self.registry.names() {
            if !names.iter().any(|(stored, _)| stored == name) {
                names.push((name.to_owned(), None));
            }
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(names)
    }

    async fn check_named_handler_exists(&self, handler: &HandlerSpec) -> Result<()> {
        if let HandlerSpec::Named { name } = handler {
            let in_process = self.registry.get(name).is_some();
            if !in_process && self.store.named_handler(name).await?.is_none() {
                return Err(Error::invalid(
                    "handler.name",
                    name,
                    "no named handler with this name; define it first (rota handler set)",
                ));
            }
        }
        Ok(())
    }

    pub async fn job(&self, tenant: &str, name: &str) -> Result<Job> {
        self.store.job_by_name(tenant, name).await
    }

    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        self.store.list_jobs(filter).await
    }

    /// Queues a run of the job now ("run now"), optionally with another payload.
    pub async fn trigger(
        &self,
        tenant: &str,
        name: &str,
        payload: Option<&serde_json::Value>,
    ) -> Result<Run> {
        let job = self.store.job_by_name(tenant, name).await?;
        self.store.enqueue_manual(job.id, payload, &self.operator, self.now()).await
    }

    pub async fn run(&self, id: Uuid) -> Result<Run> {
        self.store.run(id).await
    }

    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        self.store.list_runs(filter).await
    }

    pub async fn list_nodes(&self) -> Result<Vec<NodeInfo>> {
        self.store.list_nodes().await
    }
}

// Run-lifecycle policies and the operations around them (issue 4).

pub use crate::policy::{JobPolicy, RateLimit, TenantPolicy};
pub use crate::store::{BackfillReport, OutboxEvent};

/// A backfill creates at most this many runs unless asked for another bound.
pub const DEFAULT_BACKFILL_MAX: u32 = 1000;
/// No backfill creates more runs than this, whatever is asked.
pub const MAX_BACKFILL: u32 = 10_000;
/// Runs deleted per transaction by [`Rota::prune_runs`].
pub const PRUNE_BATCH: u32 = 1000;

impl<S: Store> Rota<S> {
    /// Replaces a job's policies if nobody changed the job since `expected_version`
    /// (`rota job set` reads the job, changes what its flags say, and writes it back).
    pub async fn set_job_policy(
        &self,
        id: Uuid,
        expected_version: i64,
        policy: &JobPolicy,
    ) -> Result<Job> {
        let job = self.store.job(id).await?;
        policy.validate(&job.parsed_schedule()?)?;
        self.store.update_job_policy(id, expected_version, policy, &self.operator, self.now()).await
    }

    /// Pauses a job: it is not due until resumed. On resume, the occurrences it missed are
    /// recorded (and caught up) per its missed policy.
    pub async fn pause_job(&self, tenant: &str, name: &str) -> Result<Job> {
        let job = self.store.job_by_name(tenant, name).await?;
        self.store.set_job_paused(job.id, true, &self.operator, self.now()).await
    }

    /// Resumes a paused job; the next tick handles what it missed.
    pub async fn resume_job(&self, tenant: &str, name: &str) -> Result<Job> {
        let job = self.store.job_by_name(tenant, name).await?;
        self.store.set_job_paused(job.id, false, &self.operator, self.now()).await
    }

    /// Enables a disabled job again: its failure streak restarts, `operator` is recorded (on
    /// the job and in a `job.re_enabled` outbox event), and its next run is computed from now,
    /// so the time it was disabled causes no burst. With `probation` (or the job's probation
    /// policy) the next failed occurrence disables it again.
    pub async fn enable_job(
        &self,
        tenant: &str,
        name: &str,
        operator: &str,
        probation: bool,
    ) -> Result<Job> {
        validate_name("operator", operator)?;
        let job = self.store.job_by_name(tenant, name).await?;
        let now = self.now();
        let next_run_at = job.parsed_schedule()?.next_after(now);
        let probation = probation || job.policy.probation;
        self.store.enable_job(job.id, operator, probation, next_run_at, now).await
    }

    /// Disables a job; the reason people read names `operator`.
    pub async fn disable_job(
        &self,
        tenant: &str,
        name: &str,
        operator: &str,
        reason: Option<&str>,
    ) -> Result<Job> {
        validate_name("operator", operator)?;
        if reason == Some(crate::store::AUTO_DISABLED_REASON) {
            return Err(Error::invalid("reason", "auto", "reserved for Rota's own auto-disable"));
        }
        let job = self.store.job_by_name(tenant, name).await?;
        let reason = match reason {
            Some(reason) => format!("{reason} (by {operator})"),
            None => format!("disabled by {operator}"),
        };
        let now = self.now();
        self.store
            .set_job_enabled(job.id, false, Some(&reason), job.next_run_at, operator, now)
            .await
    }

    /// Replaces a tenant's rate limit and job defaults.
    pub async fn set_tenant_policy(&self, name: &str, policy: &TenantPolicy) -> Result<Tenant> {
        policy.validate()?;
        self.store.set_tenant_policy(name, policy, &self.operator, self.now()).await
    }

    /// The occurrences of a job in `[from, to]`, which must lie in the past: what
    /// [`Rota::backfill`] would queue (`rota job backfill --dry-run`). More than `max` (default
    /// [`DEFAULT_BACKFILL_MAX`]) is an error: the range is refused, not cut.
    pub async fn backfill_occurrences(
        &self,
        tenant: &str,
        name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: Option<u32>,
    ) -> Result<(Job, Vec<DateTime<Utc>>)> {
        let max = max.unwrap_or(DEFAULT_BACKFILL_MAX);
        if max == 0 || max > MAX_BACKFILL {
            return Err(Error::invalid("max", max, format!("allowed 1-{MAX_BACKFILL}")));
        }
        if from >= to {
            return Err(Error::invalid("from", from.to_rfc3339(), "must be before --to"));
        }
        if to > self.now() {
            return Err(Error::invalid(
                "to",
                to.to_rfc3339(),
                "must not be in the future: a backfill covers past occurrences",
            ));
        }
        let job = self.store.job_by_name(tenant, name).await?;
        let schedule = job.parsed_schedule()?;
        let occurrences: Vec<DateTime<Utc>> = schedule
            .occurrences_after(from - chrono::Duration::milliseconds(1))
            .map(|occurrence| occurrence.at)
            .take_while(|at| *at <= to)
            .take(max as usize + 1)
            .collect();
        if occurrences.len() > max as usize {
            return Err(Error::invalid(
                "backfill range",
                format!("{} to {}", from.to_rfc3339(), to.to_rfc3339()),
                format!(
                    "has more than {max} occurrences; narrow the range or raise --max \
                     (at most {MAX_BACKFILL})"
                ),
            ));
        }
        Ok((job, occurrences))
    }

    /// Queues a run (trigger `backfill`) for every occurrence of a job in the past range
    /// `[from, to]` that has not run: idempotent (running it twice adds nothing), bounded by
    /// `max` (see [`Rota::backfill_occurrences`]). The runs count against the tenant's limits.
    pub async fn backfill(
        &self,
        tenant: &str,
        name: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: Option<u32>,
    ) -> Result<BackfillReport> {
        let (job, occurrences) = self.backfill_occurrences(tenant, name, from, to, max).await?;
        self.store.backfill(job.id, &occurrences, &self.operator, self.now()).await
    }

    /// Deletes finished runs scheduled more than `older_than_days` ago, always keeping the last
    /// `keep_last_per_job` runs of every job; returns how many were deleted.
    pub async fn prune_runs(&self, older_than_days: u32, keep_last_per_job: u32) -> Result<u64> {
        if !(1..=36_500).contains(&older_than_days) {
            return Err(Error::invalid("older_than_days", older_than_days, "allowed 1-36500"));
        }
        let before = self.now() - chrono::Duration::days(i64::from(older_than_days));
        self.store.prune_runs(before, keep_last_per_job, PRUNE_BATCH).await
    }

    /// Deletes notification events settled (delivered or given up on) more than
    /// `older_than_days` ago and the delivery log of that age, except the attempts of events
    /// still being delivered; returns (events, deliveries) deleted.
    pub async fn prune_notifications(&self, older_than_days: u32) -> Result<(u64, u64)> {
        if !(1..=36_500).contains(&older_than_days) {
            return Err(Error::invalid("older_than_days", older_than_days, "allowed 1-36500"));
        }
        let before = self.now() - chrono::Duration::days(i64::from(older_than_days));
        self.store.prune_notifications(before, PRUNE_BATCH).await
    }

    /// The outbox's events (`job.auto_disabled`, `job.re_enabled`, `run.failed`,
    /// `tenant.throttled`), oldest first.
    pub async fn outbox_events(&self, limit: u32) -> Result<Vec<OutboxEvent>> {
        self.store.list_outbox(limit).await
    }
}

// The console's views and editor helpers (the desktop app in `src-tauri` calls these; they are
// plain core operations any front end may use).

pub use crate::store::{
    CursorKey, JobCursor, JobPage, JobQuery, JobSort, JobState, TenantOverview, TenantUpdate,
};

/// How far back [`Rota::tenant_overview`] counts failed runs.
pub const RECENT_FAILURES: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// How far ahead [`preview_schedule`] looks for daylight-saving effects.
pub const DST_LOOKAHEAD: chrono::TimeDelta = chrono::TimeDelta::days(366);
/// The largest page [`Rota::job_page`] returns.
pub const MAX_JOB_PAGE: u32 = 1000;

impl<S: Store> Rota<S> {
    /// Every tenant, by name, with its live counts (failures of the last [`RECENT_FAILURES`]).
    pub async fn tenant_overview(&self) -> Result<Vec<TenantOverview>> {
        self.store.tenant_overview(self.now() - RECENT_FAILURES).await
    }

    /// One tenant's line of [`Rota::tenant_overview`].
    pub async fn tenant_overview_of(&self, name: &str) -> Result<TenantOverview> {
        self.tenant_overview()
            .await?
            .into_iter()
            .find(|overview| overview.tenant.name == name)
            .ok_or_else(|| Error::NotFound { what: "tenant", key: name.to_owned() })
    }

    /// Creates a tenant with a rate limit and job defaults; both are validated before anything
    /// is written.
    pub async fn add_tenant_with_policy(
        &self,
        tenant: &NewTenant,
        policy: &TenantPolicy,
    ) -> Result<Tenant> {
        tenant.validate()?;
        policy.validate()?;
        let created = self.store.create_tenant(tenant, &self.operator, self.now()).await?;
        if *policy == TenantPolicy::default() {
            return Ok(created);
        }
        self.store.set_tenant_policy(&created.name, policy, &self.operator, self.now()).await
    }

    /// Changes a tenant's limits (as [`Rota::update_tenant`]) and, when given, replaces its rate
    /// limit and job defaults; everything is validated before anything is written.
    pub async fn update_tenant_with_policy(
        &self,
        name: &str,
        update: &TenantUpdate,
        policy: Option<&TenantPolicy>,
    ) -> Result<Tenant> {
        if let Some(policy) = policy {
            policy.validate()?;
        }
        let updated = self.update_tenant(name, update).await?;
        match policy {
            Some(policy) if *policy != updated.policy => {
                self.store.set_tenant_policy(name, policy, &self.operator, self.now()).await
            }
            _ => Ok(updated),
        }
    }

    /// Changes a tenant's limits or pauses/resumes it; `None` fields stay as they are.
    pub async fn update_tenant(&self, name: &str, update: &TenantUpdate) -> Result<Tenant> {
        if let Some(max_concurrent) = update.max_concurrent {
            crate::tenant::validate_limit("max_concurrent", max_concurrent)?;
        }
        if let Some(weight) = update.weight {
            crate::tenant::validate_limit("weight", weight)?;
        }
        self.store.update_tenant(name, update, &self.operator, self.now()).await
    }

    pub async fn job_by_id(&self, id: Uuid) -> Result<Job> {
        self.store.job(id).await
    }

    /// One page of jobs, filtered, sorted and counted by the database.
    pub async fn job_page(&self, query: &JobQuery) -> Result<JobPage> {
        if query.limit == 0 || query.limit > MAX_JOB_PAGE {
            return Err(Error::invalid("limit", query.limit, format!("allowed 1-{MAX_JOB_PAGE}")));
        }
        if query.search.as_ref().is_some_and(|search| search.chars().count() > 200) {
            return Err(Error::invalid("search", "(long text)", "must be at most 200 characters"));
        }
        if query.after.as_ref().is_some_and(|cursor| !cursor.fits(query.sort, query.descending)) {
            return Err(Error::invalid(
                "cursor",
                "(cursor)",
                "belongs to another sort order; start again from the first page",
            ));
        }
        self.store.job_page(query).await
    }
}

/// Parses a job payload typed by a person; the error says where the JSON is broken.
pub fn parse_payload(text: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text).map_err(|error| {
        Error::invalid(
            "payload",
            "(JSON text)",
            format!("not valid JSON: {error}; write {{}} for no payload"),
        )
    })
}

/// Every IANA zone name the cron engine accepts, sorted.
pub fn time_zone_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> =
        chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name()).collect();
    names.sort_unstable();
    names
}

/// What the schedule editor shows about an expression: computed by the engine's own code.
#[derive(Debug, Clone)]
pub struct SchedulePreview {
    pub description: String,
    pub kind: crate::cron::JobKind,
    pub timezone: chrono_tz::Tz,
    pub viewer_timezone: chrono_tz::Tz,
    /// The next runs after `now`.
    pub runs: Vec<crate::cron::Occurrence>,
    /// Daylight-saving transitions within [`DST_LOOKAHEAD`] that change when the job runs.
    pub dst_effects: Vec<crate::cron::DstEffect>,
}

/// Validates `expression` in `timezone` and explains it: the description, the next `count` runs
/// after `now`, and the daylight-saving effects of the coming year. `viewer_timezone` is where
/// the person looking is (their runs are shown in both zones).
pub fn preview_schedule(
    expression: &str,
    timezone: &str,
    viewer_timezone: &str,
    now: DateTime<Utc>,
    count: usize,
) -> Result<SchedulePreview> {
    let schedule = crate::cron::Schedule::parse(expression, timezone)?;
    let viewer: chrono_tz::Tz = viewer_timezone.parse().map_err(|_| {
        Error::invalid("viewer time zone", viewer_timezone, "not a time zone of the IANA database")
    })?;
    Ok(SchedulePreview {
        description: schedule.describe(),
        kind: schedule.kind(),
        timezone: schedule.timezone(),
        viewer_timezone: viewer,
        runs: schedule.occurrences_after(now).take(count.min(1000)).collect(),
        dst_effects: schedule.dst_effects(now, now + DST_LOOKAHEAD),
    })
}

// Tenant settings, named handlers and job deletion: used by `rota tenant set`, by schedules as
// files (`rota export`, `rota apply`) and by the crontab import.

pub use crate::store::{TenantSettings, TenantSettingsUpdate};

/// Checks a tenant's settings: an http(s) webhook URL, an address with an `@`, limits in range,
/// a valid user name, an absolute working directory. The error names the field.
pub fn validate_tenant_settings(settings: &TenantSettings) -> Result<()> {
    if let Some(url) = &settings.webhook_url {
        crate::handler::HttpSpec::post(url.clone())
            .parsed_url()
            .map_err(|error| Error::invalid("webhook_url", "", error.to_string()))?;
    }
    if let Some(email) = &settings.notify_email {
        let valid = email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && !host.is_empty() && !email.chars().any(char::is_whitespace)
        });
        if !valid {
            return Err(Error::invalid("notify_email", email, "not an email address"));
        }
    }
    settings
        .command_limits
        .validate()
        .map_err(|error| Error::invalid("limits", "", error.to_string()))?;
    if let Some(user) = &settings.run_as {
        crate::handler::spec::validate_user_name(user)
            .map_err(|error| Error::invalid("run_as", user, error.to_string()))?;
    }
    if let Some(dir) = &settings.work_dir {
        if !dir.is_absolute() {
            return Err(Error::invalid("work_dir", dir.display(), "must be an absolute path"));
        }
    }
    Ok(())
}

impl<S: Store> Rota<S> {
    /// The channels and command defaults of tenant `name` (the secret stays redacted in `Debug`).
    pub async fn tenant_settings(&self, name: &str) -> Result<TenantSettings> {
        self.store.tenant_settings(name).await
    }

    /// Changes a tenant's channels and command defaults; `None` fields stay as they are.
    pub async fn update_tenant_settings(
        &self,
        name: &str,
        update: &TenantSettingsUpdate,
    ) -> Result<TenantSettings> {
        let mut merged = self.store.tenant_settings(name).await?;
        if let Some(url) = &update.webhook_url {
            merged.webhook_url = url.clone();
        }
        if let Some(email) = &update.notify_email {
            merged.notify_email = email.clone();
        }
        if let Some(limits) = &update.command_limits {
            merged.command_limits = limits.clone();
        }
        if let Some(user) = &update.run_as {
            merged.run_as = user.clone();
        }
        if let Some(dir) = &update.work_dir {
            merged.work_dir = dir.clone();
        }
        validate_tenant_settings(&merged)?;
        self.store.update_tenant_settings(name, update, &self.operator, self.now()).await
    }

    /// Every stored named handler definition, by name.
    pub async fn named_handlers(&self) -> Result<Vec<(String, HandlerSpec)>> {
        self.store.list_named_handlers().await
    }

    /// Deletes a job and its run history.
    pub async fn delete_job(&self, tenant: &str, name: &str) -> Result<()> {
        let job = self.store.job_by_name(tenant, name).await?;
        self.store.delete_job(job.id, &self.operator, self.now()).await
    }
}

// The console's run views (issue 7): run details, the runs of a job, the timeline with the runs
// the schedules will make, the overview, and the change feed a live view follows. The rules are
// in `crate::timeline`; these read through bounded, indexed store queries.

pub use crate::timeline::{
    ChangeCursor, Changes, Projection, RunBucket, RunSpan, SpanQuery, Timeline,
};

/// The most runs [`Rota::job_runs`] returns at once.
pub const MAX_JOB_RUNS: u32 = 1000;
/// How far back the overview's throughput chart looks, and its bucket.
pub const OVERVIEW_HISTORY: chrono::TimeDelta = chrono::TimeDelta::hours(24);
pub const OVERVIEW_BUCKET: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How many runs, jobs and failures each list of the overview shows.
pub const OVERVIEW_RUNNING: u32 = 50;
pub const OVERVIEW_LIST: u32 = 10;

/// Every attempt of one occurrence of a job, first attempt first.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub job: Job,
    pub scheduled_at: DateTime<Utc>,
    pub runs: Vec<Run>,
    /// The `Idempotency-Key` every attempt carried: `<job_id>:<scheduled_for>`.
    pub idempotency_key: String,
}

/// A scheduler node with the number of runs it is running.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    pub node: NodeInfo,
    pub running: u64,
}

/// What the console's overview shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub now: DateTime<Utc>,
    /// Every tenant with its counts (queued, running, failed in the last [`RECENT_FAILURES`]).
    pub tenants: Vec<TenantOverview>,
    /// Runs running now, oldest occurrence first (at most [`OVERVIEW_RUNNING`]).
    pub running: Vec<Run>,
    /// The latest failed runs.
    pub recent_failures: Vec<Run>,
    /// Jobs Rota disabled after failures, most recently changed first.
    pub auto_disabled: Vec<Job>,
    /// Enabled, unpaused jobs that run next, soonest first.
    pub next_runs: Vec<Job>,
    pub nodes: Vec<NodeStatus>,
    /// Runs started per [`OVERVIEW_BUCKET`] over the last [`OVERVIEW_HISTORY`], with lateness.
    pub buckets: Vec<RunBucket>,
    pub bucket_from: DateTime<Utc>,
}

impl<S: Store> Rota<S> {
    /// Every attempt of the occurrence `run_id` belongs to.
    pub async fn occurrence(&self, run_id: Uuid) -> Result<Occurrence> {
        let run = self.store.run(run_id).await?;
        let job = self.store.job(run.job_id).await?;
        let runs = self.store.occurrence_runs(run.job_id, run.scheduled_at).await?;
        let idempotency_key = format!(
            "{}:{}",
            run.job_id,
            crate::handler::envelope::format_instant(run.scheduled_at)
        );
        Ok(Occurrence { job, scheduled_at: run.scheduled_at, runs, idempotency_key })
    }

    /// A job's latest runs, newest occurrence first (at most `limit`, 1 to [`MAX_JOB_RUNS`]).
    pub async fn job_runs(&self, job_id: Uuid, limit: u32) -> Result<Vec<Run>> {
        if limit == 0 || limit > MAX_JOB_RUNS {
            return Err(Error::invalid("limit", limit, format!("allowed 1-{MAX_JOB_RUNS}")));
        }
        let filter = RunFilter { job_id: Some(job_id), limit: Some(limit), ..RunFilter::default() };
        self.store.list_runs(&filter).await
    }

    /// The runs of a window (at most `query.limit`, 1 to [`crate::timeline::MAX_SPANS`]) and,
    /// where the window reaches past now, the runs the schedules will make in it.
    pub async fn timeline(&self, query: &SpanQuery) -> Result<Timeline> {
        crate::timeline::validate_window(query.from, query.to)?;
        let max = crate::timeline::MAX_SPANS;
        if query.limit == 0 || query.limit > max {
            return Err(Error::invalid("limit", query.limit, format!("allowed 1-{max}")));
        }
        let now = self.now();
        let limit = query.limit as usize;
        let mut spans =
            self.store.run_spans(&SpanQuery { limit: query.limit + 1, ..query.clone() }).await?;
        let truncated = spans.len() > limit;
        spans.truncate(limit);
        let (projections, projections_truncated) = if query.to > now {
            let most = crate::timeline::MAX_PROJECTED_JOBS;
            let mut jobs = self
                .store
                .jobs_due_before(query.to, query.tenant.as_deref(), query.job_id, most + 1)
                .await?;
            let jobs_cut = jobs.len() > most as usize;
            jobs.truncate(most as usize);
            let since = now - crate::timeline::DURATION_HISTORY;
            let durations = self.store.average_durations(since).await?.into_iter().collect();
            let (projections, cut) =
                crate::timeline::project(&jobs, &durations, query.from, query.to, now);
            (projections, cut || jobs_cut)
        } else {
            (Vec::new(), false)
        };
        Ok(Timeline {
            from: query.from,
            to: query.to,
            now,
            spans,
            truncated,
            projections,
            projections_truncated,
        })
    }

    /// Everything the console's overview shows, read at once.
    pub async fn overview(&self) -> Result<Overview> {
        let now = self.now();
        let running = self
            .store
            .list_runs(&RunFilter {
                status: Some(crate::run::RunStatus::Running),
                limit: Some(OVERVIEW_RUNNING),
                ..RunFilter::default()
            })
            .await?;
        let recent_failures = self
            .store
            .list_runs(&RunFilter {
                status: Some(crate::run::RunStatus::Failed),
                limit: Some(OVERVIEW_LIST),
                ..RunFilter::default()
            })
            .await?;
        let auto_disabled = self
            .store
            .job_page(&JobQuery {
                state: Some(JobState::AutoDisabled),
                sort: JobSort::Updated,
                descending: true,
                limit: OVERVIEW_LIST,
                ..JobQuery::default()
            })
            .await?
            .jobs;
        let horizon = now + chrono::TimeDelta::days(366);
        let next_runs = self.store.jobs_due_before(horizon, None, None, OVERVIEW_LIST).await?;
        let running_by_node: std::collections::HashMap<String, u64> =
            self.store.running_by_node().await?.into_iter().collect();
        let nodes = self
            .store
            .list_nodes()
            .await?
            .into_iter()
            .map(|node| NodeStatus {
                running: running_by_node.get(&node.id).copied().unwrap_or(0),
                node,
            })
            .collect();
        // Buckets aligned to the clock (15-minute marks), ending with the current one.
        let bucket_ms = i64::try_from(OVERVIEW_BUCKET.as_millis()).unwrap_or(i64::MAX);
        let start_ms = (now - OVERVIEW_HISTORY).timestamp_millis();
        let bucket_from =
            DateTime::from_timestamp_millis(start_ms - start_ms.rem_euclid(bucket_ms))
                .unwrap_or(now - OVERVIEW_HISTORY);
        let buckets = self
            .store
            .run_buckets(bucket_from, now + chrono::TimeDelta::milliseconds(1), OVERVIEW_BUCKET)
            .await?;
        Ok(Overview {
            now,
            tenants: self.store.tenant_overview(now - RECENT_FAILURES).await?,
            running,
            recent_failures,
            auto_disabled,
            next_runs,
            nodes,
            buckets,
            bucket_from,
        })
    }

    /// Jobs Rota disabled after failures, most recently changed first (at most `limit`, 1 to
    /// [`MAX_JOB_PAGE`]).
    pub async fn auto_disabled_jobs(&self, limit: u32) -> Result<Vec<Job>> {
        let query = JobQuery {
            state: Some(JobState::AutoDisabled),
            sort: JobSort::Updated,
            descending: true,
            limit,
            ..JobQuery::default()
        };
        Ok(self.job_page(&query).await?.jobs)
    }

    /// What changed since `cursor` (runs created, started, finished; job and tenant edits; node
    /// heartbeats), moving the cursor. The first call only sets the cursor.
    pub async fn changes(&self, cursor: &mut ChangeCursor) -> Result<Changes> {
        let now = self.now();
        let since = cursor.at.unwrap_or(now) - crate::timeline::CHANGE_MARGIN;
        let most = crate::timeline::MAX_CHANGES;
        let watched = &cursor.running[..cursor.running.len().min(crate::timeline::MAX_WATCHED)];
        let mut runs = self.store.changed_runs(since, since, watched, most + 1).await?;
        // The watched runs come on top of the ranges' limit.
        let cap = most as usize + watched.len();
        let truncated = runs.len() > cap;
        runs.truncate(cap);
        let marks = self.store.change_marks().await?;
        Ok(crate::timeline::fold_changes(cursor, now, runs, truncated, marks))
    }
}

// The audit log and the delivery log (issue 5).

pub use crate::audit::{AuditAction, AuditEntry, AuditFilter};
pub use crate::notify::{Delivery, DeliveryFilter};

/// The most entries [`Rota::audit_log`] and [`Rota::deliveries`] return at once.
pub const MAX_LOG_ENTRIES: u32 = 10_000;

impl<S: Store> Rota<S> {
    /// The audit log, newest first: who changed what, with the record before and after.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        if filter.limit.is_some_and(|limit| limit == 0 || limit > MAX_LOG_ENTRIES) {
            let limit = filter.limit.unwrap_or_default();
            return Err(Error::invalid("limit", limit, format!("allowed 1-{MAX_LOG_ENTRIES}")));
        }
        self.store.list_audit(filter).await
    }

    /// The notification delivery log, newest first: every attempt on every channel.
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>> {
        if filter.limit.is_some_and(|limit| limit == 0 || limit > MAX_LOG_ENTRIES) {
            let limit = filter.limit.unwrap_or_default();
            return Err(Error::invalid("limit", limit, format!("allowed 1-{MAX_LOG_ENTRIES}")));
        }
        self.store.list_deliveries(filter).await
    }
}

/// Checks an operator name typed by a person (the console's operator setting): not blank, no
/// surrounding whitespace or control characters, at most [`crate::audit::MAX_OPERATOR_LEN`]
/// characters. The error names the field `operator`.
pub fn validate_operator(name: &str) -> Result<()> {
    validate_name("operator", name)
}
