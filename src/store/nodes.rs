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
}

store_concern! {
    /// Scheduler nodes: registration and heartbeats.
    pub trait NodeStore {
        fn register_node(&self, node: &NodeInfo) -> Result<()>;

        fn heartbeat(&self, node_id: &str, now: DateTime<Utc>) -> Result<()>;

        fn mark_node_stopped(&self, node_id: &str, now: DateTime<Utc>) -> Result<()>;

        fn list_nodes(&self) -> Result<Vec<NodeInfo>>;

        /// How many runs each node is running.
        fn running_by_node(&self) -> Result<Vec<(String, u64)>>;
    }
}
