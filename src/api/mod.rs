//! The operations people perform, shared by the CLI and the desktop console. Every input is
//! validated here before anything is written, and every instant comes from the injected clock;
//! front ends only translate between their transport types and these calls.
//!
//! Map of the module (every item is reachable as `rota::api::...`):
//! - this file: [`Rota`] itself (its store, clock, handler registry and operator) and what the
//!   concerns share;
//! - `tenants`: tenants, their policies, settings and channels;
//! - `jobs`: jobs and named handlers, addressed by [`JobRef`] (an id, or a tenant and a name),
//!   and the schedule editor's helpers;
//! - `runs`: runs, triggering, backfills and pruning;
//! - `views`: what the console reads: the overview, the timeline, pages of jobs, a job's runs,
//!   occurrences, nodes and the change feed;
//! - `access`: `rota access` (grants, whoami) and the checks that name what a refused role
//!   lacked;
//! - `audit`: the audit log and the operator's name;
//! - `notifications`: the outbox, the delivery log and its retention.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::handler::HandlerRegistry;
use crate::store::Store;

mod access;
mod audit;
mod bulk;
mod calendars;
mod forecast;
mod jobs;
mod notifications;
mod runs;
mod tenants;
mod views;

pub use self::audit::{validate_operator, AuditAction, AuditEntry, AuditFilter};
pub use self::bulk::{BulkReport, MAX_BULK_JOBS};
pub use self::calendars::CalendarSource;
pub use self::forecast::{WhatIf, MAX_FORECAST_HOURS, WHAT_IF_STARTS};
pub use self::jobs::{
    check_run_as_ceiling, parse_payload, preview_schedule, time_zone_names, JobPolicy, JobRef,
    NamedHandler, SchedulePreview, DST_LOOKAHEAD,
};
pub use self::notifications::{Delivery, DeliveryFilter, OutboxEvent};
pub use self::runs::{
    Backfill, BackfillReport, BackfillRequest, DEFAULT_BACKFILL_MAX, MAX_BACKFILL, PRUNE_BATCH,
};
pub(crate) use self::tenants::JobsCheck;
pub use self::tenants::{
    validate_tenant_settings, RateLimit, TenantPolicy, TenantSettings, TenantSettingsUpdate,
    TenantUpdate,
};
pub use self::views::{
    ChangeCursor, Changes, CursorKey, JobCursor, JobPage, JobQuery, JobSort, JobState,
    JobStateFilter, NodeCondition, NodeStatus, Occurrence, Overview, Projection, RunBucket,
    RunSpan, SpanQuery, TenantOverview, Timeline, MAX_JOB_PAGE, MAX_JOB_RUNS, OVERVIEW_BUCKET,
    OVERVIEW_HISTORY, OVERVIEW_LIST, OVERVIEW_RUNNING, RECENT_FAILURES,
};
pub use crate::store::{BulkJobAction, JobFilters, JobSelection};

/// The most entries [`Rota::audit_log`] and [`Rota::deliveries`] return at once.
pub const MAX_LOG_ENTRIES: u32 = 10_000;

/// Rota's operations over one store.
#[derive(Clone)]
pub struct Rota<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    /// In-process handlers a `named` handler may refer to besides stored definitions.
    registry: HandlerRegistry,
    /// Who makes the changes, recorded in the audit log with each (see [`crate::audit`]).
    operator: String,
    /// Whether this machine runs the jobs' commands, so that a command's absolute program
    /// must exist here (see [`Rota::checking_programs_here`]).
    programs_here: bool,
}

impl<S: Store> Rota<S> {
    /// Changes are recorded as made by the operator from the environment (`$ROTA_OPERATOR`,
    /// else the OS user) until [`Rota::with_operator`] says otherwise.
    pub fn new(store: S, clock: Arc<dyn Clock>) -> Self {
        let operator = crate::audit::resolve_operator(None);
        Rota { store, clock, registry: HandlerRegistry::default(), operator, programs_here: false }
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

    /// Refuses a command job whose program is an absolute path that does not exist on this
    /// machine. Only a front end on the machine that runs the commands asks for it (the CLI,
    /// the console's Local mode): a Connected console's workstation may lack a program the
    /// servers have. Names looked up in `PATH` are not checked, as the daemon's `PATH` is not
    /// this process's; spaces are refused everywhere ([`crate::handler::CommandSpec::validate`]).
    pub fn checking_programs_here(mut self) -> Self {
        self.programs_here = true;
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
}

/// Refuses a `limit` outside `1..=max`; the error names the field and the allowed range.
fn check_limit(field: &str, limit: u32, max: u32) -> Result<()> {
    if limit == 0 || limit > max {
        return Err(Error::invalid(field, limit, format!("allowed 1-{max}")));
    }
    Ok(())
}

/// The instant `older_than_days` before `now`, for the retention operations: 1 to 36,500 days.
fn retention_cutoff(older_than_days: u32, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if !(1..=36_500).contains(&older_than_days) {
        return Err(Error::invalid("older_than_days", older_than_days, "allowed 1-36500"));
    }
    Ok(now - chrono::Duration::days(i64::from(older_than_days)))
}
