//! Jobs: creating and editing them (definition and policies, with optimistic concurrency),
//! pausing, disabling and enabling them, deleting them; the named handlers they may refer to;
//! and the schedule editor's helpers (payload parsing, previews, zone names).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::access::in_tenant;
use super::Rota;
use crate::access::Capability;
use crate::error::{Error, Result};
use crate::handler::HandlerSpec;
use crate::job::{Job, JobDefinition};
use crate::store::{JobFilter, Store};
use crate::tenant::validate_name;

pub use crate::policy::JobPolicy;

/// How far ahead [`preview_schedule`] looks for daylight-saving effects.
pub const DST_LOOKAHEAD: chrono::TimeDelta = chrono::TimeDelta::days(366);

/// Which job an operation is about. The console names a job by its id: it acts on the job it
/// read, even if someone renames the job meanwhile. The CLI and schedule files name it by its
/// tenant and name, resolved to the id once, when the operation starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobRef<'a> {
    Id(Uuid),
    Name { tenant: &'a str, name: &'a str },
}

impl<'a> JobRef<'a> {
    /// The job called `name` in `tenant`.
    pub fn named(tenant: &'a str, name: &'a str) -> Self {
        JobRef::Name { tenant, name }
    }
}

impl From<Uuid> for JobRef<'_> {
    fn from(id: Uuid) -> Self {
        JobRef::Id(id)
    }
}

/// A name a `named` handler may refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedHandler {
    pub name: String,
    /// The stored definition; `None` for an in-process handler of the [`Rota`]'s registry,
    /// which has no definition to show or export.
    pub spec: Option<HandlerSpec>,
}

impl<S: Store> Rota<S> {
    /// Creates a job with `policy` (`JobPolicy::default()` leaves retries and the auto-disable
    /// threshold to the tenant's defaults); its first run is the schedule's next occurrence
    /// after now.
    pub async fn add_job(
        &self,
        tenant: &str,
        definition: &JobDefinition,
        policy: &JobPolicy,
    ) -> Result<Job> {
        let schedule = definition.validate()?;
        policy.validate(&schedule)?;
        self.require(Capability::Edit, tenant).await?;
        self.check_named_handler_exists(&definition.handler).await?;
        self.check_program_here(&definition.handler)?;
        self.check_run_as_ceiling(tenant, &definition.handler).await?;
        let tenant = self.store.tenant_by_name(tenant).await?;
        let now = self.now();
        let next_run_at = self.next_slot(tenant.id, &schedule, policy, now).await?;
        self.store
            .create_job(tenant.id, definition, policy, next_run_at, &self.operator, now)
            .await
            .map_err(in_tenant(Capability::Edit, &tenant.name))
    }

    /// Replaces a job's definition and, when `policy` is given, its policies, if nobody changed
    /// the job since `expected_version` (the console's editor edits both; a crontab import only
    /// the definition). Everything is validated before anything is written; without `policy`
    /// the job's policies stay and must still fit the new schedule. The definition is written
    /// (and the next run recomputed from now) unless only the policies changed, so a policy
    /// edit keeps the next run.
    pub async fn update_job(
        &self,
        id: Uuid,
        expected_version: i64,
        definition: &JobDefinition,
        policy: Option<&JobPolicy>,
    ) -> Result<Job> {
        let schedule = definition.validate()?;
        if let Some(policy) = policy {
            policy.validate(&schedule)?;
        }
        let current = self.store.job(id).await?;
        self.require(Capability::Edit, &current.tenant).await?;
        self.check_named_handler_exists(&definition.handler).await?;
        self.check_program_here(&definition.handler)?;
        self.check_run_as_ceiling(&current.tenant, &definition.handler).await?;
        let policy = match policy {
            Some(policy) => policy,
            None => {
                current.policy.validate(&schedule)?;
                &current.policy
            }
        };
        let policy_changed = current.policy != *policy;
        let now = self.now();
        let mut version = expected_version;
        let mut saved = None;
        if current.definition() != *definition || !policy_changed {
            let next_run_at = self.next_slot(current.tenant_id, &schedule, policy, now).await?;
            let job = self
                .store
                .update_job(id, expected_version, definition, next_run_at, &self.operator, now)
                .await
                .map_err(in_tenant(Capability::Edit, &current.tenant))?;
            version = job.version;
            saved = Some(job);
        }
        if policy_changed {
            let next_slot = self.next_slot(current.tenant_id, &schedule, policy, now).await?;
            saved = Some(
                self.store
                    .update_job_policy(id, version, policy, &self.operator, now)
                    .await
                    .map_err(in_tenant(Capability::Edit, &current.tenant))?,
            );
            if let Some(at) = next_slot.filter(|_| calendars_changed(&current.policy, policy)) {
                self.store.bring_next_run_forward(id, at).await?;
            }
        }
        saved.ok_or_else(|| Error::NotFound { what: "job", key: id.to_string() })
    }

