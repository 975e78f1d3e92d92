//! Tenants (shared SQL; see `super`).

use chrono::{DateTime, Utc};

use super::This;
use crate::audit::{AuditAction, NewAuditEntry};
use crate::error::Result;
use crate::policy::TenantPolicy;
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::{codec, sql, TenantSettings, TenantSettingsUpdate, TenantStore, TenantUpdate};
use crate::tenant::{NewTenant, Tenant};

impl TenantStore for This {
    async fn create_tenant(
        &self,
        tenant: &NewTenant,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Tenant> {
        let max_concurrent = codec::to_i32("max_concurrent", tenant.max_concurrent)?;
        let weight = codec::to_i32("weight", tenant.weight)?;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sql::INSERT_TENANT)
            .bind(codec::new_id(now))
            .bind(&tenant.name)
            .bind(max_concurrent)
            .bind(weight)
            .bind(codec::ms(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(codec::already_exists("tenant", &tenant.name))?;
        let created = codec::tenant(&row)?;
        let entry =
            NewAuditEntry::tenant(AuditAction::TenantCreated, operator, now, None, Some(&created));
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn tenant_by_name(&self, name: &str) -> Result<Tenant> {
        let row = sqlx::query(sql::TENANT_BY_NAME)
            .bind(name)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| codec::not_found("tenant", name))?;
        codec::tenant(&row)
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        let rows = sqlx::query(sql::LIST_TENANTS).fetch_all(self.reader()).await?;
        rows.iter().map(codec::tenant).collect()
    }

    async fn update_tenant(
        &self,
        name: &str,
        update: &TenantUpdate,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Tenant> {
        let max_concurrent = update
            .max_concurrent
            .map(|value| codec::to_i32("max_concurrent", value))
            .transpose()?;
        let weight = update.weight.map(|value| codec::to_i32("weight", value)).transpose()?;
        let mut tx = self.begin_write().await?;
        let before = Self::lock_tenant(&mut tx, name).await?;
        let row = sqlx::query(sql::UPDATE_TENANT)
            .bind(name)
            .bind(max_concurrent)
            .bind(weight)
            .bind(update.paused)
            .bind(codec::ms(now))
            .fetch_one(&mut *tx)
            .await?;
        let after = codec::tenant(&row)?;
        let entry = NewAuditEntry::tenant(
            AuditAction::TenantUpdated,
            operator,
            now,
            Some(&before),
            Some(&after),
        );
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn set_tenant_policy(
        &self,
        name: &str,
        policy: &TenantPolicy,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Tenant> {
        let (count, window) = match &policy.rate_limit {
            Some(limit) => (
                Some(codec::to_i32("rate_limit", limit.count)?),
                Some(codec::duration_ms(limit.window)),
            ),
            None => (None, None),
        };
        let opt_i32 = |field: &str, value: Option<u32>| {
            value.map(|value| codec::to_i32(field, value)).transpose()
        };
        let default_max_retries = opt_i32("default_max_retries", policy.default_max_retries)?;
        let default_auto_disable_after =
            opt_i32("default_auto_disable_after", policy.default_auto_disable_after)?;
        let mut tx = self.begin_write().await?;
        let before = Self::lock_tenant(&mut tx, name).await?;
        let row = sqlx::query(sql::SET_TENANT_POLICY)
            .bind(name)
            .bind(count)
            .bind(window)
            .bind(default_max_retries)
            .bind(default_auto_disable_after)
            .bind(codec::ms(now))
            .fetch_one(&mut *tx)
            .await?;
        let after = codec::tenant(&row)?;
        // Starts already in the new window count at once (the claim marks the later ones).
        if let Some(limit) = after.policy.rate_limit {
            sqlx::query(sql::MARK_RATE_COUNTED)
                .bind(after.id)
                .bind(codec::ms(now).saturating_sub(codec::duration_ms(limit.window)))
                .execute(&mut *tx)
                .await?;
        }
        let entry = NewAuditEntry::tenant(
            AuditAction::TenantPolicySet,
            operator,
            now,
            Some(&before),
            Some(&after),
        );
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn tenant_settings(&self, name: &str) -> Result<TenantSettings> {
        let row = sqlx::query(sql::TENANT_SETTINGS)
            .bind(name)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| codec::not_found("tenant", name))?;
        codec::tenant_settings(&row)
    }

    async fn update_tenant_settings(
        &self,
        name: &str,
        update: &TenantSettingsUpdate,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<TenantSettings> {
        let mut tx = self.begin_write().await?;
        let locked = sqlx::query(Self::LOCK_TENANT_SETTINGS)
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| codec::not_found("tenant", name))?;
        let tenant_id = locked.uuid("id")?;
        let before = codec::tenant_settings(&locked)?;
        let secret = update
            .webhook_secret
            .as_ref()
            .map(|secret| secret.as_ref().map(|secret| secret.expose().to_owned()));
        let limits = update
            .command_limits
            .as_ref()
            .map(|limits| (!limits.is_empty()).then(|| sqlx::types::Json(limits.clone())));
        let work_dir = update
            .work_dir
            .as_ref()
            .map(|dir| dir.as_ref().map(|dir| dir.to_string_lossy().into_owned()));
        let row = sqlx::query(sql::UPDATE_TENANT_SETTINGS)
            .bind(name)
            .bind(update.webhook_url.is_some())
            .bind(update.webhook_url.clone().flatten())
            .bind(secret.is_some())
            .bind(secret.flatten())
            .bind(update.notify_email.is_some())
            .bind(update.notify_email.clone().flatten())
            .bind(limits.is_some())
            .bind(limits.flatten())
            .bind(update.run_as.is_some())
            .bind(update.run_as.clone().flatten())
            .bind(work_dir.is_some())
            .bind(work_dir.flatten())
            .bind(codec::ms(now))
            .bind(update.notify_run_failed)
            .bind(update.notify_throttled)
            .fetch_one(&mut *tx)
            .await?;
        let after = codec::tenant_settings(&row)?;
        let replaced = matches!(update.webhook_secret, Some(Some(_)));
        let entry = NewAuditEntry::tenant_settings(
            operator,
            now,
            tenant_id,
            name,
            codec::settings_document(&before, false),
            codec::settings_document(&after, replaced),
        );
        Self::write_audit(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(after)
    }
}
