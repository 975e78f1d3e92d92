//! The [`Store`](super::Store) methods whose SQL is portable, written once and expanded into each
//! backend's `impl Store` by [`portable_store_methods!`] (in the spirit of Oban's SQLite engine
//! delegating to the Postgres one wherever the SQL is the same).
//!
//! A macro rather than generic functions: sqlx's executor, argument and row types differ per
//! database, and spelling the bounds for every type bound here would be longer than the bodies.
//! Expanded for a concrete database, each body is type-checked on its own.
//!
//! The backend provides, as inherent items:
//! - `fn reader(&self) -> &Pool<DB>` for reads and `fn writer(&self) -> &Pool<DB>` for
//!   single-statement writes (on SQLite, a separate one-connection pool: writers queue in the
//!   pool instead of spinning on `SQLITE_BUSY`);
//! - `async fn begin_write(&self) -> Result<Transaction<'static, DB>>` for write transactions
//!   (`BEGIN IMMEDIATE` on SQLite, so the write lock is taken up front and a transaction never
//!   has to upgrade a read lock);
//! - the dialect module in [`super::sql`] holding its statements that differ.

/// Binds a job's policy columns ([`super::codec::PolicyValues`]) to `$query`, in the order of
/// `policy_column_names!` in `sql.rs`.
macro_rules! bind_policy {
    ($query:expr, $values:expr) => {
        $query
            .bind($values.max_retries)
            .bind($values.retry_backoff)
            .bind($values.retry_initial_ms)
            .bind($values.retry_multiplier)
            .bind($values.retry_max_ms)
            .bind($values.retry_jitter)
            .bind($values.overlap)
            .bind($values.missed)
            .bind($values.missed_max_runs)
            .bind($values.catch_up_window_ms)
            .bind($values.auto_disable_after)
            .bind($values.probation)
            .bind($values.jitter_window_ms)
    };
}

