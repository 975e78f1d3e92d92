//! Calendars (shared SQL; see `super`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::This;
use crate::audit::{AuditAction, NewAuditEntry};
use crate::calendars::StoredCalendar;
use crate::error::Result;
use crate::job::Job;
use crate::store::calendars::CalendarVersion;
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::{codec, sql, CalendarStore};

impl CalendarStore for This {
    async fn create_calendar(
        &self,
        tenant_id: Option<Uuid>,
        name: &str,
        source: &str,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredCalendar> {
        let id = codec::new_id(now);
        let mut tx = self.begin_write().await?;
        sqlx::query(sql::INSERT_CALENDAR)
            .bind(id)
            .bind(tenant_id)
            .bind(name)
            .bind(source)
            .bind(codec::ms(now))
            .execute(&mut *tx)
            .await
            .map_err(|error| {
                if codec::is_foreign_key_violation(&error) {
                    codec::not_found("tenant", tenant_id.unwrap_or_default())
                } else {
                    codec::already_exists("calendar", name)(error)
                }
            })?;
        let after = Self::calendar_in(&mut tx, sql::CALENDAR_BY_ID, id).await?;
        let entry = NewAuditEntry::calendar(
            AuditAction::CalendarCreated,
            operator,
            now,
            None,
            Some(&after),
        );
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn update_calendar(
        &self,
        id: Uuid,
        source: &str,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredCalendar> {
        let mut tx = self.begin_write().await?;
        let before = Self::calendar_in(&mut tx, Self::LOCK_CALENDAR, id).await?;
        sqlx::query(sql::UPDATE_CALENDAR)
            .bind(id)
            .bind(source)
            .bind(codec::ms(now))
            .execute(&mut *tx)
            .await?;
        let after = Self::calendar_in(&mut tx, sql::CALENDAR_BY_ID, id).await?;
        let entry = NewAuditEntry::calendar(
            AuditAction::CalendarUpdated,
            operator,
            now,
            Some(&before),
            Some(&after),
        );
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn delete_calendar(&self, id: Uuid, operator: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let before = Self::calendar_in(&mut tx, Self::LOCK_CALENDAR, id).await?;
        sqlx::query(sql::DELETE_CALENDAR).bind(id).execute(&mut *tx).await?;
        let entry = NewAuditEntry::calendar(
            AuditAction::CalendarRemoved,
            operator,
            now,
            Some(&before),
            None,
        );
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn calendar_named(
        &self,
        tenant_id: Option<Uuid>,
        name: &str,
    ) -> Result<Option<StoredCalendar>> {
        let row = sqlx::query(sql::CALENDAR_NAMED)
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(codec::calendar).transpose()
    }

    async fn calendar(&self, id: Uuid) -> Result<StoredCalendar> {
        let row = sqlx::query(sql::CALENDAR_BY_ID)
            .bind(id)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| codec::not_found("calendar", id))?;
        codec::calendar(&row)
    }

    async fn list_calendars(&self, tenant_id: Option<Uuid>) -> Result<Vec<StoredCalendar>> {
        let rows = match tenant_id {
            Some(tenant_id) => {
                sqlx::query(sql::CALENDARS_OF_TENANT)
                    .bind(tenant_id)
                    .fetch_all(self.reader())
                    .await?
            }
            None => sqlx::query(sql::LIST_CALENDARS).fetch_all(self.reader()).await?,
        };
        rows.iter().map(codec::calendar).collect()
    }

    async fn jobs_naming_calendar(&self, tenant_id: Option<Uuid>, name: &str) -> Result<Vec<Job>> {
        let quoted = serde_json::to_string(name)
            .map_err(|error| crate::Error::invalid("calendar name", error, "text"))?;
        let mut pattern = String::from("%");
        for character in quoted.chars() {
            if matches!(character, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(character);
        }
        pattern.push('%');
        let rows = sqlx::query(sql::JOBS_NAMING_CALENDAR)
            .bind(tenant_id)
            .bind(name)
            .bind(pattern)
            .fetch_all(self.reader())
            .await?;
        let jobs: Vec<Job> = rows.iter().map(codec::job).collect::<Result<_>>()?;
        Ok(jobs
            .into_iter()
            .filter(|job| {
                job.policy.only_calendar.as_deref() == Some(name)
                    || job.policy.exclude_calendars.iter().any(|named| named == name)
            })
            .collect())
    }

    async fn bring_next_run_forward(&self, job_id: Uuid, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(sql::BRING_NEXT_RUN_FORWARD)
            .bind(job_id)
            .bind(codec::ms(at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn calendar_versions(&self) -> Result<Vec<CalendarVersion>> {
        let rows = sqlx::query(sql::CALENDAR_VERSIONS).fetch_all(self.reader()).await?;
        rows.iter()
            .map(|row| {
                Ok(CalendarVersion {
                    id: row.uuid("id")?,
                    tenant_id: row.opt_uuid("tenant_id")?,
                    name: row.text("name")?,
                    version: row.bigint("version")?,
                })
            })
            .collect()
    }
}
