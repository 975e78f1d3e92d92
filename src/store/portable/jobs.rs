//! Jobs (shared SQL; see `super`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{bind_policy, Db, This};
use crate::audit::{AuditAction, NewAuditEntry};
use crate::error::Result;
use crate::event::{Event, JobReEnabled};
use crate::job::{Job, JobDefinition};
use crate::policy::JobPolicy;
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::{codec, sql, JobFilter, JobStore};

impl JobStore for This {
    async fn create_job(
        &self,
        tenant_id: Uuid,
        definition: &JobDefinition,
        policy: &JobPolicy,
        next_run_at: Option<DateTime<Utc>>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Job> {
        let id = codec::new_id(now);
        let policy = codec::policy_values(policy)?;
        let query = sqlx::query(sql::INSERT_JOB)
            .bind(id)
            .bind(tenant_id)
            .bind(&definition.name)
            .bind(&definition.schedule)
            .bind(&definition.timezone)
            .bind(sqlx::types::Json(&definition.handler))
            .bind(sqlx::types::Json(&definition.payload))
            .bind(codec::duration_ms(definition.timeout))
            .bind(codec::opt_ms(next_run_at))
            .bind(codec::ms(now));
        let mut tx = self.begin_write().await?;
        bind_policy(query, &policy).execute(&mut *tx).await.map_err(|error| {
            if codec::is_foreign_key_violation(&error) {
                codec::not_found("tenant", tenant_id)
            } else {
                codec::already_exists("job", &definition.name)(error)
            }
        })?;
        let job = Self::job_in(&mut tx, id).await?;
        let entry = NewAuditEntry::job(AuditAction::JobCreated, operator, now, None, Some(&job));
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(job)
    }

    async fn job(&self, id: Uuid) -> Result<Job> {
        let row = sqlx::query(sql::JOB_BY_ID)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| codec::not_found("job", id))?;
        codec::job(&row)
    }

    async fn job_by_name(&self, tenant: &str, name: &str) -> Result<Job> {
        let row = sqlx::query(sql::JOB_BY_NAME)
            .bind(tenant)
            .bind(name)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| codec::not_found("job", format!("{tenant}/{name}")))?;
        codec::job(&row)
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>> {
        let limit = codec::bounded_limit(filter.limit, codec::DEFAULT_JOB_LIMIT);
        let mut query = sqlx::QueryBuilder::<Db>::new(sql::SELECT_JOBS);
        query.push(" WHERE 1 = 1");
        if let Some(tenant) = &filter.tenant {
            query.push(" AND t.name = ").push_bind(tenant.as_str());
        }
        if let Some(enabled) = filter.enabled {
            query.push(" AND j.enabled = ").push_bind(enabled);
        }
        query.push(" ORDER BY j.created_at DESC, j.id DESC LIMIT ").push_bind(limit);
        let rows = query.build().fetch_all(self.reader()).await?;
        rows.iter().map(codec::job).collect()
    }

