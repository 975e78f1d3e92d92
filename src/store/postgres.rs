//! The Postgres backend: several scheduler nodes share one database, and row locks with
//! `SKIP LOCKED` let them tick and claim at once without waiting for each other.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::codec::RowAccess;
use super::portable::{
    portable_store_helpers, portable_store_methods, portable_transaction_helpers,
};
use super::{codec, sql, ClaimedRun, Store};
use crate::error::Result;

/// Connections per process: a claim, a tick, lease maintenance and a few API readers at once.
const MAX_CONNECTIONS: u32 = 10;

/// A [`Store`] on Postgres.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(PgConnectOptions::from_str(url)?).await
    }

    pub async fn connect_with(options: PgConnectOptions) -> Result<Self> {
        let pool =
            PgPoolOptions::new().max_connections(MAX_CONNECTIONS).connect_with(options).await?;
        Ok(Self::from_pool(pool))
    }

    /// A store on an existing pool (an application that embeds Rota and has its own).
    pub fn from_pool(pool: PgPool) -> Self {
        PgStore { pool }
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// Postgres write transactions need nothing special: row locks are taken as rows are
    /// touched, and every read that must not change underneath takes them explicitly.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    portable_store_helpers!();
    portable_transaction_helpers!(Postgres, postgres);
}

impl Store for PgStore {
    portable_store_methods!(Postgres, postgres);

    async fn migrate(&self) -> Result<()> {
        sqlx::migrate!("./migrations/postgres").run(&self.pool).await?;
        Ok(())
    }

    /// Two statements in one short transaction (four round trips with `BEGIN` and `COMMIT`);
    /// [`sql::postgres::LOCK_ELIGIBLE_TENANTS`] explains why one statement cannot be right.
    async fn claim(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        limit: u32,
        lease_ttl: Duration,
    ) -> Result<Vec<ClaimedRun>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now_ms = codec::ms(now);
        let mut tx = self.pool.begin().await?;
        let eligible = sqlx::query(sql::postgres::LOCK_ELIGIBLE_TENANTS)
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        let mut tenants: Vec<Uuid> = Vec::with_capacity(eligible.len());
        // Tenants that opted in to `tenant.throttled` (usually none: no extra statement).
        let mut watched: Vec<Uuid> = Vec::new();
        for row in &eligible {
            let id = row.uuid("id")?;
            tenants.push(id);
            if row.flag("watch_throttled")? {
                watched.push(id);
            }
        }
        if tenants.is_empty() {
            tx.commit().await?;
            return Ok(Vec::new());
        }
        let rows = sqlx::query(sql::postgres::CLAIM_RUNS)
            .bind(&tenants)
            .bind(now_ms)
            .bind(i64::from(limit))
            .bind(node_id)
            .bind(codec::expiry_ms(now, lease_ttl))
            .bind(codec::duration_ms(crate::policy::LATE_START))
            .fetch_all(&mut *tx)
            .await?;
        if !rows.is_empty() && !watched.is_empty() {
            Self::write_throttled(&mut tx, now, &watched).await?;
        }
        tx.commit().await?;
        rows.iter().map(codec::claimed_run).collect()
    }
}
