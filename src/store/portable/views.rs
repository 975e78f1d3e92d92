//! The console's views (shared SQL; see `super`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Db, This};
use crate::error::Result;
use crate::job::Job;
use crate::store::codec::RowAccess;
use crate::store::dialect::Dialect;
use crate::store::{
    codec, sql, ConsoleViews, CursorKey, JobCursor, JobFilters, JobPage, JobQuery, JobStateFilter,
    TenantOverview,
};
use crate::timeline::{ChangeMarks, RunBucket, RunSpan, SpanQuery};

/// Appends `WHERE` and the filters to a statement over `jobs j JOIN tenants t`: the same on the
/// jobs table's count, on every part of its page, and on a bulk action's selection.
pub(super) fn push_job_filters(builder: &mut sqlx::QueryBuilder<'_, Db>, filters: &JobFilters) {
    builder.push(" WHERE 1 = 1");
    if let Some(tenant) = &filters.tenant {
        builder.push(" AND t.name = ").push_bind(tenant.clone());
    }
    if let Some(search) = &filters.search {
        let pattern = codec::contains_pattern(search);
        builder
            .push(" AND (LOWER(j.name) LIKE ")
            .push_bind(pattern.clone())
            .push(" ESCAPE '\\' OR LOWER(t.name) LIKE ")
            .push_bind(pattern)
            .push(" ESCAPE '\\')");
    }
    builder.push(match filters.state {
        None => "",
        Some(JobStateFilter::Enabled) => " AND j.enabled",
        Some(JobStateFilter::Disabled) => " AND NOT j.enabled AND j.disabled_by = 'person'",
        Some(JobStateFilter::AutoDisabled) => " AND NOT j.enabled AND j.disabled_by = 'engine'",
        Some(JobStateFilter::Paused) => " AND j.paused",
        Some(JobStateFilter::Failing) => " AND j.enabled AND j.consecutive_failures > 0",
    });
    if let Some(kind) = filters.handler_kind {
        // `->>` reads a JSON member on both backends (JSONB on Postgres, JSON text on SQLite
        // 3.38 and later).
        builder.push(" AND j.handler ->> 'type' = ").push_bind(kind);
    }
}

impl ConsoleViews for This {
    async fn tenant_overview(&self, since: DateTime<Utc>) -> Result<Vec<TenantOverview>> {
        let rows = sqlx::query(sql::TENANT_OVERVIEW)
            .bind(codec::ms(since))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(codec::tenant_overview).collect()
    }

    async fn job_page(&self, query: &JobQuery) -> Result<JobPage> {
        let filters = query.filters();
        let mut count = sqlx::QueryBuilder::<Db>::new(sql::COUNT_JOBS);
        push_job_filters(&mut count, &filters);
        let total = codec::count(&count.build().fetch_one(self.reader()).await?, "total")?;

        let after = query
            .after
            .as_ref()
            .filter(|cursor| cursor.sort == query.sort && cursor.descending == query.descending);
        let (column, nullable) = codec::job_sort_column(query.sort);
        let comparison = if query.descending { " < " } else { " > " };
        // One more row than asked tells whether a next page exists.
        let wanted = codec::bounded_limit(Some(query.limit), codec::DEFAULT_JOB_LIMIT) + 1;
        let mut jobs: Vec<Job> = Vec::new();
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
            let mut select = sqlx::QueryBuilder::<Db>::new(sql::SELECT_JOBS);
            push_job_filters(&mut select, &filters);
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
        Ok(JobPage { jobs, total, next: next.flatten() })
    }

    async fn run_spans(&self, query: &SpanQuery) -> Result<Vec<RunSpan>> {
        let limit = i64::from(query.limit.clamp(1, crate::timeline::MAX_SPANS + 1));
        let rows = sqlx::query(sql::RUN_SPANS)
            .bind(codec::ms(query.from - crate::timeline::SPAN_LOOKBACK))
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
        created_since: DateTime<Utc>,
        changed_since: DateTime<Utc>,
        also: &[Uuid],
        limit: u32,
    ) -> Result<Vec<RunSpan>> {
        let rows = sqlx::query(sql::CHANGED_RUNS)
            .bind(crate::timeline::first_id_at(created_since))
            .bind(codec::ms(changed_since))
            .bind(i64::from(limit.max(1)))
            .fetch_all(self.reader())
            .await?;
        let mut spans = rows.iter().map(codec::run_span).collect::<Result<Vec<_>>>()?;
        // Runs the caller saw running that are in none of the ranges (still running, or
        // handed back to the queue at a shutdown): primary-key reads, as many as the caller
        // asks (it bounds the list).
        for id in also {
            if spans.iter().any(|span| span.id == *id) {
                continue;
            }
            let row =
                sqlx::query(sql::RUN_SPAN_BY_ID).bind(*id).fetch_optional(self.reader()).await?;
            if let Some(row) = row {
                spans.push(codec::run_span(&row)?);
            }
        }
        Ok(spans)
    }

    async fn run_buckets(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: Duration,
    ) -> Result<Vec<RunBucket>> {
        let rows = sqlx::query(sql::RUN_BUCKETS)
            .bind(codec::ms(from))
            .bind(codec::ms(to))
            .bind(codec::duration_ms(bucket).max(1))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|row| codec::run_bucket(row, from, bucket)).collect()
    }

    async fn average_durations(&self, since: DateTime<Utc>) -> Result<Vec<(Uuid, f64)>> {
        let rows = sqlx::query(sql::AVERAGE_DURATIONS)
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
        before: DateTime<Utc>,
        tenant: Option<&str>,
        job_id: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let rows = sqlx::query(sql::JOBS_DUE_BEFORE)
            .bind(codec::ms(before))
            .bind(tenant)
            .bind(job_id)
            .bind(i64::from(limit.max(1)))
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(codec::job).collect()
    }

    async fn change_marks(&self) -> Result<ChangeMarks> {
        let row = sqlx::query(sql::CHANGE_MARKS).fetch_one(self.reader()).await?;
        codec::change_marks(&row)
    }
}
