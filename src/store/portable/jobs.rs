//! Jobs (shared SQL; see `super`).

use std::collections::{HashMap, HashSet};

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
use crate::store::{codec, sql, BulkJobAction, BulkJobChange, JobFilter, JobSelection, JobStore};

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
        let role = Self::acting_role(&mut tx, operator).await?;
        let enabled = sqlx::query(sql::ENABLE_JOB)
            .bind(id)
            .bind(&role)
            .bind(probation)
            .bind(codec::opt_ms(next_run_at))
            .bind(codec::ms(now))
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(row) = enabled {
            let event = Event::JobReEnabled(JobReEnabled {
                job: row.text("name")?,
                operator: role,
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

    async fn select_jobs(&self, selection: &JobSelection, limit: u32) -> Result<Vec<Job>> {
        let rows = match selection {
            JobSelection::Ids(ids) => {
                let ids: Vec<serde_json::Value> = ids
                    .iter()
                    .map(|id| serde_json::json!({ "id": id.simple().to_string() }))
                    .collect();
                // `BULK_JOB_ROWS` reads `$1`; the limit is `$2`.
                let statement = format!(
                    "{} WHERE j.id IN (SELECT v.id FROM {}) ORDER BY j.id LIMIT $2",
                    sql::SELECT_JOBS,
                    Self::BULK_JOB_ROWS
                );
                sqlx::query(&statement)
                    .bind(sqlx::types::Json(ids))
                    .bind(i64::from(limit))
                    .fetch_all(self.reader())
                    .await?
            }
            JobSelection::Matching(filters) => {
                let mut select = sqlx::QueryBuilder::<Db>::new(sql::SELECT_JOBS);
                super::views::push_job_filters(&mut select, filters);
                select.push(" ORDER BY j.id LIMIT ").push_bind(i64::from(limit));
                select.build().fetch_all(self.reader()).await?
            }
        };
        rows.iter().map(codec::job).collect()
    }

    async fn bulk_update_jobs(
        &self,
        action: BulkJobAction,
        changes: &[BulkJobChange],
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Job>> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<serde_json::Value> = changes
            .iter()
            .map(|change| {
                serde_json::json!({
                    "id": change.job.id.simple().to_string(),
                    "version": change.job.version,
                    "next_run_at": codec::opt_ms(change.next_run_at),
                    "probation": change.probation,
                })
            })
            .collect();
        let rows = sqlx::types::Json(rows);
        let (set, audit_action) = match action {
            BulkJobAction::Pause => (sql::BULK_PAUSE_SET, AuditAction::JobPaused),
            BulkJobAction::Resume => (sql::BULK_RESUME_SET, AuditAction::JobResumed),
            BulkJobAction::Enable => (sql::BULK_ENABLE_SET, AuditAction::JobEnabled),
            BulkJobAction::Disable => (sql::BULK_DISABLE_SET, AuditAction::JobDisabled),
        };
        let statement = format!("{set} FROM {}{}", Self::BULK_JOB_ROWS, sql::BULK_JOBS_MATCH);
        let reason = codec::bound_error(&format!("disabled by {operator}"));
        let mut tx = self.begin_write().await?;
        let role = Self::acting_role(&mut tx, operator).await?;
        let mut update = sqlx::query(&statement).bind(&rows).bind(codec::ms(now));
        match action {
            BulkJobAction::Pause | BulkJobAction::Resume => {}
            BulkJobAction::Enable => update = update.bind(&role),
            BulkJobAction::Disable => update = update.bind(&reason),
        }
        let updated = update.fetch_all(&mut *tx).await?;
        if updated.len() != changes.len() {
            // Someone changed or deleted a job since it was read: nothing is written (the
            // transaction is dropped), and the error names the first such job.
            let changed: HashSet<Uuid> =
                updated.iter().map(|row| row.uuid("id")).collect::<Result<_>>()?;
            drop(tx);
            let stale = changes.iter().find(|change| !changed.contains(&change.job.id));
            return Err(match stale {
                Some(change) => {
                    let job = &change.job;
                    self.version_conflict(
                        job.id,
                        job.version,
                        &format!("{}/{}", job.tenant, job.name),
                    )
                    .await
                }
                None => crate::error::Error::invalid("jobs", "(a job twice)", "name each job once"),
            });
        }
        let statement = format!(
            "{} WHERE j.id IN (SELECT v.id FROM {}) ORDER BY j.id",
            sql::SELECT_JOBS,
            Self::BULK_JOB_ROWS
        );
        let after = sqlx::query(&statement).bind(&rows).fetch_all(&mut *tx).await?;
        let after = after.iter().map(codec::job).collect::<Result<Vec<Job>>>()?;
        let before: HashMap<Uuid, &Job> =
            changes.iter().map(|change| (change.job.id, &change.job)).collect();
        let entries = after
            .iter()
            .map(|job| match before.get(&job.id) {
                Some(before) => NewAuditEntry::job_change(audit_action, operator, now, before, job),
                None => NewAuditEntry::job(audit_action, operator, now, None, Some(job)),
            })
            .collect();
        Self::write_audits(&mut tx, entries).await?;
        if action == BulkJobAction::Enable {
            let events = after
                .iter()
                .map(|job| {
                    let event = Event::JobReEnabled(JobReEnabled {
                        job: job.name.clone(),
                        operator: role.clone(),
                        probation: job.on_probation,
                        next_run_at: job.next_run_at,
                    });
                    (event, job.tenant_id, Some(job.id))
                })
                .collect();
            Self::write_events(&mut tx, events, now).await?;
        }
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
