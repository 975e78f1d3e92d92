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
}

impl<S: Store> Rota<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        Rota { store, clock, registry: HandlerRegistry::default() }
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
        self.store.create_tenant(tenant, self.now()).await
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
        self.store.upsert_named_handler(name, spec, self.now()).await
    }

    /// Creates a job; its first run is the schedule's next occurrence after now.
    pub async fn add_job(&self, tenant: &str, definition: &JobDefinition) -> Result<Job> {
        let schedule = definition.validate()?;
        self.check_named_handler_exists(&definition.handler).await?;
        let tenant = self.store.tenant_by_name(tenant).await?;
        let now = self.now();
        self.store.create_job(tenant.id, definition, schedule.next_after(now), now).await
    }

    /// Replaces a job's definition if nobody changed it since `expected_version`; the next run
    /// is recomputed from now.
    pub async fn update_job(
        &self,
        id: Uuid,
        expected_version: i64,
        definition: &JobDefinition,
    ) -> Result<Job> {
        let schedule = definition.validate()?;
        self.check_named_handler_exists(&definition.handler).await?;
        let now = self.now();
        self.store.update_job(id, expected_version, definition, schedule.next_after(now), now).await
    }

    async fn check_named_handler_exists(&self, handler: &HandlerSpec) -> Result<()> {
        if let HandlerSpec::Named { name } = handler {
            let in_process = self.registry.get(name).is_some();
            if !in_process && self.store.named_handler(name).await?.is_none() {
                return Err(Error::invalid(
                    "handler",
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
        self.store.enqueue_manual(job.id, payload, self.now()).await
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

// The console's views and editor helpers (the desktop app in `src-tauri` calls these; they are
// plain core operations any front end may use).

pub use crate::store::{JobPage, JobQuery, JobSort, JobState, TenantOverview, TenantUpdate};

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

    /// Changes a tenant's limits or pauses/resumes it; `None` fields stay as they are.
    pub async fn update_tenant(&self, name: &str, update: &TenantUpdate) -> Result<Tenant> {
        if let Some(max_concurrent) = update.max_concurrent {
            crate::tenant::validate_limit("max_concurrent", max_concurrent)?;
        }
        if let Some(weight) = update.weight {
            crate::tenant::validate_limit("weight", weight)?;
        }
        self.store.update_tenant(name, update, self.now()).await
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
