//! Scheduler nodes (shared SQL; see `super`).

use super::This;
use crate::store::codec;
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::sql;

impl crate::store::NodeStore for This {
    async fn register_node(&self, node: &crate::store::NodeInfo) -> crate::error::Result<()> {
        sqlx::query(sql::REGISTER_NODE)
            .bind(&node.id)
            .bind(&node.host)
            .bind(i64::from(node.pid))
            .bind(&node.version)
            .bind(codec::to_i32("workers", node.workers)?)
            .bind(codec::ms(node.started_at))
            .bind(codec::ms(node.heartbeat_at))
            .bind(codec::opt_ms(node.stopped_at))
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn heartbeat(
        &self,
        node_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::error::Result<()> {
        self.touch_node(crate::store::sql::HEARTBEAT, node_id, now).await
    }

    async fn mark_node_stopped(
        &self,
        node_id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::error::Result<()> {
        self.touch_node(crate::store::sql::MARK_NODE_STOPPED, node_id, now).await
    }

    async fn list_nodes(&self) -> crate::error::Result<Vec<crate::store::NodeInfo>> {
        let rows = sqlx::query(sql::LIST_NODES).fetch_all(self.reader()).await?;
        rows.iter().map(codec::node).collect()
    }

    async fn running_by_node(&self) -> crate::error::Result<Vec<(String, u64)>> {
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
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::error::Result<()> {
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
