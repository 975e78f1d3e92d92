//! Between Rota's types and column values, written once for both backends: instants as epoch
//! milliseconds, ids as time-ordered UUIDs, statuses and triggers as text, JSON documents, and
//! rows decoded into records. Stored data that does not decode is an error naming the column,
//! never a panic.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::migrate::MigrateError;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;
use sqlx::types::Json;
use sqlx::Row;
use uuid::{Timestamp, Uuid};

use super::{ClaimedRun, JobSort, NodeHealth, NodeInfo, TenantOverview};
use crate::engine::plan::DueJob;
use crate::error::{DatabaseProblem, Error, Result};
use crate::event::OutboxEvent;
use crate::handler::outcome::{head_text, TailBuffer};
use crate::handler::{ERROR_LIMIT, OUTPUT_LIMIT};
use crate::job::Job;
use crate::policy::{
    Backoff, BackoffKind, JobPolicy, MissedKind, MissedPolicy, OverlapPolicy, RateLimit,
    RetryPolicy, TenantPolicy, WaitedFor, DEFAULT_MAX_RETRIES,
};
use crate::run::Run;
use crate::tenant::Tenant;

/// An instant as stored: milliseconds since the Unix epoch.
pub(crate) fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn opt_ms(at: Option<DateTime<Utc>>) -> Option<i64> {
    at.map(ms)
}

/// A duration as stored: whole milliseconds, saturating (no duration Rota uses comes close).
pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// `now + ttl` as stored.
pub(crate) fn expiry_ms(now: DateTime<Utc>, ttl: Duration) -> i64 {
    ms(now).saturating_add(duration_ms(ttl))
}

/// A new id: a version 7 UUID whose time part is `now` (the caller's clock, so ids sort in
/// virtual time too) and whose remaining 74 bits are random.
pub(crate) fn new_id(now: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(ms(now)).unwrap_or(0);
    let nanos = u32::try_from(millis % 1000).unwrap_or(0) * 1_000_000;
    Uuid::new_v7(Timestamp::from_unix_time(millis / 1000, nanos, 0, 0))
}

/// Rows per statement in batched inserts and updates: far below both backends' limits on bound
/// parameters (65,535 on Postgres, 32,766 on SQLite) at 9 parameters a row.
pub(crate) const INSERT_BATCH: usize = 1000;
/// Results per batched completion statement (10 binds each, far below SQLite's 32,766).
pub(crate) const COMPLETE_BATCH: usize = 500;
/// `list_jobs` returns at most this many jobs unless asked for another number.
pub(crate) const DEFAULT_JOB_LIMIT: u32 = 1000;
/// `list_runs` returns at most this many runs unless asked for another number.
pub(crate) const DEFAULT_RUN_LIMIT: u32 = 100;
/// No list returns more than this many rows, whatever is asked.
pub(crate) const MAX_LIST_LIMIT: u32 = 10_000;
/// Milliseconds `enqueue_manual` tries after `now` before giving up (1,000 manual runs of one job
/// in one second is not a real workload).
pub(crate) const MANUAL_SLOT_ATTEMPTS: u32 = 1000;

/// A list's limit: the requested one or `default`, never more than [`MAX_LIST_LIMIT`].
pub(crate) fn bounded_limit(requested: Option<u32>, default: u32) -> i64 {
    i64::from(requested.unwrap_or(default).min(MAX_LIST_LIMIT))
}

/// An optional stored instant (from an aggregate such as `MIN`).
pub(crate) fn opt_instant_value(
    column: &str,
    millis: Option<i64>,
) -> Result<Option<DateTime<Utc>>> {
    match millis {
        None => Ok(None),
        Some(millis) => DateTime::from_timestamp_millis(millis)
            .map(Some)
            .ok_or_else(|| Error::invalid(column, millis, "not a representable instant")),
    }
}

/// A count or limit as stored (`INTEGER`).
pub(crate) fn to_i32(field: &str, value: u32) -> Result<i32> {
    i32::try_from(value).map_err(|_| Error::invalid(field, value, "must be at most 2147483647"))
}

/// Output keeps its last [`OUTPUT_LIMIT`] bytes (the end of a log says how it ended). Postgres
/// text cannot hold NUL, so NUL bytes become U+FFFD on both backends.
pub(crate) fn bound_output(output: &str) -> String {
    let output = without_nul(output);
    if output.len() <= OUTPUT_LIMIT {
        return output;
    }
    let mut tail = TailBuffer::new(OUTPUT_LIMIT);
    tail.push(output.as_bytes());
    tail.render()
}

/// An error keeps its first [`ERROR_LIMIT`] bytes (the start says what went wrong).
pub(crate) fn bound_error(error: &str) -> String {
    let error = without_nul(error);
    if error.len() <= ERROR_LIMIT {
        return error;
    }
    head_text(error.as_bytes(), ERROR_LIMIT, Some(error.len() as u64))
}

fn without_nul(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// Whether a database error is a unique-key violation.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|error| error.is_unique_violation())
}

/// Whether a database error is a foreign-key violation (the referenced row does not exist).
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|error| error.is_foreign_key_violation())
}

/// Maps a unique violation to [`Error::AlreadyExists`] and anything else to a database error.
pub(crate) fn already_exists(what: &'static str, key: &str) -> impl FnOnce(sqlx::Error) -> Error {
    let key = key.to_owned();
    move |error| {
        if is_unique_violation(&error) {
            Error::AlreadyExists { what, key }
        } else {
            Error::from(error)
        }
    }
}

