//! Scheduler nodes (shared SQL; see `super`).

use chrono::{DateTime, Utc};

use super::This;
use crate::error::Result;
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::{codec, sql, NodeHealth, NodeInfo, NodeStore};

impl NodeStore for This {
    async fn register_node(&self, node: &NodeInfo) -> Result<()> {
        sqlx::query(sql::REGISTER_NODE)
            .bind(&node.id)
            .bind(&node.host)
            .bind(i64::from(node.pid))
            .bind(&node.version)
            .bind(codec::to_i32("workers", node.workers)?)
            .bind(codec::ms(node.started_at))
            .bind(codec::ms(node.heartbeat_at))
            .bind(codec::opt_ms(node.stopped_at))
            .bind(node.health.as_ref().map(codec::node_health_json).transpose()?)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn heartbeat(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        health: &NodeHealth,
    ) -> Result<()> {
        let updated = sqlx::query(sql::HEARTBEAT)
            .bind(node_id)
            .bind(codec::ms(now))
            .bind(codec::node_health_json(health)?)
            .execute(self.writer())
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(codec::not_found("node", node_id));
        }
        Ok(())
    }

    async fn mark_node_stopped(&self, node_id: &str, now: DateTime<Utc>) -> Result<()> {
        self.touch_node(sql::MARK_NODE_STOPPED, node_id, now).await
    }

    async fn list_nodes(&self) -> Result<Vec<NodeInfo>> {
        let rows = sqlx::query(sql::LIST_NODES).fetch_all(self.reader()).await?;
        rows.iter().map(codec::node).collect()
    }

    async fn running_by_node(&self) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query(sql::RUNNING_BY_NODE).fetch_all(self.reader()).await?;
        rows.iter()
            .map(|row| Ok((row.text("lease_owner")?, codec::count(row, "running")?)))
            .collect()
    }
}

impl This {
    /// Runs `statement` (`$1` node id, `$2` instant) and reports a missing node.
    pub(crate) async fn touch_node(
        &self,
        statement: &'static str,
        node_id: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let updated = sqlx::query(statement)
            .bind(node_id)
            .bind(codec::ms(now))
            .execute(self.writer())
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(codec::not_found("node", node_id));
        }
        Ok(())
    }
}