    /// Replaces a job's policies if nobody changed the job since `expected_version`
    /// (`rota job set` reads the job, changes what its flags say, and writes it back).
    pub async fn set_job_policy(
        &self,
        id: Uuid,
        expected_version: i64,
        policy: &JobPolicy,
    ) -> Result<Job> {
        let job = self.store.job(id).await?;
        let schedule = job.parsed_schedule()?;
        policy.validate(&schedule)?;
        self.require(Capability::Edit, &job.tenant).await?;
        let now = self.now();
        // Also refuses a calendar name that does not exist, before anything is written.
        let next_slot = self.next_slot(job.tenant_id, &schedule, policy, now).await?;
        let saved = self
            .store
            .update_job_policy(id, expected_version, policy, &self.operator, now)
            .await
            .map_err(in_tenant(Capability::Edit, &job.tenant))?;
        match next_slot.filter(|_| calendars_changed(&job.policy, policy)) {
            Some(at) => {
                self.store.bring_next_run_forward(id, at).await?;
                self.store.job(id).await
            }
            None => Ok(saved),
        }
    }

    /// One job, as stored now.
    pub async fn job(&self, job: impl Into<JobRef<'_>>) -> Result<Job> {
        match job.into() {
            JobRef::Id(id) => self.store.job(id).await,
            JobRef::Name { tenant, name } => self.store.job_by_name(tenant, name).await,
        }
    }

    /// The id of `job` and its tenant's name, once the current role is known to have
    /// `needed` there (a job it cannot see is `NotFound`).
    pub(super) async fn job_for(
        &self,
        job: JobRef<'_>,
        needed: Capability,
    ) -> Result<(Uuid, String)> {
        let job = self.job(job).await?;
        self.require(needed, &job.tenant).await?;
        Ok((job.id, job.tenant))
    }

    /// See [`Rota::checking_programs_here`].
    pub(super) fn check_program_here(&self, handler: &HandlerSpec) -> Result<()> {
        let HandlerSpec::Command(command) = handler else { return Ok(()) };
        let program = std::path::Path::new(&command.program);
        if !self.programs_here || command.shell || !program.is_absolute() || program.is_file() {
            return Ok(());
        }
        Err(Error::invalid(
            "handler.program",
            &command.program,
            "does not exist on this machine, which runs the job's commands; check the path \
             (`command -v NAME` prints where a program is)",
        ))
    }

    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        self.store.list_jobs(filter).await
    }

    /// Pauses a job: it is not due until resumed. On resume, the occurrences it missed are
    /// recorded (and caught up) per its missed policy.
    pub async fn pause_job(&self, job: impl Into<JobRef<'_>>) -> Result<Job> {
        let (id, tenant) = self.job_for(job.into(), Capability::Operate).await?;
        self.store
            .set_job_paused(id, true, &self.operator, self.now())
            .await
            .map_err(in_tenant(Capability::Operate, &tenant))
    }

    /// Resumes a paused job; the next tick handles what it missed.
    pub async fn resume_job(&self, job: impl Into<JobRef<'_>>) -> Result<Job> {
        let (id, tenant) = self.job_for(job.into(), Capability::Operate).await?;
        self.store
            .set_job_paused(id, false, &self.operator, self.now())
            .await
            .map_err(in_tenant(Capability::Operate, &tenant))
    }

    /// Enables a disabled job again: its failure streak restarts, `operator` is recorded (on
    /// the job and in a `job.re_enabled` outbox event), and its next run is its next slot
    /// after now (its calendars honoured), so the time it was disabled causes no burst. With
    /// `probation` (or the job's probation policy) the next failed occurrence disables it
    /// again.
    pub async fn enable_job(
        &self,
        job: impl Into<JobRef<'_>>,
        operator: &str,
        probation: bool,
    ) -> Result<Job> {
        validate_name("operator", operator)?;
        let job = self.job(job).await?;
        self.require(Capability::Operate, &job.tenant).await?;
        let now = self.now();
        let schedule = job.parsed_schedule()?;
        let next_run_at = self.next_slot(job.tenant_id, &schedule, &job.policy, now).await?;
        let probation = probation || job.policy.probation;
        self.store
            .enable_job(job.id, operator, probation, next_run_at, now)
            .await
            .map_err(in_tenant(Capability::Operate, &job.tenant))
    }

    /// Disables a job; the reason people read names `operator`.
    pub async fn disable_job(
        &self,
        job: impl Into<JobRef<'_>>,
        operator: &str,
        reason: Option<&str>,
    ) -> Result<Job> {
        validate_name("operator", operator)?;
        let job = self.job(job).await?;
        self.require(Capability::Operate, &job.tenant).await?;
        let reason = match reason {
            Some(reason) => format!("{reason} (by {operator})"),
            None => format!("disabled by {operator}"),
        };
        let now = self.now();
        self.store
            .set_job_enabled(job.id, false, Some(&reason), job.next_run_at, operator, now)
            .await
            .map_err(in_tenant(Capability::Operate, &job.tenant))
    }

    /// Deletes a job and its run history.
    pub async fn delete_job(&self, job: impl Into<JobRef<'_>>) -> Result<()> {
        let (id, tenant) = self.job_for(job.into(), Capability::Edit).await?;
        self.store
            .delete_job(id, &self.operator, self.now())
            .await
            .map_err(in_tenant(Capability::Edit, &tenant))
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
        self.require_admin().await?;
        self.store.upsert_named_handler(name, spec, &self.operator, self.now()).await
    }

    /// Every name a `named` handler may refer to, by name: the stored definitions and the
    /// in-process handlers of this `Rota`'s registry (a stored definition wins a shared name).
    pub async fn named_handlers(&self) -> Result<Vec<NamedHandler>> {
        let mut handlers: Vec<NamedHandler> = self
            .store
            .list_named_handlers()
            .await?
            .into_iter()
            .map(|(name, spec)| NamedHandler { name, spec: Some(spec) })
            .collect();
        for name in self.registry.names() {
            if !handlers.iter().any(|stored| stored.name == name) {
                handlers.push(NamedHandler { name: name.to_owned(), spec: None });
            }
        }
        handlers.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(handlers)
    }

    /// The user `handler` asks to run as: a command's `run_as`, or that of the stored command
    /// a named handler refers to.
    pub(crate) async fn handler_run_as(&self, handler: &HandlerSpec) -> Result<Option<String>> {
        Ok(match handler {
            HandlerSpec::Command(command) => command.run_as.clone(),
            HandlerSpec::Named { name } => match self.store.named_handler(name).await? {
                Some(HandlerSpec::Command(command)) => command.run_as,
                _ => None,
            },
            HandlerSpec::Http(_) => None,
        })
    }

    /// Refuses a handler that names a run-as user other than its tenant's (the tenant's user
    /// is a ceiling; the engine checks again at each run).
    pub(super) async fn check_run_as_ceiling(
        &self,
        tenant: &str,
        handler: &HandlerSpec,
    ) -> Result<()> {
        let Some(user) = self.handler_run_as(handler).await? else { return Ok(()) };
        let settings = self.store.tenant_settings(tenant).await?;
        check_run_as_ceiling(tenant, settings.run_as.as_deref(), &user)
    }

    pub(super) async fn check_named_handler_exists(&self, handler: &HandlerSpec) -> Result<()> {
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
}

