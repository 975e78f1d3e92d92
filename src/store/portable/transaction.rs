//! Helpers that work inside a write transaction: locking what a change reads, the audit entry it writes, optimistic version checks (shared SQL; see `super`).

use uuid::Uuid;

use super::{Db, This};
use crate::audit::NewAuditEntry;
use crate::calendars::StoredCalendar;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::store::dialect::Dialect;
use crate::store::{codec, sql};
use crate::tenant::Tenant;

impl This {
    /// Writes an audit entry in the transaction of the change it describes.
    pub(crate) async fn write_audit(
        tx: &mut sqlx::Transaction<'static, Db>,
        entry: NewAuditEntry,
    ) -> Result<()> {
        sqlx::query(sql::INSERT_AUDIT)
            .bind(codec::new_id(entry.at))
            .bind(codec::ms(entry.at))
            .bind(&entry.operator)
            .bind(entry.action.as_str())
            .bind(entry.tenant_id)
            .bind(entry.tenant.as_deref())
            .bind(entry.job_id)
            .bind(entry.job.as_deref())
            .bind(entry.handler.as_deref())
            .bind(entry.before.map(sqlx::types::Json))
            .bind(entry.after.map(sqlx::types::Json))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Writes many audit entries in the transaction of the change they describe, in batches
    /// of [`codec::INSERT_BATCH`] rows per statement.
    pub(crate) async fn write_audits(
        tx: &mut sqlx::Transaction<'static, Db>,
        entries: Vec<NewAuditEntry>,
    ) -> Result<()> {
        let mut entries = entries.into_iter().peekable();
        while entries.peek().is_some() {
            let batch: Vec<NewAuditEntry> = entries.by_ref().take(codec::INSERT_BATCH).collect();
            let mut insert = sqlx::QueryBuilder::<Db>::new(sql::INSERT_AUDIT_HEAD);
            insert.push_values(batch, |mut row, entry| {
                row.push_bind(codec::new_id(entry.at))
                    .push_bind(codec::ms(entry.at))
                    .push_bind(entry.operator)
                    .push_bind(entry.action.as_str())
                    .push_bind(entry.tenant_id)
                    .push_bind(entry.tenant)
                    .push_bind(entry.job_id)
                    .push_bind(entry.job)
                    .push_bind(entry.handler)
                    .push_bind(entry.before.map(sqlx::types::Json))
                    .push_bind(entry.after.map(sqlx::types::Json));
            });
            insert.build().execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Calendar `id` read in the transaction with `statement` (`CALENDAR_BY_ID`, or the
    /// dialect's `LOCK_CALENDAR` to hold it until the transaction ends).
    pub(crate) async fn calendar_in(
        tx: &mut sqlx::Transaction<'static, Db>,
        statement: &'static str,
        id: Uuid,
    ) -> Result<StoredCalendar> {
        let row = sqlx::query(statement)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| codec::not_found("calendar", id))?;
        codec::calendar(&row)
    }

    /// Job `id` in the transaction, locked until it ends (see `LOCK_JOB`).
    pub(crate) async fn lock_job(tx: &mut sqlx::Transaction<'static, Db>, id: Uuid) -> Result<Job> {
        let row = sqlx::query(Self::LOCK_JOB)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| codec::not_found("job", id))?;
        codec::job(&row)
    }

    /// Job `id` as the transaction sees it.
    pub(crate) async fn job_in(tx: &mut sqlx::Transaction<'static, Db>, id: Uuid) -> Result<Job> {
        let row = sqlx::query(sql::JOB_BY_ID).bind(id).fetch_one(&mut **tx).await?;
        codec::job(&row)
    }

    /// Tenant `name` in the transaction, locked until it ends (see `LOCK_TENANT`).
    pub(crate) async fn lock_tenant(
        tx: &mut sqlx::Transaction<'static, Db>,
        name: &str,
    ) -> Result<Tenant> {
        let row = sqlx::query(Self::LOCK_TENANT)
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| codec::not_found("tenant", name))?;
        codec::tenant(&row)
    }

    /// The optimistic check of an update, on the locked row: nothing is written when
    /// someone changed the job since `expected`.
    pub(crate) fn check_version(job: &Job, expected: i64, key: &str) -> Result<()> {
        if job.version == expected {
            return Ok(());
        }
        Err(Error::StaleVersion {
            what: "job",
            key: key.to_owned(),
            expected,
            current: job.version,
        })
    }

    /// The error for an optimistic update of job `id` that matched no row: it is gone, or
    /// someone changed it since `expected` (`key` names it for people).
    pub(crate) async fn version_conflict(&self, id: Uuid, expected: i64, key: &str) -> Error {
        let current: std::result::Result<Option<i64>, _> =
            sqlx::query_scalar(sql::JOB_VERSION).bind(id).fetch_optional(self.reader()).await;
        match current {
            Err(error) => Error::from(error),
            Ok(None) => codec::not_found("job", id),
            Ok(Some(current)) => {
                Error::StaleVersion { what: "job", key: key.to_owned(), expected, current }
            }
        }
    }
}
