//! Scheduler nodes: registration and heartbeats.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// A scheduler process, as registered in the `nodes` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub version: String,
    pub workers: u32,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// What the node said about itself with its last heartbeat; `None` for nodes of versions
    /// that did not report it.
    pub health: Option<NodeHealth>,
}

/// What a node says about itself with each heartbeat (stored as JSON in `nodes.health`): the
/// same verdict and problems as its `/healthz`, so the console's node table tells the truth
/// without reaching the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeHealth {
    pub healthy: bool,
    /// `component: problem`, as `/healthz` names them.
    pub problems: Vec<String>,
    /// How often the node heartbeats: a heartbeat older than a few of these means it is silent.
    pub heartbeat_every_ms: u64,
    /// Finished runs whose results wait in the node to be recorded.
    pub results_waiting: u64,
}

store_concern! {
    /// Scheduler nodes: registration and heartbeats.
    pub trait NodeStore {
        fn register_node(&self, node: &NodeInfo) -> Result<()>;

        /// Records that the node is alive at `now`, with what it says about itself.
        fn heartbeat(&self, node_id: &str, now: DateTime<Utc>, health: &NodeHealth) -> Result<()>;

        fn mark_node_stopped(&self, node_id: &str, now: DateTime<Utc>) -> Result<()>;

        fn list_nodes(&self) -> Result<Vec<NodeInfo>>;

        /// How many runs each node is running.
        fn running_by_node(&self) -> Result<Vec<(String, u64)>>;
    }
}
