//! The overview: what runs now, what waits per tenant, what failed or was auto-disabled, what
//! runs next, the scheduler nodes, and throughput and lateness over the last 24 hours.

use serde::Serialize;
use specta::Type;
use tauri::State;

use super::operations::DisabledJob;
use super::runs::{epoch_ms, RunRow};
use super::tenants::TenantRow;
use super::{instant, optional_instant};
use crate::console::Console;
use crate::error::CommandError;

/// A job that runs soon.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NextRun {
    pub job_id: String,
    pub job: String,
    pub tenant: String,
    pub schedule: String,
    pub timezone: String,
    pub at: String,
}

/// A scheduler process (a `rota serve` daemon or a console executing jobs).
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct NodeRow {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub version: String,
    pub workers: u32,
    pub started_at: String,
    pub heartbeat_at: String,
    pub stopped_at: Option<String>,
    /// Runs it is running now.
    pub running: u32,
    pub condition: NodeCondition,
    /// What is wrong, in words (empty when healthy or stopped).
    pub problems: Vec<String>,
}

/// How a node is doing (`rota::api::NodeCondition`): judged from its heartbeat's age and what
/// it said about itself, the same verdict as its `/healthz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum NodeCondition {
    Healthy,
    /// Heartbeats on time but reports problems.
    Unhealthy,
    /// No heartbeat for several periods: stopped, hung or cut off from the database.
    Silent,
    Stopped,
}

impl From<rota::api::NodeCondition> for NodeCondition {
    fn from(condition: rota::api::NodeCondition) -> Self {
        match condition {
            rota::api::NodeCondition::Healthy => NodeCondition::Healthy,
            rota::api::NodeCondition::Unhealthy => NodeCondition::Unhealthy,
            rota::api::NodeCondition::Silent => NodeCondition::Silent,
            rota::api::NodeCondition::Stopped => NodeCondition::Stopped,
        }
    }
}

/// Runs started per bucket, column by column; buckets without runs are left out.
#[derive(Debug, Clone, Default, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ThroughputColumns {
    /// The bucket's first instant, ms since the epoch.
    pub start_ms: Vec<f64>,
    pub started: Vec<u32>,
    pub failed: Vec<u32>,
    /// Lateness of scheduled first attempts (started minus scheduled): average and worst.
    pub late_avg_ms: Vec<Option<f64>>,
    pub late_max_ms: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OverviewData {
    pub now: String,
    pub tenants: Vec<TenantRow>,
    pub running: Vec<RunRow>,
    pub recent_failures: Vec<RunRow>,
    pub auto_disabled: Vec<DisabledJob>,
    pub next_runs: Vec<NextRun>,
    pub nodes: Vec<NodeRow>,
    /// The chart covers `[fromMs, nowMs]` in buckets of `bucketMs`.
    pub from_ms: f64,
    pub now_ms: f64,
    pub bucket_ms: f64,
    pub throughput: ThroughputColumns,
}

fn count(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[tauri::command]
#[specta::specta]
pub async fn overview(console: State<'_, Console>) -> Result<OverviewData, CommandError> {
    let rota = console.rota().await?;
    let overview = rota.overview().await?;
    let mut throughput = ThroughputColumns::default();
    for bucket in &overview.buckets {
        throughput.start_ms.push(epoch_ms(bucket.start));
        throughput.started.push(count(bucket.started));
        throughput.failed.push(count(bucket.failed));
        throughput.late_avg_ms.push(bucket.late_avg_ms);
        throughput.late_max_ms.push(bucket.late_max_ms.map(|ms| ms as f64));
    }
    Ok(OverviewData {
        now: instant(overview.now),
        tenants: overview.tenants.into_iter().map(TenantRow::from).collect(),
        running: overview.running.iter().map(RunRow::from).collect(),
        recent_failures: overview.recent_failures.iter().map(RunRow::from).collect(),
        auto_disabled: overview.auto_disabled.into_iter().map(DisabledJob::from).collect(),
        next_runs: overview
            .next_runs
            .into_iter()
            .filter_map(|job| {
                Some(NextRun {
                    at: instant(job.next_run_at?),
                    job_id: job.id.to_string(),
                    job: job.name,
                    tenant: job.tenant,
                    schedule: job.schedule,
                    timezone: job.timezone,
                })
            })
            .collect(),
        nodes: overview
            .nodes
            .into_iter()
            .map(|status| NodeRow {
                id: status.node.id,
                host: status.node.host,
                pid: status.node.pid,
                version: status.node.version,
                workers: status.node.workers,
                started_at: instant(status.node.started_at),
                heartbeat_at: instant(status.node.heartbeat_at),
                stopped_at: optional_instant(status.node.stopped_at),
                running: count(status.running),
                condition: status.condition.into(),
                problems: status.problems,
            })
            .collect(),
        from_ms: epoch_ms(overview.bucket_from),
        now_ms: epoch_ms(overview.now),
        bucket_ms: rota::api::OVERVIEW_BUCKET.as_millis() as f64,
        throughput,
    })
}
