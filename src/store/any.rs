//! [`AnyStore`]: the backend chosen once, at start-up, from the database URL.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{
    BackfillReport, ClaimedRun, DueJob, JobFilter, JobPage, JobQuery, NodeInfo, OutboxEvent,
    RunFilter, RunResult, Store, TenantOverview, TenantUpdate, TickPlan, TickReport,
};
use crate::error::{Error, Result};
use crate::handler::HandlerSpec;
use crate::job::{Job, JobDefinition};
use crate::policy::{JobPolicy, TenantPolicy};
use crate::run::Run;
use crate::tenant::{NewTenant, Tenant};

/// Which database a store speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Either backend, implementing [`Store`] by delegation.
#[derive(Debug, Clone)]
pub enum AnyStore {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

impl AnyStore {
    /// Connects to `url`: `postgres://...` or `postgresql://...`, `sqlite://path` or
    /// `sqlite:path` (the file and its directories are created if missing), or
    /// `sqlite::memory:`. Does not migrate; call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<AnyStore> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyStore::Postgres(PgStore::connect(url).await?))
        } else if url.starts_with("sqlite:") {
            Ok(AnyStore::Sqlite(SqliteStore::connect(url).await?))
        } else {
            // Only the scheme: the rest may hold a password.
            let scheme = url.split_once(':').map_or("(none)", |(scheme, _)| scheme);
            Err(Error::invalid(
                "database url scheme",
                scheme,
                "allowed: postgres://, postgresql://, sqlite:",
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            AnyStore::Postgres(_) => Backend::Postgres,
            AnyStore::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        match self {
            AnyStore::Postgres(store) => store.close().await,
            AnyStore::Sqlite(store) => store.close().await,
        }
    }
}

impl From<PgStore> for AnyStore {
    fn from(store: PgStore) -> Self {
        AnyStore::Postgres(store)
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> Self {
        AnyStore::Sqlite(store)
    }
}

/// Writes each listed method as a `match` that forwards its arguments to the backend.
macro_rules! delegate {
    ($(fn $method:ident(&self $(, $arg:ident: $type:ty)* $(,)?) -> $output:ty;)*) => {
        $(
            async fn $method(&self $(, $arg: $type)*) -> $output {
                match self {
                    AnyStore::Postgres(store) => store.$method($($arg),*).await,
                    AnyStore::Sqlite(store) => store.$method($($arg),*).await,
                }
            }
        )*
    };
}

impl Store for AnyStore {
    delegate! {
        fn migrate(&self) -> Result<()>;
        fn create_tenant(
            &self,
            tenant: &NewTenant,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Tenant>;
        fn tenant_by_name(&self, name: &str) -> Result<Tenant>;
        fn list_tenants(&self) -> Result<Vec<Tenant>>;
        fn update_tenant(
            &self,
            name: &str,
            update: &TenantUpdate,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Tenant>;
        fn set_tenant_policy(
            &self,
            name: &str,
            policy: &TenantPolicy,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Tenant>;
        fn upsert_named_handler(
            &self,
            name: &str,
            spec: &HandlerSpec,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<()>;
        fn named_handler(&self, name: &str) -> Result<Option<HandlerSpec>>;
        fn create_job(
            &self,
            tenant_id: Uuid,
            definition: &JobDefinition,
            policy: &JobPolicy,
            next_run_at: Option<DateTime<Utc>>,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Job>;
        fn job(&self, id: Uuid) -> Result<Job>;
        fn job_by_name(&self, tenant: &str, name: &str) -> Result<Job>;
        fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>>;
        fn update_job(
            &self,
            id: Uuid,
            expected_version: i64,
            definition: &JobDefinition,
            next_run_at: Option<DateTime<Utc>>,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Job>;
        fn set_job_enabled(
            &self,
            id: Uuid,
            enabled: bool,
            reason: Option<&str>,
            next_run_at: Option<DateTime<Utc>>,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Job>;
        fn update_job_policy(
            &self,
            id: Uuid,
            expected_version: i64,
            policy: &JobPolicy,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Job>;
        fn set_job_paused(
            &self,
            id: Uuid,
            paused: bool,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Job>;
        fn enable_job(
            &self,
            id: Uuid,
            operator: &str,
            probation: bool,
            next_run_at: Option<DateTime<Utc>>,
            now: DateTime<Utc>,
        ) -> Result<Job>;
        fn enqueue_manual(
            &self,
            job_id: Uuid,
            payload: Option<&serde_json::Value>,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<Run>;
        fn run(&self, id: Uuid) -> Result<Run>;
        fn backfill(
            &self,
            job_id: Uuid,
            occurrences: &[DateTime<Utc>],
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<BackfillReport>;
        fn prune_runs(&self, before: DateTime<Utc>, keep_last: u32, batch: u32) -> Result<u64>;
        fn prune_notifications(&self, before: DateTime<Utc>, batch: u32) -> Result<(u64, u64)>;
        fn list_outbox(&self, limit: u32) -> Result<Vec<OutboxEvent>>;
        fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>>;
        fn enqueue_due(
            &self,
            now: DateTime<Utc>,
            due_until: DateTime<Utc>,
            limit: u32,
            plan: &(dyn Fn(&DueJob) -> TickPlan + Send + Sync),
        ) -> Result<TickReport>;
        fn next_due_at(&self) -> Result<Option<DateTime<Utc>>>;
        fn next_ready_at(&self) -> Result<Option<DateTime<Utc>>>;
        fn next_lease_expiry(&self) -> Result<Option<DateTime<Utc>>>;
        fn claim(
            &self,
            node_id: &str,
            now: DateTime<Utc>,
            limit: u32,
            lease_ttl: Duration,
        ) -> Result<Vec<ClaimedRun>>;
        fn complete(&self, results: &[RunResult]) -> Result<Vec<bool>>;
        fn record_and_claim(
            &self,
            results: &[RunResult],
            node_id: &str,
            now: DateTime<Utc>,
            ready_until: DateTime<Utc>,
            limit: u32,
            lease_ttl: Duration,
        ) -> Result<(Vec<bool>, Vec<ClaimedRun>)>;
        fn cancel_requested(&self, node_id: &str) -> Result<Vec<Uuid>>;
        fn renew_leases(
            &self,
            node_id: &str,
            now: DateTime<Utc>,
            lease_ttl: Duration,
        ) -> Result<u64>;
        fn recover_expired(&self, now: DateTime<Utc>) -> Result<Vec<Run>>;
        fn expire_leases_of_node(&self, node_id: &str, now: DateTime<Utc>) -> Result<u64>;
        fn release(&self, node_id: &str, now: DateTime<Utc>) -> Result<u64>;
        fn register_node(&self, node: &NodeInfo) -> Result<()>;
        fn heartbeat(&self, node_id: &str, now: DateTime<Utc>) -> Result<()>;
        fn mark_node_stopped(&self, node_id: &str, now: DateTime<Utc>) -> Result<()>;
        fn list_nodes(&self) -> Result<Vec<NodeInfo>>;
        fn tenant_overview(&self, since: DateTime<Utc>) -> Result<Vec<TenantOverview>>;
        fn job_page(&self, query: &JobQuery) -> Result<JobPage>;
        fn tenant_settings(&self, name: &str) -> Result<super::TenantSettings>;
        fn update_tenant_settings(
            &self,
            name: &str,
            update: &super::TenantSettingsUpdate,
            operator: &str,
            now: DateTime<Utc>,
        ) -> Result<super::TenantSettings>;
        fn list_named_handlers(&self) -> Result<Vec<(String, HandlerSpec)>>;
        fn delete_job(&self, id: Uuid, operator: &str, now: DateTime<Utc>) -> Result<()>;
        fn occurrence_runs(&self, job_id: Uuid, scheduled_at: DateTime<Utc>) -> Result<Vec<Run>>;
        fn run_spans(
            &self,
            query: &crate::timeline::SpanQuery,
        ) -> Result<Vec<crate::timeline::RunSpan>>;
        fn changed_runs(
            &self,
            created_since: DateTime<Utc>,
            changed_since: DateTime<Utc>,
            also: &[Uuid],
            limit: u32,
        ) -> Result<Vec<crate::timeline::RunSpan>>;
        fn run_buckets(
            &self,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
            bucket: Duration,
        ) -> Result<Vec<crate::timeline::RunBucket>>;
        fn average_durations(&self, since: DateTime<Utc>) -> Result<Vec<(Uuid, f64)>>;
        fn jobs_due_before(
            &self,
            before: DateTime<Utc>,
            tenant: Option<&str>,
            job_id: Option<Uuid>,
            limit: u32,
        ) -> Result<Vec<Job>>;
        fn running_by_node(&self) -> Result<Vec<(String, u64)>>;
        fn change_marks(&self) -> Result<crate::timeline::ChangeMarks>;
        fn claim_events(
            &self,
            node_id: &str,
            now: DateTime<Utc>,
            limit: u32,
            lease: Duration,
        ) -> Result<Vec<crate::notify::ClaimedEvent>>;
        fn finish_event(
            &self,
            claim: &crate::notify::EventClaim,
            deliveries: &[crate::notify::DeliveryRecord],
            outcome: crate::notify::EventOutcome,
            now: DateTime<Utc>,
        ) -> Result<bool>;
        fn list_deliveries(
            &self,
            filter: &crate::notify::DeliveryFilter,
        ) -> Result<Vec<crate::notify::Delivery>>;
        fn list_audit(&self, filter: &crate::audit::AuditFilter) -> Result<Vec<crate::audit::AuditEntry>>;
    }
}
