//! The store written once for both backends: every [`crate::store::Store`] method whose SQL is
//! portable, by concern, in ordinary Rust.
//!
//! Each backend compiles this folder as its own submodule (`#[path = "../portable/mod.rs"]` in
//! `postgres/mod.rs` and `sqlite/mod.rs`), with `This` naming its store type. So each body is
//! type-checked against one concrete sqlx database, as if written in that backend, while the
//! text exists once. Generic code over `sqlx::Database` would have to restate, on every impl,
//! that each bound type encodes and decodes and that the connection is an executor; a macro
//! would hide the code from rustfmt and rust-analyzer. What a backend must provide is the
//! [`Dialect`] trait: the compiler checks the contract, and it is the one list of what differs.

mod audit;
mod calendars;
mod handlers;
mod jobs;
mod nodes;
mod outbox;
mod queue;
mod runs;
mod tenants;
mod transaction;
mod views;

use sqlx::query::Query;
use sqlx::Database;

pub(super) use super::This;
use crate::error::Result;
use crate::store::codec::PolicyValues;
use crate::store::dialect::Dialect;
use crate::store::schema::SchemaStatus;
use crate::store::{sql, SchemaStore};

/// The sqlx database type of the backend this copy is compiled for.
type Db = <This as Dialect>::Db;

/// Binds a job's policy columns to `query`, in the order of `policy_column_names!` in `sql`.
fn bind_policy<'q>(
    query: Query<'q, Db, <Db as Database>::Arguments<'q>>,
    values: &'q PolicyValues,
) -> Query<'q, Db, <Db as Database>::Arguments<'q>> {
    query
        .bind(values.max_retries)
        .bind(values.retry_backoff)
        .bind(values.retry_initial_ms)
        .bind(values.retry_multiplier)
        .bind(values.retry_max_ms)
        .bind(values.retry_jitter)
        .bind(values.overlap)
        .bind(values.missed)
        .bind(values.missed_max_runs)
        .bind(values.catch_up_window_ms)
        .bind(values.auto_disable_after)
        .bind(values.probation)
        .bind(values.jitter_window_ms)
        .bind(&values.exclude_calendars)
        .bind(values.only_calendar.as_deref())
        .bind(values.on_excluded)
}

impl SchemaStore for This {
    async fn migrate(&self) -> Result<()> {
        let mut connection = self.writer().acquire().await?;
        This::before_migrations(&mut connection).await?;
        let migrated = This::migrator().run_direct(&mut *connection).await;
        This::after_migrations(&mut connection).await?;
        migrated?;
        Ok(())
    }

    async fn schema_status(&self) -> Result<SchemaStatus> {
        let known: Vec<i64> = This::migrator()
            .iter()
            .filter(|migration| !migration.migration_type.is_down_migration())
            .map(|migration| migration.version)
            .collect();
        let exists: bool =
            sqlx::query_scalar(This::MIGRATIONS_TABLE_EXISTS).fetch_one(self.reader()).await?;
        let applied: Vec<i64> = if exists {
            sqlx::query_scalar(sql::APPLIED_MIGRATIONS).fetch_all(self.reader()).await?
        } else {
            Vec::new()
        };
        Ok(SchemaStatus::compare(&known, &applied))
    }
}