// The driver's errors become `Error::Database` and `Error::Migrate` here, classified while the
// driver's types are at hand, so that `rota::Error` names no driver type.

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if is_insufficient_privilege(&error) {
            // The role may not do this; the API names the capability and the tenant where it
            // knows them (`Error::Forbidden` with a tenant), this is what remains: an admin's.
            return Error::Forbidden { capability: crate::access::Capability::Admin, tenant: None };
        }
        Error::Database { problem: database_problem(&error), source: Box::new(error) }
    }
}

/// Whether Postgres refused a statement for the role: SQLSTATE 42501, a missing privilege or a
/// row-level security policy's `WITH CHECK` (both report it).
pub(crate) fn is_insufficient_privilege(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|error| {
        error.try_downcast_ref::<PgDatabaseError>().is_some()
            && error.code().as_deref() == Some("42501")
    })
}

impl From<MigrateError> for Error {
    fn from(error: MigrateError) -> Self {
        Error::Migrate { problem: migration_problem(&error), source: Box::new(error) }
    }
}

/// Which way a driver error failed (see [`DatabaseProblem`]).
pub(crate) fn database_problem(error: &sqlx::Error) -> DatabaseProblem {
    match error {
        // The connection failed, was lost or never came (a crashed worker is SQLite's
        // connection thread gone).
        sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => DatabaseProblem::Connection,
        sqlx::Error::Database(error) => {
            let code = error.code().unwrap_or_default();
            if error.try_downcast_ref::<PgDatabaseError>().is_some() {
                postgres_problem(&code)
            } else if error.try_downcast_ref::<SqliteError>().is_some() {
                sqlite_problem(code.parse().unwrap_or(0))
            } else {
                DatabaseProblem::Other
            }
        }
        sqlx::Error::Migrate(error) => migration_problem(error),
        _ => DatabaseProblem::Other,
    }
}

fn migration_problem(error: &MigrateError) -> DatabaseProblem {
    match error {
        MigrateError::Execute(error) | MigrateError::ExecuteMigration(error, _) => {
            database_problem(error)
        }
        _ => DatabaseProblem::Other,
    }
}

/// A Postgres error by its SQLSTATE: class 08 is a connection exception, 57P01-57P03 a server
/// shutting down or not yet accepting connections, class 23 an integrity constraint violation.
fn postgres_problem(sqlstate: &str) -> DatabaseProblem {
    if sqlstate.starts_with("08") || matches!(sqlstate, "57P01" | "57P02" | "57P03") {
        DatabaseProblem::Connection
    } else if sqlstate.starts_with("23") {
        DatabaseProblem::Constraint
    } else {
        DatabaseProblem::Other
    }
}

/// A SQLite error by its extended result code, whose low byte is the primary code: the file
/// is busy or locked by another connection, full, unreadable or cannot be opened, or a
/// constraint refused the change.
fn sqlite_problem(extended_code: i32) -> DatabaseProblem {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    const SQLITE_IOERR: i32 = 10;
    const SQLITE_FULL: i32 = 13;
    const SQLITE_CANTOPEN: i32 = 14;
    const SQLITE_CONSTRAINT: i32 = 19;
    match extended_code & 0xff {
        SQLITE_BUSY | SQLITE_LOCKED | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN => {
            DatabaseProblem::Connection
        }
        SQLITE_CONSTRAINT => DatabaseProblem::Constraint,
        _ => DatabaseProblem::Other,
    }
}

pub(crate) fn not_found(what: &'static str, key: impl ToString) -> Error {
    Error::NotFound { what, key: key.to_string() }
}

/// Typed column access, implemented for both backends' rows by [`impl_row_access!`] so that
/// every decoder below is written once. `INTEGER` columns are `i32` and `BIGINT` columns `i64`
/// (Postgres decodes strictly by width; SQLite accepts both).
pub(crate) trait RowAccess {
    fn uuid(&self, column: &str) -> Result<Uuid>;
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>>;
    fn int(&self, column: &str) -> Result<i32>;
    fn opt_int(&self, column: &str) -> Result<Option<i32>>;
    fn bigint(&self, column: &str) -> Result<i64>;
    fn opt_bigint(&self, column: &str) -> Result<Option<i64>>;
    fn text(&self, column: &str) -> Result<String>;
    fn opt_text(&self, column: &str) -> Result<Option<String>>;
    fn flag(&self, column: &str) -> Result<bool>;
    fn float(&self, column: &str) -> Result<f64>;
    fn opt_float(&self, column: &str) -> Result<Option<f64>>;
    fn opt_json(&self, column: &str) -> Result<Option<serde_json::Value>>;
}