    async fn update_job(
        &self,
        id: Uuid,
        expected_version: i64,
        definition: &JobDefinition,
        next_run_at: Option<DateTime<Utc>>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Job> {
        let mut tx = self.begin_write().await?;
        let before = Self::lock_job(&mut tx, id).await?;
        Self::check_version(&before, expected_version, &definition.name)?;
        let updated = sqlx::query(sql::UPDATE_JOB)
            .bind(id)
            .bind(expected_version)
            .bind(&definition.name)
            .bind(&definition.schedule)
            .bind(&definition.timezone)
            .bind(sqlx::types::Json(&definition.handler))
            .bind(sqlx::types::Json(&definition.payload))
            .bind(codec::duration_ms(definition.timeout))
            .bind(codec::opt_ms(next_run_at))
            .bind(codec::ms(now))
            .execute(&mut *tx)
            .await
            .map_err(codec::already_exists("job", &definition.name))?
            .rows_affected();
        if updated == 0 {
            drop(tx);
            return Err(self.version_conflict(id, expected_version, &definition.name).await);
        }
        let after = Self::job_in(&mut tx, id).await?;
        let entry =
            NewAuditEntry::job(AuditAction::JobUpdated, operator, now, Some(&before), Some(&after));
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn update_job_policy(
        &self,
        id: Uuid,
        expected_version: i64,
        policy: &JobPolicy,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Job> {
        let values = codec::policy_values(policy)?;
        let mut tx = self.begin_write().await?;
        let before = Self::lock_job(&mut tx, id).await?;
        Self::check_version(&before, expected_version, &id.to_string())?;
        let query = sqlx::query(sql::UPDATE_JOB_POLICY).bind(id).bind(expected_version);
        let updated = bind_policy(query, &values)
            .bind(codec::ms(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            drop(tx);
            return Err(self.version_conflict(id, expected_version, &id.to_string()).await);
        }
        let after = Self::job_in(&mut tx, id).await?;
        let entry = NewAuditEntry::job(
            AuditAction::JobPolicySet,
            operator,
            now,
            Some(&before),
            Some(&after),
        );
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn set_job_paused(
        &self,
        id: Uuid,
        paused: bool,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Job> {
        let mut tx = self.begin_write().await?;
        let before = Self::lock_job(&mut tx, id).await?;
        sqlx::query(sql::SET_JOB_PAUSED)
            .bind(id)
            .bind(paused)
            .bind(codec::ms(now))
            .execute(&mut *tx)
            .await?;
        let after = Self::job_in(&mut tx, id).await?;
        let action = if paused { AuditAction::JobPaused } else { AuditAction::JobResumed };
        let entry = NewAuditEntry::job(action, operator, now, Some(&before), Some(&after));
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn enable_job(
        &self,
        id: Uuid,
        operator: &str,
        probation: bool,
        next_run_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Job> {
        let mut tx = self.begin_write().await?;
        let before = Self::lock_job(&mut tx, id).await?;
        let enabled = sqlx::query(sql::ENABLE_JOB)
            .bind(id)
            .bind(operator)
            .bind(probation)
            .bind(codec::opt_ms(next_run_at))
            .bind(codec::ms(now))
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = enabled {
            let event = Event::JobReEnabled(JobReEnabled {
                job: row.text("name")?,
                operator: operator.to_owned(),
                probation,
                next_run_at,
            });
            Self::write_event(&mut tx, &event, row.uuid("tenant_id")?, Some(id), now).await?;
            let after = Self::job_in(&mut tx, id).await?;
            let entry = NewAuditEntry::job(
                AuditAction::JobEnabled,
                operator,
                now,
                Some(&before),
                Some(&after),
            );
            Self::write_audit(&mut tx, entry).await?;
            tx.commit().await?;
            return Ok(after);
        }
        // Enabled already: nothing changed, nothing to record.
        tx.commit().await?;
        Ok(before)
    }

    async fn set_job_enabled(
        &self,
        id: Uuid,
        enabled: bool,
        reason: Option<&str>,
        next_run_at: Option<DateTime<Utc>>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Job> {
        let reason = if enabled { None } else { reason.map(codec::bound_error) };
        let mut tx = self.begin_write().await?;
        let before = Self::lock_job(&mut tx, id).await?;
        sqlx::query(sql::SET_JOB_ENABLED)
            .bind(id)
            .bind(enabled)
            .bind(reason)
            .bind(codec::opt_ms(next_run_at))
            .bind(codec::ms(now))
            .execute(&mut *tx)
            .await?;
        let after = Self::job_in(&mut tx, id).await?;
        let action = if enabled { AuditAction::JobEnabled } else { AuditAction::JobDisabled };
        let entry = NewAuditEntry::job(action, operator, now, Some(&before), Some(&after));
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_job(&self, id: Uuid, operator: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let before = Self::lock_job(&mut tx, id).await?;
        sqlx::query(sql::DELETE_JOB).bind(id).execute(&mut *tx).await?;
        let entry = NewAuditEntry::job(AuditAction::JobDeleted, operator, now, Some(&before), None);
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }
}