/// A job of `tenant` may run as `user` only if the tenant has no run-as user (`ceiling`) or
/// the same one; the error names `handler.run_as` and the user.
pub fn check_run_as_ceiling(tenant: &str, ceiling: Option<&str>, user: &str) -> Result<()> {
    match ceiling {
        Some(ceiling) if ceiling != user => Err(Error::invalid(
            "handler.run_as",
            user,
            format!(
                "the tenant {tenant:?} runs its commands as {ceiling:?}; its jobs may name only \
                 that user, or none"
            ),
        )),
        _ => Ok(()),
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
    /// What the job's calendars make of each of `runs` (same order): the run itself, a run
    /// moved to another day (where, and why), or an occurrence excluded (by which calendar and
    /// event). All plain runs without calendars ([`Rota::preview_schedule_with_calendars`]
    /// judges them).
    pub slots: Vec<crate::calendars::Slot>,
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
    let runs: Vec<crate::cron::Occurrence> =
        schedule.occurrences_after(now).take(count.min(1000)).collect();
    Ok(SchedulePreview {
        description: schedule.describe(),
        kind: schedule.kind(),
        timezone: schedule.timezone(),
        viewer_timezone: viewer,
        slots: runs.iter().map(|run| crate::calendars::Slot::plain(run.at)).collect(),
        runs,
        dst_effects: schedule.dst_effects(now, now + DST_LOOKAHEAD),
    })
}

impl<S: Store> Rota<S> {
    /// [`preview_schedule`] with the calendars chosen in the editor (`policy`'s exclude
    /// calendars, only-calendar and on-excluded, the job's tenant's or shared ones): each next
    /// occurrence is judged as the engine's tick will judge it. A calendar name that exists
    /// neither in `tenant` nor among the shared ones is refused, naming it.
    pub async fn preview_schedule_with_calendars(
        &self,
        tenant: &str,
        expression: &str,
        timezone: &str,
        viewer_timezone: &str,
        policy: &JobPolicy,
        count: usize,
    ) -> Result<SchedulePreview> {
        let mut preview =
            preview_schedule(expression, timezone, viewer_timezone, self.now(), count)?;
        if policy.exclude_calendars.is_empty() && policy.only_calendar.is_none() {
            return Ok(preview);
        }
        self.require(Capability::View, tenant).await?;
        let tenant_id = self.store.tenant_by_name(tenant).await?.id;
        if let Some(rule) = self.calendar_rule(tenant_id, policy).await? {
            let zone = preview.timezone;
            preview.slots = preview.runs.iter().map(|run| rule.judge(run, zone)).collect();
        }
        Ok(preview)
    }
}

/// Whether a policy edit changed the job's calendars (then its next slot may come sooner).
fn calendars_changed(before: &JobPolicy, after: &JobPolicy) -> bool {
    before.exclude_calendars != after.exclude_calendars
        || before.only_calendar != after.only_calendar
        || before.on_excluded != after.on_excluded
}