macro_rules! impl_row_access {
    ($row:ty) => {
        impl RowAccess for $row {
            fn uuid(&self, column: &str) -> Result<Uuid> {
                Ok(self.try_get(column)?)
            }
            fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>> {
                Ok(self.try_get(column)?)
            }
            fn int(&self, column: &str) -> Result<i32> {
                Ok(self.try_get(column)?)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i32>> {
                Ok(self.try_get(column)?)
            }
            fn bigint(&self, column: &str) -> Result<i64> {
                Ok(self.try_get(column)?)
            }
            fn opt_bigint(&self, column: &str) -> Result<Option<i64>> {
                Ok(self.try_get(column)?)
            }
            fn text(&self, column: &str) -> Result<String> {
                Ok(self.try_get(column)?)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>> {
                Ok(self.try_get(column)?)
            }
            fn flag(&self, column: &str) -> Result<bool> {
                Ok(self.try_get(column)?)
            }
            fn float(&self, column: &str) -> Result<f64> {
                Ok(self.try_get(column)?)
            }
            fn opt_float(&self, column: &str) -> Result<Option<f64>> {
                Ok(self.try_get(column)?)
            }
            fn opt_json(&self, column: &str) -> Result<Option<serde_json::Value>> {
                let value: Option<Json<serde_json::Value>> = self.try_get(column)?;
                Ok(value.map(|Json(value)| value))
            }
        }
    };
}

impl_row_access!(sqlx::postgres::PgRow);
impl_row_access!(sqlx::sqlite::SqliteRow);

/// The columns of a prepared statement of the SQLite hot path (`sqlite/hot.rs`) by name,
/// looked up once per statement: rusqlite's own lookup by name compares the name with every
/// column's, through the C API, for each value read (a claimed run has 38 columns; in a
/// profile of the engine's burn-down that was a fifth of the hot-path thread's time).
/// Hashed with FNV-1a: column names are short and not chosen by anyone hostile, and the
/// standard SipHash was the larger part of each lookup (about 4% of the thread's instructions,
/// 38 lookups per claimed run).
pub(crate) struct ColumnIndex(HashMap<String, usize, fnv::FnvBuildHasher>);

impl ColumnIndex {
    pub(crate) fn of(statement: &rusqlite::Statement<'_>) -> ColumnIndex {
        ColumnIndex(
            statement
                .column_names()
                .into_iter()
                .enumerate()
                .map(|(index, name)| (name.to_ascii_lowercase(), index))
                .collect(),
        )
    }

    /// A row of the statement, read by name through this index.
    pub(crate) fn row<'a, 'r>(&'a self, row: &'a rusqlite::Row<'r>) -> IndexedRow<'a, 'r> {
        IndexedRow { row, columns: self }
    }
}

/// A row of the SQLite hot path's own connection with its statement's [`ColumnIndex`],
/// decoded as sqlx decodes them: ids are 16-byte blobs, flags integers, JSON documents text.
pub(crate) struct IndexedRow<'a, 'r> {
    row: &'a rusqlite::Row<'r>,
    columns: &'a ColumnIndex,
}

impl IndexedRow<'_, '_> {
    /// The column's position (SQLite's names are case-insensitive, like rusqlite's lookup).
    fn at(&self, column: &str) -> Result<usize> {
        let found = match self.columns.0.get(column) {
            Some(&index) => Some(index),
            None => self.columns.0.get(&column.to_ascii_lowercase()).copied(),
        };
        Ok(found.ok_or_else(|| rusqlite::Error::InvalidColumnName(column.to_owned()))?)
    }

    fn get<T: rusqlite::types::FromSql>(&self, column: &str) -> Result<T> {
        Ok(self.row.get(self.at(column)?)?)
    }
}

impl RowAccess for IndexedRow<'_, '_> {
    fn uuid(&self, column: &str) -> Result<Uuid> {
        self.get(column)
    }
    fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>> {
        self.get(column)
    }
    fn int(&self, column: &str) -> Result<i32> {
        self.get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i32>> {
        self.get(column)
    }
    fn bigint(&self, column: &str) -> Result<i64> {
        self.get(column)
    }
    fn opt_bigint(&self, column: &str) -> Result<Option<i64>> {
        self.get(column)
    }
    fn text(&self, column: &str) -> Result<String> {
        self.get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>> {
        self.get(column)
    }
    fn flag(&self, column: &str) -> Result<bool> {
        self.get(column)
    }
    fn float(&self, column: &str) -> Result<f64> {
        self.get(column)
    }
    fn opt_float(&self, column: &str) -> Result<Option<f64>> {
        self.get(column)
    }
    fn opt_json(&self, column: &str) -> Result<Option<serde_json::Value>> {
        use rusqlite::types::ValueRef;
        let text = match self.row.get_ref(self.at(column)?)? {
            ValueRef::Null => return Ok(None),
            ValueRef::Text(text) | ValueRef::Blob(text) => text,
            other => {
                return Err(Error::invalid(
                    column,
                    format!("{:?}", other.data_type()),
                    "a JSON document stored as text",
                ))
            }
        };
        serde_json::from_slice(text)
            .map(Some)
            .map_err(|error| Error::invalid(column, "stored JSON", error.to_string()))
    }
}

/// Errors of the SQLite hot path's connection, classified as sqlx's SQLite errors are.
impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        let problem = match &error {
            rusqlite::Error::SqliteFailure(failure, _) => sqlite_problem(failure.extended_code),
            _ => DatabaseProblem::Other,
        };
        Error::Database { problem, source: Box::new(error) }
    }
}

fn instant(row: &impl RowAccess, column: &str) -> Result<DateTime<Utc>> {
    let millis = row.bigint(column)?;
    DateTime::from_timestamp_millis(millis)
        .ok_or_else(|| Error::invalid(column, millis, "not a representable instant"))
}

fn opt_instant(row: &impl RowAccess, column: &str) -> Result<Option<DateTime<Utc>>> {
    opt_instant_value(column, row.opt_bigint(column)?)
}

fn unsigned(row: &impl RowAccess, column: &str) -> Result<u32> {
    let value = row.int(column)?;
    u32::try_from(value).map_err(|_| Error::invalid(column, value, "must not be negative"))
}

fn millis_duration(row: &impl RowAccess, column: &str) -> Result<Duration> {
    let value = row.bigint(column)?;
    u64::try_from(value)
        .map(Duration::from_millis)
        .map_err(|_| Error::invalid(column, value, "must not be negative"))
}

fn json(row: &impl RowAccess, column: &str) -> Result<serde_json::Value> {
    row.opt_json(column)?.ok_or_else(|| Error::invalid(column, "NULL", "must not be NULL"))
}

/// A stored JSON document as a typed value (a handler spec).
pub(crate) fn document<T: DeserializeOwned>(column: &str, value: serde_json::Value) -> Result<T> {
    serde_json::from_value(value)
        .map_err(|error| Error::invalid(column, "(stored JSON)", error.to_string()))
}

pub(crate) fn tenant(row: &impl RowAccess) -> Result<Tenant> {
    Ok(Tenant {
        id: row.uuid("id")?,
        name: row.text("name")?,
        max_concurrent: unsigned(row, "max_concurrent")?,
        weight: unsigned(row, "weight")?,
        paused: row.flag("paused")?,
        policy: tenant_policy(row)?,
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
    })
}

fn tenant_policy(row: &impl RowAccess) -> Result<TenantPolicy> {
    let rate_limit =
        match (row.opt_int("rate_limit_count")?, row.opt_bigint("rate_limit_window_ms")?) {
            (Some(count), Some(window)) => Some(RateLimit {
                count: u32::try_from(count).map_err(|_| {
                    Error::invalid("tenants.rate_limit_count", count, "must be positive")
                })?,
                window: Duration::from_millis(u64::try_from(window).map_err(|_| {
                    Error::invalid("tenants.rate_limit_window_ms", window, "must be positive")
                })?),
            }),
            _ => None,
        };
    Ok(TenantPolicy {
        rate_limit,
        default_max_retries: opt_unsigned(row, "default_max_retries")?,
        default_auto_disable_after: opt_unsigned(row, "default_auto_disable_after")?,
    })
}

/// A job's policy columns (see `policy_columns!` in `sql.rs`).
pub(crate) fn job_policy(row: &impl RowAccess) -> Result<JobPolicy> {
    let missed: MissedKind = parse_text(row, "missed")?;
    Ok(JobPolicy {
        max_retries: opt_unsigned(row, "max_retries")?,
        backoff: backoff(row)?,
        retry_jitter: row.float("retry_jitter")?,
        overlap: parse_text::<OverlapPolicy>(row, "overlap")?,
        missed: MissedPolicy::from_parts(missed, opt_unsigned(row, "missed_max_runs")?),
        catch_up_window: opt_millis_duration(row, "catch_up_window_ms")?,
        auto_disable_after: opt_unsigned(row, "auto_disable_after")?,
        probation: row.flag("probation")?,
        jitter_window: opt_millis_duration(row, "jitter_window_ms")?,
        exclude_calendars: serde_json::from_str(&row.text("exclude_calendars")?).map_err(
            |error| Error::invalid("jobs.exclude_calendars", error, "a JSON list of names"),
        )?,
        only_calendar: row.opt_text("only_calendar")?,
        on_excluded: parse_text(row, "on_excluded")?,
    })
}

fn backoff(row: &impl RowAccess) -> Result<Backoff> {
    Ok(Backoff::from_parts(
        parse_text::<BackoffKind>(row, "retry_backoff")?,
        millis_duration(row, "retry_initial_ms")?,
        row.float("retry_multiplier")?,
        millis_duration(row, "retry_max_ms")?,
    ))
}

/// A stored enum; text that names no variant is an error naming the column.
fn parse_text<T: std::str::FromStr<Err = Error>>(row: &impl RowAccess, column: &str) -> Result<T> {
    row.text(column)?.parse()
}

fn opt_unsigned(row: &impl RowAccess, column: &str) -> Result<Option<u32>> {
    row.opt_int(column)?
        .map(|value| {
            u32::try_from(value).map_err(|_| Error::invalid(column, value, "must not be negative"))
        })
        .transpose()
}

fn opt_millis_duration(row: &impl RowAccess, column: &str) -> Result<Option<Duration>> {
    row.opt_bigint(column)?
        .map(|value| {
            u64::try_from(value)
                .map(Duration::from_millis)
                .map_err(|_| Error::invalid(column, value, "must not be negative"))
        })
        .transpose()
}

/// A job's policy as column values, in the order of `policy_column_names!` in `sql.rs`.
pub(crate) struct PolicyValues {
    pub max_retries: Option<i32>,
    pub retry_backoff: &'static str,
    pub retry_initial_ms: i64,
    pub retry_multiplier: f64,
    pub retry_max_ms: i64,
    pub retry_jitter: f64,
    pub overlap: &'static str,
    pub missed: &'static str,
    pub missed_max_runs: Option<i32>,
    pub catch_up_window_ms: Option<i64>,
    pub auto_disable_after: Option<i32>,
    pub probation: bool,
    pub jitter_window_ms: Option<i64>,
    /// A JSON array of names.
    pub exclude_calendars: String,
    pub only_calendar: Option<String>,
    pub on_excluded: &'static str,
}

pub(crate) fn policy_values(policy: &JobPolicy) -> Result<PolicyValues> {
    let (kind, initial, multiplier, max) = policy.backoff.parts();
    let opt_i32 = |field: &str, value: Option<u32>| value.map(|v| to_i32(field, v)).transpose();
    Ok(PolicyValues {
        max_retries: opt_i32("max_retries", policy.max_retries)?,
        retry_backoff: kind.as_str(),
        retry_initial_ms: duration_ms(initial),
        retry_multiplier: multiplier,
        retry_max_ms: duration_ms(max),
        retry_jitter: policy.retry_jitter,
        overlap: policy.overlap.as_str(),
        missed: policy.missed.kind().as_str(),
        missed_max_runs: opt_i32("missed_max_runs", policy.missed.max_runs())?,
        catch_up_window_ms: policy.catch_up_window.map(duration_ms),
        auto_disable_after: opt_i32("auto_disable_after", policy.auto_disable_after)?,
        probation: policy.probation,
        jitter_window_ms: policy.jitter_window.map(duration_ms),
        exclude_calendars: serde_json::to_string(&policy.exclude_calendars)
            .map_err(|error| Error::invalid("exclude_calendars", error, "a list of names"))?,
        only_calendar: policy.only_calendar.clone(),
        on_excluded: policy.on_excluded.as_str(),
    })
}

/// A `COUNT(*)` column (BIGINT on Postgres, INTEGER on SQLite: both decode as i64).
pub(crate) fn count(row: &impl RowAccess, column: &str) -> Result<u64> {
    let value = row.bigint(column)?;
    u64::try_from(value).map_err(|_| Error::invalid(column, value, "must not be negative"))
}

pub(crate) fn tenant_overview(row: &impl RowAccess) -> Result<TenantOverview> {
    Ok(TenantOverview {
        tenant: tenant(row)?,
        jobs: count(row, "jobs")?,
        running: count(row, "running")?,
        queued: count(row, "queued")?,
        failed_since: count(row, "failed_since")?,
        auto_disabled_jobs: count(row, "auto_disabled_jobs")?,
    })
}

/// A `LIKE` pattern (with `ESCAPE '\'`) matching text that contains `needle`, lower-cased as
/// SQL's `LOWER` does on both backends (ASCII only on SQLite).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for character in needle.to_ascii_lowercase().chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// The column a job page is sorted by before the job's name and id (`None`: the name itself),
/// and whether it may be unset (unset values sort last in both directions). The supporting
/// indexes are in migration 0006 (`jobs_keyset_paging`).
pub(crate) fn job_sort_column(sort: JobSort) -> (Option<&'static str>, bool) {
    match sort {
        JobSort::Name => (None, false),
        JobSort::Tenant => (Some("t.name"), false),
        JobSort::NextRun => (Some("j.next_run_at"), true),
        JobSort::LastRun => (Some("j.last_run_at"), true),
        JobSort::Failures => (Some("j.consecutive_failures"), false),
        JobSort::Updated => (Some("j.updated_at"), false),
    }
}

/// The `ORDER BY` of a job page's rows whose sort column is `column` (all set, or all unset
/// when `column` is `None`): that column, the name and the id, all in one direction, so that a
/// row-value comparison with the cursor finds where the page starts.
pub(crate) fn job_order(column: Option<&str>, descending: bool) -> String {
    let direction = if descending { "DESC" } else { "ASC" };
    match column {
        Some(column) => {
            format!(" ORDER BY {column} {direction}, j.name {direction}, j.id {direction}")
        }
        None => format!(" ORDER BY j.name {direction}, j.id {direction}"),
    }
}

pub(crate) fn job(row: &impl RowAccess) -> Result<Job> {
    Ok(Job {
        id: row.uuid("id")?,
        tenant_id: row.uuid("tenant_id")?,
        tenant: row.text("tenant")?,
        name: row.text("name")?,
        schedule: row.text("schedule")?,
        timezone: row.text("timezone")?,
        handler: document("jobs.handler", json(row, "handler")?)?,
        payload: json(row, "payload")?,
        timeout: millis_duration(row, "timeout_ms")?,
        enabled: row.flag("enabled")?,
        disabled_by: row.opt_text("disabled_by")?.map(|text| text.parse()).transpose()?,
        disabled_reason: row.opt_text("disabled_reason")?,
        consecutive_failures: unsigned(row, "consecutive_failures")?,
        last_error: row.opt_text("last_error")?,
        enabled_by: row.opt_text("enabled_by")?,
        on_probation: row.flag("on_probation")?,
        paused: row.flag("paused")?,
        tenant_paused: row.flag("tenant_paused")?,
        paused_at: opt_instant(row, "paused_at")?,
        resumed_at: opt_instant(row, "resumed_at")?,
        policy: job_policy(row)?,
        next_run_at: opt_instant(row, "next_run_at")?,
        last_run_at: opt_instant(row, "last_run_at")?,
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
        version: row.bigint("version")?,
    })
}

pub(crate) fn due_job(row: &impl RowAccess) -> Result<DueJob> {
    Ok(DueJob {
        job_id: row.uuid("id")?,
        tenant_id: row.uuid("tenant_id")?,
        schedule: row.text("schedule")?,
        timezone: row.text("timezone")?,
        next_run_at: instant(row, "next_run_at")?,
        policy: job_policy(row)?,
        running: count(row, "running")?,
        queued: count(row, "queued")?,
        paused_between: match (opt_instant(row, "paused_at")?, opt_instant(row, "resumed_at")?) {
            (Some(from), Some(to)) if from <= to => Some((from, to)),
            _ => None,
        },
    })
}

pub(crate) fn run(row: &impl RowAccess) -> Result<Run> {
    let job = match row.opt_text("job")? {
        Some(name) => name,
        // A test run has no job: its definition names it.
        None => test_definition(row)?.map(|definition| definition.name).ok_or_else(|| {
            Error::invalid("runs.job_id", "NULL", "a run without a job must carry a definition")
        })?,
    };
    Ok(Run {
        id: row.uuid("id")?,
        job_id: row.opt_uuid("job_id")?,
        job,
        tenant_id: row.uuid("tenant_id")?,
        tenant: row.text("tenant")?,
        scheduled_at: instant(row, "scheduled_at")?,
        trigger: row.text("trigger")?.parse()?,
        attempt: unsigned(row, "attempt")?,
        status: row.text("status")?.parse()?,
        payload: row.opt_json("payload")?,
        queued_at: instant(row, "queued_at")?,
        not_before: instant(row, "not_before")?,
        started_at: opt_instant(row, "started_at")?,
        finished_at: opt_instant(row, "finished_at")?,
        duration_ms: row.opt_bigint("duration_ms")?,
        lease_owner: row.opt_text("lease_owner")?,
        lease_expires_at: opt_instant(row, "lease_expires_at")?,
        fencing_token: row.bigint("fencing_token")?,
        exit_code: row.opt_int("exit_code")?,
        http_status: row.opt_int("http_status")?,
        output: row.opt_text("output")?,
        error: row.opt_text("error")?,
        reason: row.opt_text("reason")?,
        waited_for: row
            .opt_text("waited_for")?
            .map(|text| text.parse::<WaitedFor>())
            .transpose()?,
        cancel_requested: row.flag("cancel_requested")?,
    })
}

/// A test run's definition (`runs.definition`); `None` for a run of a job.
fn test_definition(row: &impl RowAccess) -> Result<Option<crate::job::JobDefinition>> {
    row.opt_json("definition")?.map(|value| document("runs.definition", value)).transpose()
}

pub(crate) fn claimed_run(row: &impl RowAccess) -> Result<ClaimedRun> {
    if let Some(definition) = test_definition(row)? {
        // A test run executes its own definition once: no retries (a retry would be another
        // run the author did not ask for), and nothing of a job.
        return Ok(ClaimedRun {
            run: run(row)?,
            handler: definition.handler,
            job_payload: definition.payload,
            timeout: definition.timeout,
            retry: RetryPolicy { max_retries: 0, ..RetryPolicy::default() },
            context: run_context(row)?,
        });
    }
    Ok(ClaimedRun {
        run: run(row)?,
        handler: document("jobs.handler", json(row, "handler")?)?,
        job_payload: json(row, "job_payload")?,
        timeout: millis_duration(row, "timeout_ms")?,
        retry: RetryPolicy {
            max_retries: opt_unsigned(row, "max_retries")?.unwrap_or(DEFAULT_MAX_RETRIES),
            backoff: backoff(row)?,
            jitter: row.float("retry_jitter")?,
        },
        context: run_context(row)?,
    })
}

/// What the executor needs from the run's tenant: its signing secret and command defaults.
/// Reads `webhook_secret`, `command_limits`, `run_as` and `work_dir`.
pub(crate) fn run_context(row: &impl RowAccess) -> Result<crate::handler::RunContext> {
    let limits = match row.opt_json("command_limits")? {
        Some(value) => document("tenants.command_limits", value)?,
        None => crate::handler::CommandLimits::default(),
    };
    Ok(crate::handler::RunContext {
        signing_secret: row
            .opt_text("webhook_secret")?
            .and_then(crate::handler::SigningSecret::new),
        limits,
        run_as: row.opt_text("run_as")?,
        work_dir: row.opt_text("work_dir")?.map(std::path::PathBuf::from),
    })
}

pub(crate) fn tenant_settings(row: &impl RowAccess) -> Result<super::TenantSettings> {
    let context = run_context(row)?;
    Ok(super::TenantSettings {
        webhook_url: row.opt_text("webhook_url")?,
        webhook_secret: context.signing_secret,
        notify_email: row.opt_text("notify_email")?,
        command_limits: context.limits,
        run_as: context.run_as,
        work_dir: context.work_dir,
        notify_run_failed: row.flag("notify_run_failed")?,
        notify_throttled: row.flag("notify_throttled")?,
    })
}

/// The audit log's document of a tenant's settings: the secret as a marker, never its text.
/// `replaced`: the change set a new secret (so the marker says so).
pub(crate) fn settings_document(
    settings: &super::TenantSettings,
    replaced: bool,
) -> serde_json::Value {
    let secret = settings.webhook_secret.as_ref().map(|_| {
        if replaced {
            crate::audit::SECRET_REPLACED
        } else {
            crate::audit::SECRET
        }
    });
    serde_json::json!({
        "webhook_url": settings.webhook_url,
        "webhook_secret": secret,
        "notify_email": settings.notify_email,
        "notify_run_failed": settings.notify_run_failed,
        "notify_throttled": settings.notify_throttled,
        "command_limits": settings.command_limits,
        "run_as": settings.run_as,
        "work_dir": settings.work_dir,
    })
}

/// A claimed outbox event with its tenant's channels (`sql::CLAIMED_EVENTS`).
pub(crate) fn claimed_event(row: &impl RowAccess) -> Result<crate::event::ClaimedEvent> {
    use crate::event::Channel;
    let event = outbox_event(row)?;
    let mut delivered = Vec::new();
    if row.flag("webhook_done")? {
        delivered.push(Channel::Webhook);
    }
    if row.flag("email_done")? {
        delivered.push(Channel::Email);
    }
    Ok(crate::event::ClaimedEvent {
        attempt: unsigned(row, "attempts")?,
        tenant: row.opt_text("tenant")?.unwrap_or_else(|| event.tenant_id.to_string()),
        job: row.opt_text("job")?,
        webhook_url: row.opt_text("webhook_url")?,
        webhook_secret: row
            .opt_text("webhook_secret")?
            .and_then(crate::handler::SigningSecret::new),
        notify_email: row.opt_text("notify_email")?,
        delivered,
        event,
    })
}

/// A row of the delivery log (`sql::SELECT_DELIVERIES`).
pub(crate) fn delivery(row: &impl RowAccess) -> Result<crate::event::Delivery> {
    let http_status = row
        .opt_int("http_status")?
        .map(|code| {
            u16::try_from(code)
                .map_err(|_| Error::invalid("deliveries.http_status", code, "not an HTTP status"))
        })
        .transpose()?;
    Ok(crate::event::Delivery {
        id: row.uuid("id")?,
        event_id: row.uuid("event_id")?,
        event_type: row.text("event_type")?,
        tenant_id: row.uuid("tenant_id")?,
        tenant: row.opt_text("tenant")?,
        channel: parse_text(row, "channel")?,
        target: row.text("target")?,
        attempt: unsigned(row, "attempt")?,
        status: parse_text(row, "status")?,
        http_status,
        smtp_reply: row.opt_text("smtp_reply")?,
        error: row.opt_text("error")?,
        node: row.text("node")?,
        at: instant(row, "at")?,
        duration_ms: row.bigint("duration_ms")?,
        next_attempt_at: opt_instant(row, "next_attempt_at")?,
    })
}

/// An entry of the audit log (`sql::SELECT_AUDIT`).
pub(crate) fn audit_entry(row: &impl RowAccess) -> Result<crate::audit::AuditEntry> {
    Ok(crate::audit::AuditEntry {
        id: row.uuid("id")?,
        at: instant(row, "at")?,
        operator: row.text("operator")?,
        display_name: row.opt_text("display_name")?,
        action: parse_text(row, "action")?,
        tenant_id: row.opt_uuid("tenant_id")?,
        tenant: row.opt_text("tenant")?,
        job_id: row.opt_uuid("job_id")?,
        job: row.opt_text("job")?,
        handler: row.opt_text("handler")?,
        before: row.opt_json("before")?,
        after: row.opt_json("after")?,
    })
}

pub(crate) fn outbox_event(row: &impl RowAccess) -> Result<OutboxEvent> {
    Ok(OutboxEvent {
        id: row.uuid("id")?,
        event: crate::event::Event::from_parts(&row.text("type")?, json(row, "data")?)?,
        tenant_id: row.uuid("tenant_id")?,
        job_id: row.opt_uuid("job_id")?,
        occurred_at: instant(row, "occurred_at")?,
        created_at: instant(row, "created_at")?,
        delivered_at: opt_instant(row, "delivered_at")?,
    })
}

pub(crate) fn node(row: &impl RowAccess) -> Result<NodeInfo> {
    let pid = row.bigint("pid")?;
    Ok(NodeInfo {
        id: row.text("id")?,
        host: row.text("host")?,
        pid: u32::try_from(pid)
            .map_err(|_| Error::invalid("nodes.pid", pid, "not a process id"))?,
        version: row.text("version")?,
        workers: unsigned(row, "workers")?,
        started_at: instant(row, "started_at")?,
        heartbeat_at: instant(row, "heartbeat_at")?,
        stopped_at: opt_instant(row, "stopped_at")?,
        health: row
            .opt_text("health")?
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|error| Error::invalid("nodes.health", text, error.to_string()))
            })
            .transpose()?,
    })
}