/// Expands the portable `Store` methods. `$db` is the sqlx database type, `$dialect` the module
/// of `sql` with that backend's own statements.
macro_rules! portable_store_methods {
    ($db:ty, $dialect:ident) => {
        async fn create_tenant(
            &self,
            tenant: &$crate::tenant::NewTenant,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::tenant::Tenant> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
            let max_concurrent = codec::to_i32("max_concurrent", tenant.max_concurrent)?;
            let weight = codec::to_i32("weight", tenant.weight)?;
            let mut tx = self.begin_write().await?;
            let row = ::sqlx::query(sql::INSERT_TENANT)
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

        async fn tenant_by_name(
            &self,
            name: &str,
        ) -> $crate::error::Result<$crate::tenant::Tenant> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::TENANT_BY_NAME)
                .bind(name)
                .fetch_optional(self.reader())
                .await?
                .ok_or_else(|| codec::not_found("tenant", name))?;
            codec::tenant(&row)
        }

        async fn list_tenants(&self) -> $crate::error::Result<Vec<$crate::tenant::Tenant>> {
            use $crate::store::{codec, sql};
            let rows = ::sqlx::query(sql::LIST_TENANTS).fetch_all(self.reader()).await?;
            rows.iter().map(codec::tenant).collect()
        }

        async fn update_tenant(
            &self,
            name: &str,
            update: &$crate::store::TenantUpdate,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::tenant::Tenant> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
            let max_concurrent = update
                .max_concurrent
                .map(|value| codec::to_i32("max_concurrent", value))
                .transpose()?;
            let weight = update.weight.map(|value| codec::to_i32("weight", value)).transpose()?;
            let mut tx = self.begin_write().await?;
            let before = Self::lock_tenant(&mut tx, name).await?;
            let row = ::sqlx::query(sql::UPDATE_TENANT)
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
            policy: &$crate::policy::TenantPolicy,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::tenant::Tenant> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
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
            let row = ::sqlx::query(sql::SET_TENANT_POLICY)
                .bind(name)
                .bind(count)
                .bind(window)
                .bind(default_max_retries)
                .bind(default_auto_disable_after)
                .bind(codec::ms(now))
                .fetch_one(&mut *tx)
                .await?;
            let after = codec::tenant(&row)?;
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

        async fn upsert_named_handler(
            &self,
            name: &str,
            spec: &$crate::handler::HandlerSpec,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<()> {
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let mut tx = self.begin_write().await?;
            let before = match ::sqlx::query(sql::$dialect::LOCK_NAMED_HANDLER)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(row) => row.opt_json("spec")?,
                None => None,
            };
            ::sqlx::query(sql::UPSERT_NAMED_HANDLER)
                .bind(codec::new_id(now))
                .bind(name)
                .bind(::sqlx::types::Json(spec))
                .bind(codec::ms(now))
                .execute(&mut *tx)
                .await?;
            let after = $crate::audit::snapshot(spec);
            let entry = $crate::audit::NewAuditEntry::handler(operator, now, name, before, after);
            Self::write_audit(&mut tx, entry).await?;
            tx.commit().await?;
            Ok(())
        }

        async fn named_handler(
            &self,
            name: &str,
        ) -> $crate::error::Result<Option<$crate::handler::HandlerSpec>> {
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let row =
                ::sqlx::query(sql::NAMED_HANDLER).bind(name).fetch_optional(self.reader()).await?;
            match row {
                None => Ok(None),
                Some(row) => match row.opt_json("spec")? {
                    None => Ok(None),
                    Some(spec) => codec::document("named_handlers.spec", spec).map(Some),
                },
            }
        }

        async fn create_job(
            &self,
            tenant_id: ::uuid::Uuid,
            definition: &$crate::job::JobDefinition,
            policy: &$crate::policy::JobPolicy,
            next_run_at: Option<::chrono::DateTime<::chrono::Utc>>,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
            let id = codec::new_id(now);
            let policy = codec::policy_values(policy)?;
            let query = ::sqlx::query(sql::INSERT_JOB)
                .bind(id)
                .bind(tenant_id)
                .bind(&definition.name)
                .bind(&definition.schedule)
                .bind(&definition.timezone)
                .bind(::sqlx::types::Json(&definition.handler))
                .bind(::sqlx::types::Json(&definition.payload))
                .bind(codec::duration_ms(definition.timeout))
                .bind(codec::opt_ms(next_run_at))
                .bind(codec::ms(now));
            let mut tx = self.begin_write().await?;
            $crate::store::portable::bind_policy!(query, policy)
                .execute(&mut *tx)
                .await
                .map_err(|error| {
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

        async fn job(&self, id: ::uuid::Uuid) -> $crate::error::Result<$crate::job::Job> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::JOB_BY_ID)
                .bind(id)
                .fetch_optional(self.reader())
                .await?
                .ok_or_else(|| codec::not_found("job", id))?;
            codec::job(&row)
        }

        async fn job_by_name(
            &self,
            tenant: &str,
            name: &str,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::JOB_BY_NAME)
                .bind(tenant)
                .bind(name)
                .fetch_optional(self.reader())
                .await?
                .ok_or_else(|| codec::not_found("job", format!("{tenant}/{name}")))?;
            codec::job(&row)
        }

        async fn list_jobs(
            &self,
            filter: &$crate::store::JobFilter,
        ) -> $crate::error::Result<Vec<$crate::job::Job>> {
            use $crate::store::{codec, sql};
            let limit = codec::bounded_limit(filter.limit, codec::DEFAULT_JOB_LIMIT);
            let mut query = ::sqlx::QueryBuilder::<$db>::new(sql::SELECT_JOBS);
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
            id: ::uuid::Uuid,
            expected_version: i64,
            definition: &$crate::job::JobDefinition,
            next_run_at: Option<::chrono::DateTime<::chrono::Utc>>,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
            let mut tx = self.begin_write().await?;
            let before = Self::lock_job(&mut tx, id).await?;
            Self::check_version(&before, expected_version, &definition.name)?;
            let updated = ::sqlx::query(sql::UPDATE_JOB)
                .bind(id)
                .bind(expected_version)
                .bind(&definition.name)
                .bind(&definition.schedule)
                .bind(&definition.timezone)
                .bind(::sqlx::types::Json(&definition.handler))
                .bind(::sqlx::types::Json(&definition.payload))
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
            let entry = NewAuditEntry::job(
                AuditAction::JobUpdated,
                operator,
                now,
                Some(&before),
                Some(&after),
            );
            Self::write_audit(&mut tx, entry).await?;
            tx.commit().await?;
            Ok(after)
        }

        async fn update_job_policy(
            &self,
            id: ::uuid::Uuid,
            expected_version: i64,
            policy: &$crate::policy::JobPolicy,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
            let values = codec::policy_values(policy)?;
            let mut tx = self.begin_write().await?;
            let before = Self::lock_job(&mut tx, id).await?;
            Self::check_version(&before, expected_version, &id.to_string())?;
            let query = ::sqlx::query(sql::UPDATE_JOB_POLICY).bind(id).bind(expected_version);
            let updated = $crate::store::portable::bind_policy!(query, values)
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
            id: ::uuid::Uuid,
            paused: bool,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
            let mut tx = self.begin_write().await?;
            let before = Self::lock_job(&mut tx, id).await?;
            ::sqlx::query(sql::SET_JOB_PAUSED)
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
            id: ::uuid::Uuid,
            operator: &str,
            probation: bool,
            next_run_at: Option<::chrono::DateTime<::chrono::Utc>>,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let mut tx = self.begin_write().await?;
            let before = Self::lock_job(&mut tx, id).await?;
            let enabled = ::sqlx::query(sql::ENABLE_JOB)
                .bind(id)
                .bind(operator)
                .bind(probation)
                .bind(codec::opt_ms(next_run_at))
                .bind(codec::ms(now))
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = enabled {
                let data = ::serde_json::json!({
                    "job": row.text("name")?,
                    "operator": operator,
                    "probation": probation,
                    "next_run_at": next_run_at,
                });
                ::sqlx::query(sql::INSERT_OUTBOX)
                    .bind(codec::new_id(now))
                    .bind($crate::store::EVENT_JOB_RE_ENABLED)
                    .bind(row.uuid("tenant_id")?)
                    .bind(Some(id))
                    .bind(codec::ms(now))
                    .bind(::sqlx::types::Json(data))
                    .bind(codec::ms(now))
                    .execute(&mut *tx)
                    .await?;
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
            id: ::uuid::Uuid,
            enabled: bool,
            reason: Option<&str>,
            next_run_at: Option<::chrono::DateTime<::chrono::Utc>>,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
            let reason = if enabled { None } else { reason.map(codec::bound_error) };
            let mut tx = self.begin_write().await?;
            let before = Self::lock_job(&mut tx, id).await?;
            ::sqlx::query(sql::SET_JOB_ENABLED)
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

        async fn enqueue_manual(
            &self,
            job_id: ::uuid::Uuid,
            payload: Option<&::serde_json::Value>,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::run::Run> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::{codec, sql};
            let job = self.job(job_id).await?;
            let mut tx = self.begin_write().await?;
            // The occurrence key is (job, scheduled_at, attempt). Scheduled occurrences fall on
            // whole seconds (cron has no finer unit, and zone offsets are whole seconds), so a
            // manual run never takes a whole second: it could take the key of a scheduled
            // occurrence that the tick has not enqueued yet, and that occurrence would be lost.
            // A millisecond already taken (by another manual run) moves on by one millisecond.
            let mut scheduled_at = codec::ms(now);
            for _ in 0..codec::MANUAL_SLOT_ATTEMPTS {
                if scheduled_at.rem_euclid(1000) == 0 {
                    scheduled_at += 1;
                }
                let id = codec::new_id(now);
                let inserted = ::sqlx::query(sql::INSERT_RUN)
                    .bind(id)
                    .bind(job_id)
                    .bind(job.tenant_id)
                    .bind(scheduled_at)
                    .bind($crate::run::Trigger::Manual.as_str())
                    .bind(payload.map(::sqlx::types::Json))
                    .bind(codec::ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(|error| {
                        if codec::is_foreign_key_violation(&error) {
                            codec::not_found("job", job_id)
                        } else {
                            $crate::error::Error::Database(error)
                        }
                    })?
                    .rows_affected();
                if inserted == 1 {
                    let row = ::sqlx::query(sql::RUN_BY_ID).bind(id).fetch_one(&mut *tx).await?;
                    let run = codec::run(&row)?;
                    let after = ::serde_json::json!({
                        "run_id": run.id,
                        "scheduled_at": run.scheduled_at,
                        "payload": payload,
                    });
                    let entry =
                        NewAuditEntry::job_operation(AuditAction::JobTriggered, operator, now, &job, after);
                    Self::write_audit(&mut tx, entry).await?;
                    tx.commit().await?;
                    return Ok(run);
                }
                scheduled_at += 1;
            }
            Err($crate::error::Error::invalid(
                "scheduled_at",
                now,
                "too many manual runs of this job were queued in the same second",
            ))
        }

        async fn run(&self, id: ::uuid::Uuid) -> $crate::error::Result<$crate::run::Run> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::RUN_BY_ID)
                .bind(id)
                .fetch_optional(self.reader())
                .await?
                .ok_or_else(|| codec::not_found("run", id))?;
            codec::run(&row)
        }

        async fn backfill(
            &self,
            job_id: ::uuid::Uuid,
            occurrences: &[::chrono::DateTime<::chrono::Utc>],
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::store::BackfillReport> {
            use $crate::store::{codec, sql};
            let job = self.job(job_id).await?;
            let mut report = $crate::store::BackfillReport {
                occurrences: occurrences.len() as u64,
                ..Default::default()
            };
            let mut tx = self.begin_write().await?;
            for at in occurrences {
                report.queued += ::sqlx::query(sql::BACKFILL_RUN)
                    .bind(codec::new_id(now))
                    .bind(job_id)
                    .bind(job.tenant_id)
                    .bind(codec::ms(*at))
                    .bind(codec::ms(now))
                    .bind(None::<&str>)
                    .bind($crate::run::Trigger::Backfill.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            report.already_present = report.occurrences - report.queued;
            let after = ::serde_json::json!({
                "from": occurrences.first(),
                "to": occurrences.last(),
                "occurrences": report.occurrences,
                "queued": report.queued,
                "already_present": report.already_present,
            });
            let entry = $crate::audit::NewAuditEntry::job_operation(
                $crate::audit::AuditAction::JobBackfilled,
                operator,
                now,
                &job,
                after,
            );
            Self::write_audit(&mut tx, entry).await?;
            tx.commit().await?;
            Ok(report)
        }

        async fn prune_runs(
            &self,
            before: ::chrono::DateTime<::chrono::Utc>,
            keep_last: u32,
            batch: u32,
        ) -> $crate::error::Result<u64> {
            use $crate::store::{codec, sql};
            let batch = batch.max(1);
            let mut total = 0;
            loop {
                let deleted = ::sqlx::query(sql::PRUNE_RUNS)
                    .bind(codec::ms(before))
                    .bind(i64::from(keep_last))
                    .bind(i64::from(batch))
                    .execute(self.writer())
                    .await?
                    .rows_affected();
                total += deleted;
                if deleted < u64::from(batch) {
                    return Ok(total);
                }
            }
        }

        async fn prune_notifications(
            &self,
            before: ::chrono::DateTime<::chrono::Utc>,
            batch: u32,
        ) -> $crate::error::Result<(u64, u64)> {
            use $crate::store::{codec, sql};
            let batch = batch.max(1);
            let mut deleted = [0u64; 2];
            for (statement, total) in
                [sql::PRUNE_OUTBOX, sql::PRUNE_DELIVERIES].into_iter().zip(&mut deleted)
            {
                loop {
                    let rows = ::sqlx::query(statement)
                        .bind(codec::ms(before))
                        .bind(i64::from(batch))
                        .execute(self.writer())
                        .await?
                        .rows_affected();
                    *total += rows;
                    if rows < u64::from(batch) {
                        break;
                    }
                }
            }
            Ok((deleted[0], deleted[1]))
        }

        async fn list_outbox(
            &self,
            limit: u32,
        ) -> $crate::error::Result<Vec<$crate::store::OutboxEvent>> {
            use $crate::store::{codec, sql};
            let rows = ::sqlx::query(sql::LIST_OUTBOX)
                .bind(codec::bounded_limit(Some(limit), codec::DEFAULT_RUN_LIMIT))
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(codec::outbox_event).collect()
        }

        async fn list_runs(
            &self,
            filter: &$crate::store::RunFilter,
        ) -> $crate::error::Result<Vec<$crate::run::Run>> {
            use $crate::store::{codec, sql};
            let limit = codec::bounded_limit(filter.limit, codec::DEFAULT_RUN_LIMIT);
            let mut query = ::sqlx::QueryBuilder::<$db>::new(sql::SELECT_RUNS);
            query.push(" WHERE 1 = 1");
            if let Some(tenant) = &filter.tenant {
                query.push(" AND t.name = ").push_bind(tenant.as_str());
            }
            if let Some(job) = &filter.job {
                query.push(" AND j.name = ").push_bind(job.as_str());
            }
            if let Some(job_id) = filter.job_id {
                query.push(" AND r.job_id = ").push_bind(job_id);
            }
            if let Some(status) = filter.status {
                query.push(" AND r.status = ").push_bind(status.as_str());
            }
            query
                .push(" ORDER BY r.scheduled_at DESC, r.attempt DESC, r.id DESC LIMIT ")
                .push_bind(limit);
            let rows = query.build().fetch_all(self.reader()).await?;
            rows.iter().map(codec::run).collect()
        }

        async fn enqueue_due(
            &self,
            now: ::chrono::DateTime<::chrono::Utc>,
            due_until: ::chrono::DateTime<::chrono::Utc>,
            limit: u32,
            plan: &(dyn Fn(&$crate::store::DueJob) -> $crate::store::TickPlan + Send + Sync),
        ) -> $crate::error::Result<$crate::store::TickReport> {
            use $crate::store::{codec, sql};
            let now_ms = codec::ms(now);
            let mut tx = self.begin_write().await?;
            // Each due job's running/queued probes must not scan `runs` (measured on Postgres:
            // a tick of 167 due jobs grew to 350 ms within a minute of a fresh start).
            Self::use_indexes(&mut tx).await?;
            let due = ::sqlx::query(sql::$dialect::DUE_JOBS)
                .bind(codec::ms(due_until))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            // Rows to insert per job, and (job, next_run_at) to write.
            let mut queued: Vec<(::uuid::Uuid, ::uuid::Uuid, $crate::store::PlannedRun)> =
                Vec::new();
            let mut recorded: Vec<(::uuid::Uuid, ::uuid::Uuid, $crate::store::PlannedRun)> =
                Vec::new();
            let mut supersede: Vec<(::uuid::Uuid, String)> = Vec::new();
            let mut advances: Vec<(::uuid::Uuid, Option<i64>)> = Vec::with_capacity(due.len());
            for row in &due {
                let job = codec::due_job(row)?;
                let planned = plan(&job);
                if let Some(reason) = planned.supersede {
                    supersede.push((job.job_id, reason));
                }
                for run in planned.runs {
                    if run.status == $crate::run::RunStatus::Queued {
                        queued.push((job.job_id, job.tenant_id, run));
                    } else {
                        recorded.push((job.job_id, job.tenant_id, run));
                    }
                }
                advances.push((job.job_id, codec::opt_ms(planned.next_run_at)));
            }
            let mut report = $crate::store::TickReport {
                jobs: advances.len() as u64,
                ..Default::default()
            };
            // Before the inserts, so that the new run is not among the superseded ones.
            for (job_id, reason) in &supersede {
                let reason = codec::bound_error(reason);
                ::sqlx::query(sql::SUPERSEDE_QUEUED)
                    .bind(job_id)
                    .bind(now_ms)
                    .bind(&reason)
                    .execute(&mut *tx)
                    .await?;
                ::sqlx::query(sql::REQUEST_CANCEL)
                    .bind(job_id)
                    .bind(&reason)
                    .execute(&mut *tx)
                    .await?;
            }
            // Batched: a tick of 10,000 due jobs is a few dozen statements, not 20,000.
            for (rows, counter) in [(&queued, &mut report.enqueued), (&recorded, &mut report.recorded)] {
                for chunk in rows.chunks(codec::INSERT_BATCH) {
                    let mut insert = ::sqlx::QueryBuilder::<$db>::new(sql::INSERT_RUNS);
                    insert.push_values(chunk, |mut values, (job_id, tenant_id, run)| {
                        let is_queued = run.status == $crate::run::RunStatus::Queued;
                        values
                            .push_bind(codec::new_id(now))
                            .push_bind(*job_id)
                            .push_bind(*tenant_id)
                            .push_bind(codec::ms(run.scheduled_at))
                            .push_bind($crate::run::Trigger::Schedule.as_str())
                            .push_bind(1_i32)
                            .push_bind(run.status.as_str())
                            .push_bind(now_ms)
                            // A planned occurrence in the future does not start early.
                            .push_bind(codec::ms(run.not_before))
                            .push_bind((!is_queued).then_some(now_ms))
                            .push_bind(run.reason.as_deref().map(codec::bound_error))
                            .push_bind(run.waited_for.map(|waited| waited.as_str()));
                    });
                    insert.push(sql::ON_OCCURRENCE_CONFLICT);
                    *counter += insert.build().execute(&mut *tx).await?.rows_affected();
                }
            }
            for chunk in advances.chunks(codec::INSERT_BATCH) {
                let mut advance = ::sqlx::QueryBuilder::<$db>::new(sql::ADVANCE_JOBS_HEAD);
                advance.push_values(chunk, |mut values, &(job_id, next_run_at)| {
                    values.push_bind(job_id).push_bind(next_run_at);
                });
                advance.push(sql::ADVANCE_JOBS_TAIL);
                advance.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(report)
        }

        async fn next_due_at(
            &self,
        ) -> $crate::error::Result<Option<::chrono::DateTime<::chrono::Utc>>> {
            use $crate::store::{codec, sql};
            let next: Option<i64> =
                ::sqlx::query_scalar(sql::NEXT_DUE_AT).fetch_one(self.reader()).await?;
            codec::opt_instant_value("jobs.next_run_at", next)
        }

        async fn next_ready_at(
            &self,
        ) -> $crate::error::Result<Option<::chrono::DateTime<::chrono::Utc>>> {
            use $crate::store::{codec, sql};
            let next: Option<i64> =
                ::sqlx::query_scalar(sql::NEXT_READY_AT).fetch_one(self.reader()).await?;
            codec::opt_instant_value("runs.not_before", next)
        }

        async fn next_lease_expiry(
            &self,
        ) -> $crate::error::Result<Option<::chrono::DateTime<::chrono::Utc>>> {
            use $crate::store::{codec, sql};
            let next: Option<i64> =
                ::sqlx::query_scalar(sql::NEXT_LEASE_EXPIRY).fetch_one(self.reader()).await?;
            codec::opt_instant_value("runs.lease_expires_at", next)
        }

        async fn complete(
            &self,
            results: &[$crate::store::RunResult],
        ) -> $crate::error::Result<Vec<bool>> {
            $crate::store::check_final(results)?;
            if results.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = self.begin_write().await?;
            let accepted = Self::complete_in(&mut tx, results).await?;
            tx.commit().await?;
            Ok(accepted)
        }

        async fn record_and_claim(
            &self,
            results: &[$crate::store::RunResult],
            node_id: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
            ready_until: ::chrono::DateTime<::chrono::Utc>,
            limit: u32,
            lease_ttl: ::std::time::Duration,
        ) -> $crate::error::Result<(Vec<bool>, Vec<$crate::store::ClaimedRun>)> {
            $crate::store::check_final(results)?;
            let mut tx = self.begin_write().await?;
            let accepted = Self::complete_in(&mut tx, results).await?;
            let claimed = Self::claim_in(&mut tx, node_id, now, ready_until, limit, lease_ttl).await?;
            tx.commit().await?;
            Ok((accepted, claimed))
        }

        async fn cancel_requested(
            &self,
            node_id: &str,
        ) -> $crate::error::Result<Vec<::uuid::Uuid>> {
            Ok(::sqlx::query_scalar($crate::store::sql::CANCEL_REQUESTED_RUNS)
                .bind(node_id)
                .fetch_all(self.reader())
                .await?)
        }

        async fn renew_leases(
            &self,
            node_id: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
            lease_ttl: ::std::time::Duration,
        ) -> $crate::error::Result<u64> {
            use $crate::store::{codec, sql};
            let renewed = ::sqlx::query(sql::$dialect::RENEW_LEASES)
                .bind(node_id)
                .bind(codec::expiry_ms(now, lease_ttl))
                .execute(self.writer())
                .await?
                .rows_affected();
            Ok(renewed)
        }

        async fn recover_expired(
            &self,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<Vec<$crate::run::Run>> {
            use $crate::store::{codec, sql};
            let now_ms = codec::ms(now);
            let mut tx = self.begin_write().await?;
            let expired: Vec<::uuid::Uuid> = ::sqlx::query_scalar(sql::$dialect::EXPIRED_LEASES)
                .bind(now_ms)
                .fetch_all(&mut *tx)
                .await?;
            let mut lost = Vec::with_capacity(expired.len());
            for id in expired {
                let marked = ::sqlx::query(sql::MARK_LOST)
                    .bind(id)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if marked == 0 {
                    continue;
                }
                ::sqlx::query(sql::INSERT_NEXT_ATTEMPT)
                    .bind(codec::new_id(now))
                    .bind($crate::run::Trigger::Recovery.as_str())
                    .bind(now_ms)
                    .bind(now_ms)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let row = ::sqlx::query(sql::RUN_BY_ID).bind(id).fetch_one(&mut *tx).await?;
                lost.push(codec::run(&row)?);
            }
            tx.commit().await?;
            Ok(lost)
        }

        async fn expire_leases_of_node(
            &self,
            node_id: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<u64> {
            let expired = ::sqlx::query($crate::store::sql::EXPIRE_LEASES_OF_NODE)
                .bind(node_id)
                .bind($crate::store::codec::ms(now) - 1)
                .execute(self.writer())
                .await?
                .rows_affected();
            Ok(expired)
        }

        async fn release(
            &self,
            node_id: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<u64> {
            // `not_before` and `queued_at` are left alone: released runs keep their place at the
            // front of their tenant's queue.
            let released = ::sqlx::query($crate::store::sql::RELEASE)
                .bind(node_id)
                .bind($crate::store::codec::ms(now))
                .execute(self.writer())
                .await?
                .rows_affected();
            Ok(released)
        }

        async fn register_node(&self, node: &$crate::store::NodeInfo) -> $crate::error::Result<()> {
            use $crate::store::{codec, sql};
            ::sqlx::query(sql::REGISTER_NODE)
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
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<()> {
            self.touch_node($crate::store::sql::HEARTBEAT, node_id, now).await
        }

        async fn mark_node_stopped(
            &self,
            node_id: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<()> {
            self.touch_node($crate::store::sql::MARK_NODE_STOPPED, node_id, now).await
        }

        async fn list_nodes(&self) -> $crate::error::Result<Vec<$crate::store::NodeInfo>> {
            use $crate::store::{codec, sql};
            let rows = ::sqlx::query(sql::LIST_NODES).fetch_all(self.reader()).await?;
            rows.iter().map(codec::node).collect()
        }

        async fn tenant_overview(
            &self,
            since: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<Vec<$crate::store::TenantOverview>> {
            use $crate::store::{codec, sql};
            let rows = ::sqlx::query(sql::TENANT_OVERVIEW)
                .bind(codec::ms(since))
                .bind($crate::store::AUTO_DISABLED_REASON)
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(codec::tenant_overview).collect()
        }

        async fn job_page(
            &self,
            query: &$crate::store::JobQuery,
        ) -> $crate::error::Result<$crate::store::JobPage> {
            use $crate::store::{codec, sql, CursorKey, JobCursor};
            /// The filters, the same on the count and on every part of the page.
            fn filters(
                builder: &mut ::sqlx::QueryBuilder<'_, $db>,
                query: &$crate::store::JobQuery,
            ) {
                builder.push(" WHERE 1 = 1");
                if let Some(tenant) = &query.tenant {
                    builder.push(" AND t.name = ").push_bind(tenant.clone());
                }
                if let Some(search) = &query.search {
                    let pattern = codec::contains_pattern(search);
                    builder
                        .push(" AND (LOWER(j.name) LIKE ")
                        .push_bind(pattern.clone())
                        .push(" ESCAPE '\\' OR LOWER(t.name) LIKE ")
                        .push_bind(pattern)
                        .push(" ESCAPE '\\')");
                }
                let auto_disabled = $crate::store::AUTO_DISABLED_REASON;
                match query.state {
                    None => {}
                    Some($crate::store::JobState::Enabled) => {
                        builder.push(" AND j.enabled");
                    }
                    Some($crate::store::JobState::Disabled) => {
                        builder
                            .push(" AND NOT j.enabled AND (j.disabled_reason IS NULL OR j.disabled_reason <> ")
                            .push_bind(auto_disabled)
                            .push(")");
                    }
                    Some($crate::store::JobState::AutoDisabled) => {
                        builder.push(" AND NOT j.enabled AND j.disabled_reason = ").push_bind(auto_disabled);
                    }
                }
                if let Some(kind) = query.handler_kind {
                    // `->>` reads a JSON member on both backends (JSONB on Postgres, JSON text
                    // on SQLite 3.38 and later).
                    builder.push(" AND j.handler ->> 'type' = ").push_bind(kind);
                }
            }
            let mut count = ::sqlx::QueryBuilder::<$db>::new(sql::COUNT_JOBS);
            filters(&mut count, query);
            let total = codec::count(&count.build().fetch_one(self.reader()).await?, "total")?;

            let after = query
                .after
                .as_ref()
                .filter(|cursor| cursor.sort == query.sort && cursor.descending == query.descending);
            let (column, nullable) = codec::job_sort_column(query.sort);
            let comparison = if query.descending { " < " } else { " > " };
            // One more row than asked tells whether a next page exists.
            let wanted = codec::bounded_limit(Some(query.limit), codec::DEFAULT_JOB_LIMIT) + 1;
            let mut jobs: Vec<$crate::job::Job> = Vec::new();
            // The rows whose sort column is set (every row, for columns that cannot be unset),
            // then, for an instant column, the rows where it is unset. Each part is one index
            // range starting at the cursor.
            let parts: &[bool] = if nullable { &[true, false] } else { &[true] };
            for &set in parts {
                let remaining = wanted - i64::try_from(jobs.len()).unwrap_or(i64::MAX);
                // A cursor in the unset part skips the set part; one in the set part starts
                // the unset part at its beginning.
                let in_set_part = after.map(|cursor| !nullable || cursor.key.is_some());
                if remaining <= 0 || (set && in_set_part == Some(false)) {
                    continue;
                }
                let mut select = ::sqlx::QueryBuilder::<$db>::new(sql::SELECT_JOBS);
                filters(&mut select, query);
                let part_column = if set { column } else { None };
                if let (Some(column), true) = (column, nullable) {
                    select.push(format!(" AND {column} IS {}NULL", if set { "NOT " } else { "" }));
                }
                let cursor = after.filter(|_| in_set_part == Some(set) || !nullable);
                if let Some(JobCursor { key, name, id, .. }) = cursor {
                    match (part_column, key) {
                        (Some(column), Some(key)) => {
                            select.push(format!(" AND ({column}, j.name, j.id){comparison}("));
                            match key {
                                CursorKey::Text(text) => select.push_bind(text.clone()),
                                CursorKey::Number(number) => select.push_bind(*number),
                            };
                            select.push(", ");
                        }
                        _ => {
                            select.push(format!(" AND (j.name, j.id){comparison}("));
                        }
                    }
                    select.push_bind(name.clone()).push(", ").push_bind(*id).push(")");
                }
                select.push(codec::job_order(part_column, query.descending));
                select.push(" LIMIT ").push_bind(remaining);
                let rows = select.build().fetch_all(self.reader()).await?;
                for row in &rows {
                    jobs.push(codec::job(row)?);
                }
            }
            let limit = usize::try_from(wanted - 1).unwrap_or(usize::MAX);
            let next = (jobs.len() > limit).then(|| {
                jobs.truncate(limit);
                jobs.last().map(|job| JobCursor::after(job, query.sort, query.descending))
            });
            Ok($crate::store::JobPage { jobs, total, next: next.flatten() })
        }

        async fn tenant_settings(
            &self,
            name: &str,
        ) -> $crate::error::Result<$crate::store::TenantSettings> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::TENANT_SETTINGS)
                .bind(name)
                .fetch_optional(self.reader())
                .await?
                .ok_or_else(|| codec::not_found("tenant", name))?;
            codec::tenant_settings(&row)
        }

        async fn update_tenant_settings(
            &self,
            name: &str,
            update: &$crate::store::TenantSettingsUpdate,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<$crate::store::TenantSettings> {
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let mut tx = self.begin_write().await?;
            let locked = ::sqlx::query(sql::$dialect::LOCK_TENANT_SETTINGS)
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
            let limits = update.command_limits.as_ref().map(|limits| {
                (!limits.is_empty()).then(|| ::sqlx::types::Json(limits.clone()))
            });
            let work_dir = update.work_dir.as_ref().map(|dir| {
                dir.as_ref().map(|dir| dir.to_string_lossy().into_owned())
            });
            let row = ::sqlx::query(sql::UPDATE_TENANT_SETTINGS)
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
            let entry = $crate::audit::NewAuditEntry::tenant_settings(
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

        async fn list_named_handlers(
            &self,
        ) -> $crate::error::Result<Vec<(String, $crate::handler::HandlerSpec)>> {
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let rows = ::sqlx::query(sql::LIST_NAMED_HANDLERS).fetch_all(self.reader()).await?;
            rows.iter()
                .map(|row| {
                    let spec = row.opt_json("spec")?.unwrap_or_default();
                    Ok((row.text("name")?, codec::document("named_handlers.spec", spec)?))
                })
                .collect()
        }

        async fn delete_job(
            &self,
            id: ::uuid::Uuid,
            operator: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<()> {
            use $crate::audit::{AuditAction, NewAuditEntry};
            use $crate::store::sql;
            let mut tx = self.begin_write().await?;
            let before = Self::lock_job(&mut tx, id).await?;
            ::sqlx::query(sql::DELETE_JOB).bind(id).execute(&mut *tx).await?;
            let entry = NewAuditEntry::job(AuditAction::JobDeleted, operator, now, Some(&before), None);
            Self::write_audit(&mut tx, entry).await?;
            tx.commit().await?;
            Ok(())
        }

        // The console's run views (issue 7; see `crate::timeline`).

        async fn occurrence_runs(
            &self,
            job_id: ::uuid::Uuid,
            scheduled_at: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<Vec<$crate::run::Run>> {
            use $crate::store::{codec, sql};
            let rows = ::sqlx::query(sql::OCCURRENCE_RUNS)
                .bind(job_id)
                .bind(codec::ms(scheduled_at))
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(codec::run).collect()
        }

        async fn run_spans(
            &self,
            query: &$crate::timeline::SpanQuery,
        ) -> $crate::error::Result<Vec<$crate::timeline::RunSpan>> {
            use $crate::store::{codec, sql};
            let limit = i64::from(query.limit.clamp(1, $crate::timeline::MAX_SPANS + 1));
            let rows = ::sqlx::query(sql::RUN_SPANS)
                .bind(codec::ms(query.from - $crate::timeline::SPAN_LOOKBACK))
                .bind(codec::ms(query.from))
                .bind(codec::ms(query.to))
                .bind(query.tenant.as_deref())
                .bind(query.job_id)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(codec::run_span).collect()
        }

        async fn changed_runs(
            &self,
            created_since: ::chrono::DateTime<::chrono::Utc>,
            changed_since: ::chrono::DateTime<::chrono::Utc>,
            also: &[::uuid::Uuid],
            limit: u32,
        ) -> $crate::error::Result<Vec<$crate::timeline::RunSpan>> {
            use $crate::store::{codec, sql};
            let rows = ::sqlx::query(sql::CHANGED_RUNS)
                .bind($crate::timeline::first_id_at(created_since))
                .bind(codec::ms(changed_since))
                .bind(i64::from(limit.max(1)))
                .fetch_all(self.reader())
                .await?;
            let mut spans = rows.iter().map(codec::run_span).collect::<$crate::error::Result<Vec<_>>>()?;
            // Runs the caller saw running that are in none of the ranges (still running, or
            // handed back to the queue at a shutdown): primary-key reads, as many as the caller
            // asks (it bounds the list).
            for id in also {
                if spans.iter().any(|span| span.id == *id) {
                    continue;
                }
                let row = ::sqlx::query(sql::RUN_SPAN_BY_ID)
                    .bind(*id)
                    .fetch_optional(self.reader())
                    .await?;
                if let Some(row) = row {
                    spans.push(codec::run_span(&row)?);
                }
            }
            Ok(spans)
        }

        async fn run_buckets(
            &self,
            from: ::chrono::DateTime<::chrono::Utc>,
            to: ::chrono::DateTime<::chrono::Utc>,
            bucket: ::std::time::Duration,
        ) -> $crate::error::Result<Vec<$crate::timeline::RunBucket>> {
            use $crate::store::{codec, sql};
            let rows = ::sqlx::query(sql::RUN_BUCKETS)
                .bind(codec::ms(from))
                .bind(codec::ms(to))
                .bind(codec::duration_ms(bucket).max(1))
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(|row| codec::run_bucket(row, from, bucket)).collect()
        }

        async fn average_durations(
            &self,
            since: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<Vec<(::uuid::Uuid, f64)>> {
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let rows = ::sqlx::query(sql::AVERAGE_DURATIONS)
                .bind(codec::ms(since))
                .fetch_all(self.reader())
                .await?;
            rows.iter()
                .filter_map(|row| match (row.uuid("job_id"), row.opt_float("avg_ms")) {
                    (Ok(id), Ok(Some(avg))) => Some(Ok((id, avg))),
                    (Ok(_), Ok(None)) => None,
                    (Err(error), _) | (_, Err(error)) => Some(Err(error)),
                })
                .collect()
        }

        async fn jobs_due_before(
            &self,
            before: ::chrono::DateTime<::chrono::Utc>,
            tenant: Option<&str>,
            job_id: Option<::uuid::Uuid>,
            limit: u32,
        ) -> $crate::error::Result<Vec<$crate::job::Job>> {
            use $crate::store::{codec, sql};
            let rows = ::sqlx::query(sql::JOBS_DUE_BEFORE)
                .bind(codec::ms(before))
                .bind(tenant)
                .bind(job_id)
                .bind(i64::from(limit.max(1)))
                .fetch_all(self.reader())
                .await?;
            rows.iter().map(codec::job).collect()
        }

        async fn running_by_node(&self) -> $crate::error::Result<Vec<(String, u64)>> {
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let rows = ::sqlx::query(sql::RUNNING_BY_NODE).fetch_all(self.reader()).await?;
            rows.iter()
                .map(|row| Ok((row.text("lease_owner")?, codec::count(row, "running")?)))
                .collect()
        }

        async fn change_marks(&self) -> $crate::error::Result<$crate::timeline::ChangeMarks> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::CHANGE_MARKS).fetch_one(self.reader()).await?;
            codec::change_marks(&row)
        }

        // Notifications and the audit log (issue 5).

        async fn claim_events(
            &self,
            node_id: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
            limit: u32,
            lease: ::std::time::Duration,
        ) -> $crate::error::Result<Vec<$crate::notify::ClaimedEvent>> {
            use $crate::store::{codec, sql};
            if limit == 0 {
                return Ok(Vec::new());
            }
            let mut tx = self.begin_write().await?;
            let ids: Vec<::uuid::Uuid> = ::sqlx::query_scalar(sql::$dialect::PENDING_EVENTS)
                .bind(codec::ms(now))
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            if ids.is_empty() {
                tx.commit().await?;
                return Ok(Vec::new());
            }
            let claim = format!("{}{}", sql::CLAIM_EVENTS, codec::placeholders(3, ids.len()));
            let mut query =
                ::sqlx::query(&claim).bind(node_id).bind(codec::expiry_ms(now, lease));
            for id in &ids {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
            let read = format!("{}{}", sql::CLAIMED_EVENTS, codec::placeholders(1, ids.len()));
            let mut query = ::sqlx::query(&read);
            for id in &ids {
                query = query.bind(*id);
            }
            let rows = query.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            let mut events =
                rows.iter().map(codec::claimed_event).collect::<$crate::error::Result<Vec<_>>>()?;
            // In the order they were due.
            events.sort_by_key(|claimed| ids.iter().position(|id| *id == claimed.event.id));
            Ok(events)
        }

        async fn finish_event(
            &self,
            claim: &$crate::notify::EventClaim,
            deliveries: &[$crate::notify::DeliveryRecord],
            outcome: $crate::notify::EventOutcome,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<bool> {
            use $crate::notify::EventOutcome;
            use $crate::store::{codec, sql};
            let attempt = codec::to_i32("attempt", claim.attempt)?;
            let mut tx = self.begin_write().await?;
            // Logged whatever becomes of the claim: the attempts happened.
            for delivery in deliveries {
                ::sqlx::query(sql::INSERT_DELIVERY)
                    .bind(codec::new_id(delivery.at))
                    .bind(claim.event_id)
                    .bind(delivery.channel.as_str())
                    .bind(&delivery.target)
                    .bind(attempt)
                    .bind(delivery.status.as_str())
                    .bind(delivery.http_status.map(i32::from))
                    .bind(delivery.smtp_reply.as_deref().map(codec::bound_error))
                    .bind(delivery.error.as_deref().map(codec::bound_error))
                    .bind(&claim.node_id)
                    .bind(codec::ms(delivery.at))
                    .bind(delivery.duration_ms)
                    .bind(codec::opt_ms(delivery.next_attempt_at))
                    .execute(&mut *tx)
                    .await?;
            }
            let now_ms = codec::ms(now);
            let (delivered_at, failed_at, next_attempt_at) = match outcome {
                EventOutcome::Delivered => (Some(now_ms), None, None),
                EventOutcome::GaveUp => (None, Some(now_ms), None),
                EventOutcome::Retry { at } => (None, None, Some(codec::ms(at))),
            };
            let finished = ::sqlx::query(sql::FINISH_EVENT)
                .bind(claim.event_id)
                .bind(&claim.node_id)
                .bind(attempt)
                .bind(delivered_at)
                .bind(failed_at)
                .bind(next_attempt_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            Ok(finished == 1)
        }

        async fn list_deliveries(
            &self,
            filter: &$crate::notify::DeliveryFilter,
        ) -> $crate::error::Result<Vec<$crate::notify::Delivery>> {
            use $crate::store::{codec, sql};
            let limit = codec::bounded_limit(filter.limit, codec::DEFAULT_RUN_LIMIT);
            let mut query = ::sqlx::QueryBuilder::<$db>::new(sql::SELECT_DELIVERIES);
            query.push(" WHERE 1 = 1");
            if let Some(tenant) = &filter.tenant {
                query.push(" AND t.name = ").push_bind(tenant.as_str());
            }
            if let Some(event_id) = filter.event_id {
                query.push(" AND d.event_id = ").push_bind(event_id);
            }
            query.push(" ORDER BY d.at DESC, d.id DESC LIMIT ").push_bind(limit);
            let rows = query.build().fetch_all(self.reader()).await?;
            rows.iter().map(codec::delivery).collect()
        }

        async fn list_audit(
            &self,
            filter: &$crate::audit::AuditFilter,
        ) -> $crate::error::Result<Vec<$crate::audit::AuditEntry>> {
            use $crate::store::{codec, sql};
            let limit = codec::bounded_limit(filter.limit, codec::DEFAULT_RUN_LIMIT);
            let mut query = ::sqlx::QueryBuilder::<$db>::new(sql::SELECT_AUDIT);
            query.push(" WHERE 1 = 1");
            if let Some(tenant) = &filter.tenant {
                query.push(" AND tenant = ").push_bind(tenant.as_str());
            }
            if let Some(job) = &filter.job {
                query.push(" AND job = ").push_bind(job.as_str());
            }
            if let Some(since) = filter.since {
                query.push(" AND at >= ").push_bind(codec::ms(since));
            }
            query.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(limit);
            let rows = query.build().fetch_all(self.reader()).await?;
            rows.iter().map(codec::audit_entry).collect()
        }
    };
}

/// Expands the backend's inherent helpers that work inside a write transaction, the same for
/// every backend: `$db` is the sqlx database type, `$dialect` the module of `sql` with that
/// backend's own statements (locking).
macro_rules! portable_transaction_helpers {
    ($db:ty, $dialect:ident) => {
        /// Records `results` in `tx` (see [`Store::complete`]). Rows are locked in a fixed
        /// order (runs by id, then jobs by id), so that two batches completing at once can never
        /// wait for each other in a cycle.
        async fn complete_in(
            tx: &mut ::sqlx::Transaction<'static, $db>,
            results: &[$crate::store::RunResult],
        ) -> $crate::error::Result<Vec<bool>> {
            use $crate::run::RunStatus;
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let mut accepted = vec![false; results.len()];
            if results.is_empty() {
                return Ok(accepted);
            }
            // Every run row in one statement per chunk, not one per result: at a few thousand
            // runs a second the statements, not the rows, are the cost. A run listed twice
            // (never, from the engine) is tried again in a later round only if its first result
            // was refused, as if the results were recorded one by one.
            let mut finished_jobs: Vec<(::uuid::Uuid, usize)> = Vec::with_capacity(results.len());
            let mut pending: Vec<usize> = (0..results.len()).collect();
            while !pending.is_empty() {
                let mut seen = ::std::collections::HashSet::new();
                let (mut round, later): (Vec<usize>, Vec<usize>) =
                    pending.iter().partition(|&&index| seen.insert(results[index].run_id));
                round.sort_by_key(|&index| results[index].run_id);
                let index_of: ::std::collections::HashMap<::uuid::Uuid, usize> =
                    round.iter().map(|&index| (results[index].run_id, index)).collect();
                for chunk in round.chunks(codec::COMPLETE_BATCH) {
                    let mut update = ::sqlx::QueryBuilder::<$db>::new(sql::COMPLETE_RUNS_HEAD);
                    update.push_values(chunk, |mut values, &index| {
                        let result = &results[index];
                        values
                            .push_bind(result.run_id)
                            .push_bind(result.node_id.as_str())
                            .push_bind(result.fencing_token)
                            .push_bind(result.status.as_str())
                            .push_bind(codec::ms(result.finished_at))
                            .push_bind(result.duration_ms)
                            .push_bind(result.exit_code)
                            .push_bind(result.http_status)
                            .push_bind(codec::bound_output(&result.output))
                            .push_bind(result.error.as_deref().map(codec::bound_error));
                    });
                    update.push(sql::COMPLETE_RUNS_TAIL);
                    for row in update.build().fetch_all(&mut **tx).await? {
                        let index = index_of[&row.uuid("id")?];
                        accepted[index] = true;
                        finished_jobs.push((row.uuid("job_id")?, index));
                    }
                }
                pending = later
                    .into_iter()
                    .filter(|&index| !finished_jobs.iter().any(|&(_, done)| results[done].run_id == results[index].run_id))
                    .collect();
            }
            // Jobs are locked in id order before any is written (Postgres; SQLite's write lock
            // is already exclusive), so that two batches finishing runs of the same jobs on two
            // nodes never wait for each other in a cycle.
            let mut job_ids: Vec<::uuid::Uuid> = finished_jobs.iter().map(|&(job, _)| job).collect();
            job_ids.sort_unstable();
            job_ids.dedup();
            Self::lock_jobs_in_order(tx, &job_ids).await?;
            // A job whose every result here succeeded only needs its streak reset and its last
            // run moved: one statement for all of them. Anything else (a failure, a retry, a
            // cancellation) goes result by result below, in the order the results finished.
            let mut only_successes: ::std::collections::HashMap<::uuid::Uuid, i64> =
                ::std::collections::HashMap::new();
            let mut mixed: ::std::collections::HashSet<::uuid::Uuid> =
                ::std::collections::HashSet::new();
            for &(job_id, index) in &finished_jobs {
                let result = &results[index];
                if result.status == RunStatus::Succeeded && result.retry_at.is_none() {
                    let last = only_successes.entry(job_id).or_insert(i64::MIN);
                    *last = (*last).max(codec::ms(result.finished_at));
                } else {
                    mixed.insert(job_id);
                }
            }
            only_successes.retain(|job_id, _| !mixed.contains(job_id));
            let mut succeeded: Vec<(::uuid::Uuid, i64)> = only_successes.into_iter().collect();
            succeeded.sort_unstable();
            for chunk in succeeded.chunks(codec::COMPLETE_BATCH) {
                let mut update = ::sqlx::QueryBuilder::<$db>::new(sql::JOBS_SUCCEEDED_HEAD);
                update.push_values(chunk, |mut values, &(job_id, finished_at)| {
                    values.push_bind(job_id).push_bind(finished_at);
                });
                update.push(sql::JOBS_SUCCEEDED_TAIL);
                update.build().execute(&mut **tx).await?;
            }
            finished_jobs.retain(|(job_id, _)| mixed.contains(job_id));
            finished_jobs.sort_by_key(|&(job_id, index)| (job_id, results[index].finished_at));
            for &(job_id, index) in &finished_jobs {
                let result = &results[index];
                // An occurrence failed when its last attempt did: no retry follows.
                let failed_occurrence = result.retry_at.is_none()
                    && matches!(
                        result.status,
                        RunStatus::Failed | RunStatus::TimedOut | RunStatus::Lost
                    );
                let statement = if result.status == RunStatus::Succeeded {
                    sql::JOB_SUCCEEDED
                } else if failed_occurrence {
                    sql::JOB_FAILED
                } else {
                    sql::JOB_FINISHED
                };
                let query = ::sqlx::query(statement)
                    .bind(job_id)
                    .bind(codec::ms(result.finished_at));
                if failed_occurrence {
                    let error = result.error.as_deref().unwrap_or(result.status.as_str());
                    query.bind(codec::bound_error(error)).execute(&mut **tx).await?;
                    Self::write_run_failed(tx, job_id, result).await?;
                    // The job as the failure left it: the audit log's `before` if the engine
                    // disables it now.
                    let before = Self::job_in(tx, job_id).await?;
                    // Exactly one transition and one event, whatever the number of nodes: see
                    // `AUTO_DISABLE_JOB`.
                    let disabled = ::sqlx::query(sql::AUTO_DISABLE_JOB)
                        .bind(job_id)
                        .bind(codec::ms(result.finished_at))
                        .bind($crate::store::AUTO_DISABLED_REASON)
                        .bind(codec::to_i32(
                            "auto_disable_after",
                            $crate::policy::DEFAULT_AUTO_DISABLE_AFTER,
                        )?)
                        .fetch_optional(&mut **tx)
                        .await?;
                    if let Some(row) = disabled {
                        let data = ::serde_json::json!({
                            "job": row.text("name")?,
                            "reason": $crate::store::AUTO_DISABLED_REASON,
                            "consecutive_failures": row.int("consecutive_failures")?,
                            "probation": row.flag("on_probation")?,
                            "last_error": row.opt_text("last_error")?,
                            "run_id": result.run_id,
                        });
                        ::sqlx::query(sql::INSERT_OUTBOX)
                            .bind(codec::new_id(result.finished_at))
                            .bind($crate::store::EVENT_JOB_AUTO_DISABLED)
                            .bind(row.uuid("tenant_id")?)
                            .bind(Some(job_id))
                            .bind(codec::ms(result.finished_at))
                            .bind(::sqlx::types::Json(data))
                            .bind(codec::ms(result.finished_at))
                            .execute(&mut **tx)
                            .await?;
                        let after = Self::job_in(tx, job_id).await?;
                        let entry = $crate::audit::NewAuditEntry::job(
                            $crate::audit::AuditAction::JobAutoDisabled,
                            $crate::audit::ENGINE_OPERATOR,
                            result.finished_at,
                            Some(&before),
                            Some(&after),
                        );
                        Self::write_audit(tx, entry).await?;
                    }
                } else {
                    query.execute(&mut **tx).await?;
                }
                if let Some(retry_at) = result.retry_at {
                    ::sqlx::query(sql::INSERT_NEXT_ATTEMPT)
                        .bind(codec::new_id(result.finished_at))
                        .bind($crate::run::Trigger::Retry.as_str())
                        .bind(codec::ms(result.finished_at))
                        .bind(codec::ms(retry_at))
                        .bind(result.run_id)
                        .execute(&mut **tx)
                        .await?;
                }
            }
            Ok(accepted)
        }


        /// Writes an audit entry in the transaction of the change it describes.
        async fn write_audit(
            tx: &mut ::sqlx::Transaction<'static, $db>,
            entry: $crate::audit::NewAuditEntry,
        ) -> $crate::error::Result<()> {
            use $crate::store::{codec, sql};
            ::sqlx::query(sql::INSERT_AUDIT)
                .bind(codec::new_id(entry.at))
                .bind(codec::ms(entry.at))
                .bind(&entry.operator)
                .bind(entry.action.as_str())
                .bind(entry.tenant_id)
                .bind(entry.tenant.as_deref())
                .bind(entry.job_id)
                .bind(entry.job.as_deref())
                .bind(entry.handler.as_deref())
                .bind(entry.before.map(::sqlx::types::Json))
                .bind(entry.after.map(::sqlx::types::Json))
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// Job `id` in the transaction, locked until it ends (see `LOCK_JOB`).
        async fn lock_job(
            tx: &mut ::sqlx::Transaction<'static, $db>,
            id: ::uuid::Uuid,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::$dialect::LOCK_JOB)
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| codec::not_found("job", id))?;
            codec::job(&row)
        }

        /// Job `id` as the transaction sees it.
        async fn job_in(
            tx: &mut ::sqlx::Transaction<'static, $db>,
            id: ::uuid::Uuid,
        ) -> $crate::error::Result<$crate::job::Job> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::JOB_BY_ID).bind(id).fetch_one(&mut **tx).await?;
            codec::job(&row)
        }

        /// Tenant `name` in the transaction, locked until it ends (see `LOCK_TENANT`).
        async fn lock_tenant(
            tx: &mut ::sqlx::Transaction<'static, $db>,
            name: &str,
        ) -> $crate::error::Result<$crate::tenant::Tenant> {
            use $crate::store::{codec, sql};
            let row = ::sqlx::query(sql::$dialect::LOCK_TENANT)
                .bind(name)
                .fetch_optional(&mut **tx)
                .await?
                .ok_or_else(|| codec::not_found("tenant", name))?;
            codec::tenant(&row)
        }

        /// The optimistic check of an update, on the locked row: nothing is written when
        /// someone changed the job since `expected`.
        fn check_version(
            job: &$crate::job::Job,
            expected: i64,
            key: &str,
        ) -> $crate::error::Result<()> {
            if job.version == expected {
                return Ok(());
            }
            Err($crate::error::Error::StaleVersion {
                what: "job",
                key: key.to_owned(),
                expected,
                current: job.version,
            })
        }

        /// A `run.failed` outbox event for a failed occurrence, if its tenant opted in.
        async fn write_run_failed(
            tx: &mut ::sqlx::Transaction<'static, $db>,
            job_id: ::uuid::Uuid,
            result: &$crate::store::RunResult,
        ) -> $crate::error::Result<()> {
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            let Some(row) = ::sqlx::query(sql::RUN_FAILED_EVENT)
                .bind(result.run_id)
                .bind(job_id)
                .fetch_optional(&mut **tx)
                .await?
            else {
                return Ok(());
            };
            let scheduled_at = ::chrono::DateTime::from_timestamp_millis(row.bigint("scheduled_at")?);
            let data = ::serde_json::json!({
                "job": row.text("name")?,
                "run_id": result.run_id,
                "status": result.status.as_str(),
                "attempt": row.int("attempt")?,
                "trigger": row.text("trigger")?,
                "scheduled_at": scheduled_at,
                "error": result.error.as_deref().map(codec::bound_error),
                "exit_code": result.exit_code,
                "http_status": result.http_status,
            });
            ::sqlx::query(sql::INSERT_OUTBOX)
                .bind(codec::new_id(result.finished_at))
                .bind($crate::store::EVENT_RUN_FAILED)
                .bind(row.uuid("tenant_id")?)
                .bind(Some(job_id))
                .bind(codec::ms(result.finished_at))
                .bind(::sqlx::types::Json(data))
                .bind(codec::ms(result.finished_at))
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        /// After a claim that started runs, in its transaction: a `tenant.throttled` event for
        /// each of `tenants` that opted in and whose ready runs its rate limit now holds back,
        /// at most once per window (see `sql::MARK_THROTTLED`).
        async fn write_throttled(
            tx: &mut ::sqlx::Transaction<'static, $db>,
            now: ::chrono::DateTime<::chrono::Utc>,
            tenants: &[::uuid::Uuid],
        ) -> $crate::error::Result<()> {
            use $crate::store::codec::{self, RowAccess};
            use $crate::store::sql;
            if tenants.is_empty() {
                return Ok(());
            }
            let statement = format!(
                "{}{}{}",
                sql::MARK_THROTTLED,
                codec::placeholders(2, tenants.len()),
                sql::MARK_THROTTLED_RETURNING
            );
            let mut query = ::sqlx::query(&statement).bind(codec::ms(now));
            for id in tenants {
                query = query.bind(*id);
            }
            let rows = query.fetch_all(&mut **tx).await?;
            for row in &rows {
                let window_ms = row.bigint("rate_limit_window_ms")?;
                let data = ::serde_json::json!({
                    "tenant": row.text("name")?,
                    "rate_limit": {
                        "count": row.int("rate_limit_count")?,
                        "window_ms": window_ms,
                    },
                    "window_ends_at": ::chrono::DateTime::from_timestamp_millis(codec::ms(now) + window_ms),
                });
                ::sqlx::query(sql::INSERT_OUTBOX)
                    .bind(codec::new_id(now))
                    .bind($crate::store::EVENT_TENANT_THROTTLED)
                    .bind(row.uuid("id")?)
                    .bind(None::<::uuid::Uuid>)
                    .bind(codec::ms(now))
                    .bind(::sqlx::types::Json(data))
                    .bind(codec::ms(now))
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }
    };
}

/// Expands the backend's inherent helpers used by [`portable_store_methods!`] that are the same
/// for every backend.
macro_rules! portable_store_helpers {
    () => {
        /// The error for an optimistic update of job `id` that matched no row: it is gone, or
        /// someone changed it since `expected` (`key` names it for people).
        async fn version_conflict(
            &self,
            id: ::uuid::Uuid,
            expected: i64,
            key: &str,
        ) -> $crate::error::Error {
            use $crate::store::{codec, sql};
            let current: ::std::result::Result<Option<i64>, _> =
                ::sqlx::query_scalar(sql::JOB_VERSION).bind(id).fetch_optional(self.reader()).await;
            match current {
                Err(error) => $crate::error::Error::Database(error),
                Ok(None) => codec::not_found("job", id),
                Ok(Some(current)) => $crate::error::Error::StaleVersion {
                    what: "job",
                    key: key.to_owned(),
                    expected,
                    current,
                },
            }
        }

        /// Runs `statement` (`$1` node id, `$2` instant) and reports a missing node.
        async fn touch_node(
            &self,
            statement: &'static str,
            node_id: &str,
            now: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::error::Result<()> {
            use $crate::store::codec;
            let updated = ::sqlx::query(statement)
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
    };
}

pub(crate) use {
    bind_policy, portable_store_helpers, portable_store_methods, portable_transaction_helpers,
};