pub(crate) fn node_health_json(health: &NodeHealth) -> Result<String> {
    serde_json::to_string(health)
        .map_err(|error| Error::invalid("nodes.health", "(a node's health)", error.to_string()))
}

/// `($first, $first+1, ...)`: a list of `count` numbered placeholders for an `IN` clause, for
/// statements that also use numbered placeholders before it (sqlx's query builder numbers its
/// own placeholders on Postgres but writes `?` on SQLite, and the two cannot be mixed).
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    let list: Vec<String> = (first..first + count).map(|n| format!("${n}")).collect();
    format!("({})", list.join(", "))
}

/// A run as the timeline draws it (`span_columns!` in `sql.rs`).
pub(crate) fn run_span(row: &impl RowAccess) -> Result<crate::timeline::RunSpan> {
    Ok(crate::timeline::RunSpan {
        id: row.uuid("id")?,
        job_id: row.uuid("job_id")?,
        job: row.text("job")?,
        tenant_id: row.uuid("tenant_id")?,
        tenant: row.text("tenant")?,
        scheduled_at: instant(row, "scheduled_at")?,
        not_before: instant(row, "not_before")?,
        trigger: row.text("trigger")?.parse()?,
        attempt: unsigned(row, "attempt")?,
        status: row.text("status")?.parse()?,
        started_at: opt_instant(row, "started_at")?,
        finished_at: opt_instant(row, "finished_at")?,
    })
}

/// One bucket of `RUN_BUCKETS`, whose first instant is `from` plus `bucket` times its number.
pub(crate) fn run_bucket(
    row: &impl RowAccess,
    from: DateTime<Utc>,
    bucket: Duration,
) -> Result<crate::timeline::RunBucket> {
    let number = row.bigint("bucket")?;
    let offset = number.saturating_mul(duration_ms(bucket));
    Ok(crate::timeline::RunBucket {
        start: from + chrono::TimeDelta::milliseconds(offset),
        started: count(row, "started")?,
        failed: count(row, "failed")?,
        late_avg_ms: row.opt_float("late_avg_ms")?,
        late_max_ms: row.opt_bigint("late_max_ms")?,
    })
}

/// The marks of `CHANGE_MARKS`.
pub(crate) fn change_marks(row: &impl RowAccess) -> Result<crate::timeline::ChangeMarks> {
    Ok(crate::timeline::ChangeMarks {
        jobs: opt_instant(row, "jobs")?,
        tenants: opt_instant(row, "tenants")?,
        nodes: opt_instant(row, "nodes")?,
        node_count: count(row, "node_count")?,
    })
}

pub(crate) fn calendar(row: &impl RowAccess) -> Result<crate::calendars::StoredCalendar> {
    Ok(crate::calendars::StoredCalendar {
        id: row.uuid("id")?,
        tenant_id: row.opt_uuid("tenant_id")?,
        tenant: row.opt_text("tenant")?,
        name: row.text("name")?,
        source: row.text("source")?,
        created_at: instant(row, "created_at")?,
        updated_at: instant(row, "updated_at")?,
        version: row.bigint("version")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_the_given_instant() {
        let early = DateTime::from_timestamp_millis(1_800_000_000_000).unwrap();
        let late = DateTime::from_timestamp_millis(1_800_000_000_001).unwrap();
        assert!(new_id(early) < new_id(late));
        assert_eq!(new_id(early).get_version_num(), 7);
        assert_ne!(new_id(early), new_id(early));
    }

    #[test]
    fn text_is_bounded_and_nul_free() {
        let output = bound_output(&format!("{}\0end", "x".repeat(OUTPUT_LIMIT * 2)));
        assert!(output.len() <= OUTPUT_LIMIT);
        assert!(output.ends_with("\u{FFFD}end"), "{}", &output[output.len() - 10..]);
        let error = bound_error(&"é".repeat(ERROR_LIMIT));
        assert!(error.len() <= ERROR_LIMIT && error.starts_with('é'));
        assert_eq!(bound_error("short"), "short");
    }

    #[test]
    fn placeholders_are_numbered_from_first() {
        assert_eq!(placeholders(4, 3), "($4, $5, $6)");
    }

    #[test]
    fn postgres_errors_are_classified_by_sqlstate() {
        let table = [
            ("08006", DatabaseProblem::Connection), // connection failure
            ("08P01", DatabaseProblem::Connection), // protocol violation
            ("57P01", DatabaseProblem::Connection), // admin shutdown
            ("57P02", DatabaseProblem::Connection), // crash shutdown
            ("57P03", DatabaseProblem::Connection), // cannot connect now
            ("57014", DatabaseProblem::Other),      // query canceled
            ("23505", DatabaseProblem::Constraint), // unique violation
            ("23514", DatabaseProblem::Constraint), // check violation
            ("42601", DatabaseProblem::Other),      // syntax error
            ("", DatabaseProblem::Other),
        ];
        for (sqlstate, problem) in table {
            assert_eq!(postgres_problem(sqlstate), problem, "{sqlstate}");
        }
    }

    #[test]
    fn sqlite_errors_are_classified_by_primary_code() {
        let table = [
            (5, DatabaseProblem::Connection),    // SQLITE_BUSY
            (517, DatabaseProblem::Connection),  // SQLITE_BUSY_SNAPSHOT
            (6, DatabaseProblem::Connection),    // SQLITE_LOCKED
            (10, DatabaseProblem::Connection),   // SQLITE_IOERR
            (3338, DatabaseProblem::Connection), // SQLITE_IOERR_FSYNC
            (13, DatabaseProblem::Connection),   // SQLITE_FULL
            (14, DatabaseProblem::Connection),   // SQLITE_CANTOPEN
            (2067, DatabaseProblem::Constraint), // SQLITE_CONSTRAINT_UNIQUE
            (275, DatabaseProblem::Constraint),  // SQLITE_CONSTRAINT_CHECK
            (1, DatabaseProblem::Other),         // SQLITE_ERROR (a bad statement)
            (0, DatabaseProblem::Other),
        ];
        for (code, problem) in table {
            assert_eq!(sqlite_problem(code), problem, "{code}");
        }
    }

    /// Real driver errors from an in-memory SQLite database, converted the way every store
    /// method converts them.
    #[tokio::test]
    async fn driver_errors_keep_their_kind_behind_the_boxed_source() {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE names (name TEXT NOT NULL UNIQUE)").execute(&pool).await.unwrap();
        sqlx::query("INSERT INTO names VALUES ('a')").execute(&pool).await.unwrap();

        let duplicate = Error::from(
            sqlx::query("INSERT INTO names VALUES ('a')").execute(&pool).await.unwrap_err(),
        );
        assert_eq!(duplicate.database_problem(), Some(DatabaseProblem::Constraint));
        assert_eq!(duplicate.code(), crate::ErrorCode::Database);
        assert!(duplicate.to_string().starts_with("database error: "), "{duplicate}");
        let source = std::error::Error::source(&duplicate).expect("the driver's error");
        assert!(source.to_string().contains("UNIQUE"), "{source}");

        let bad = Error::from(sqlx::query("SELEC 1").execute(&pool).await.unwrap_err());
        assert_eq!(bad.database_problem(), Some(DatabaseProblem::Other));
        assert!(!bad.is_connection_problem());

        pool.close().await;
        let closed = Error::from(sqlx::query("SELECT 1").execute(&pool).await.unwrap_err());
        assert!(closed.is_connection_problem(), "{closed:?}");
        assert_eq!(closed.code(), crate::ErrorCode::Database);

        let invalid = Error::invalid("name", "", "must not be empty");
        assert_eq!(invalid.database_problem(), None);
        assert!(!invalid.is_connection_problem());
    }
}
