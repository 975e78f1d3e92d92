//! The SQLite engine's hot path: the record-and-claim cycle on a thread of its own.
//!
//! sqlx runs every SQLite statement on its connection's worker thread and hands each statement
//! and each row across a channel: measured, 80 to 140 µs and two context switches per trivial
//! statement inside a transaction, and a cycle (record a batch, claim the next) is ten
//! statements. Here one thread owns a second write connection (`rusqlite`, statements prepared
//! once and cached) and runs a whole cycle per request: one hop there and one back, whatever
//! the number of statements and rows.
//!
//! It runs the same statements (`sql::` and `sql::sqlite::`) and the same rules as the shared
//! path (`portable/queue.rs`, `SqliteStore::claim_in`), for the cases the engine meets at speed:
//! successes, cancellations and failures with a retry left. A batch with an occurrence that
//! failed for good (failure streak, auto-disable, audit entry, `run.failed` event) or a claim
//! that serves a tenant watching for `tenant.throttled` is handed back ([`Cycle::Shared`]) and
//! the store runs it on the shared path instead; nothing was written.
//!
//! Both write connections belong to one process and take SQLite's write lock in turn. A writer
//! on the shared path announces itself ([`HotPath::waiting`]) and the thread lets it go first,
//! so a tick is never starved by back-to-back cycles.
//!
//! Checkpoints (copying the WAL's pages into the database file, with a disk flush of each) are
//! off this thread: every [`CHECKPOINT_EVERY`] cycles it asks a checkpointer thread, with a
//! connection of its own, for a passive checkpoint, which runs beside the next cycles instead
//! of inside one of them (in a profile of the burn-down, SQLite's automatic checkpoint after a
//! commit was about a tenth of this thread's time, and its two flushes stalled that cycle).
//! The thread's connection still checkpoints by itself past [`WAL_BACKSTOP`] pages, should
//! the checkpointer fall behind.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::types::ToSql;
use rusqlite::{Connection, OpenFlags, Statement};
use uuid::Uuid;

use super::{round_robin, tenant_queues, ReadyRun, TenantQueue, BUSY_TIMEOUT};
use crate::error::{Error, Result};
use crate::health::pacing::{RepeatLog, Repeats, REPEAT_LOG_PERIOD};
use crate::run::{RunStatus, Trigger};
use crate::store::codec::{self, ColumnIndex, RowAccess};
use crate::store::queue::{claim_shares, split_successes, widen_shares, EligibleTenant};
use crate::store::{sql, ClaimedRun, RunResult};

/// Prepared statements kept per connection: a claim and a batch differ in their number of rows
/// (1 to 64 in the engine), each number its own statement text.
const STATEMENT_CACHE: usize = 512;
/// How long the thread waits, at most, for writers on the shared path to take the lock first.
const YIELD_LIMIT: Duration = Duration::from_millis(50);
/// How often it looks whether they did.
const YIELD_POLL: Duration = Duration::from_micros(200);
/// Cycles between two requests for a checkpoint (a cycle of 64 runs writes about 250 pages).
const CHECKPOINT_EVERY: u32 = 16;
/// The WAL's size in pages past which the thread's own connection checkpoints after a commit
/// (SQLite's `wal_autocheckpoint`): only if the checkpointer falls behind.
const WAL_BACKSTOP: u32 = 20_000;

/// What a cycle claims.
#[derive(Debug, Clone)]
pub(super) struct ClaimRequest {
    pub node_id: String,
    pub now: DateTime<Utc>,
    pub ready_until: DateTime<Utc>,
    pub limit: u32,
    pub lease_ttl: Duration,
}

/// The answer to a cycle.
#[derive(Debug)]
pub(super) enum Cycle {
    /// Recorded (for each result, whether it was accepted) and claimed.
    Done(Vec<bool>, Vec<ClaimedRun>),
    /// Not for this path: nothing was written; run it on the shared path.
    Shared,
}

struct Request {
    results: Vec<RunResult>,
    claim: Option<ClaimRequest>,
    reply: tokio::sync::oneshot::Sender<Result<Cycle>>,
}

/// The handle the store keeps: a queue to the thread.
#[derive(Debug)]
pub(super) struct HotPath {
    requests: std::sync::Mutex<Option<mpsc::Sender<Request>>>,
    /// Writers on the shared path (sqlx's write connection) waiting for the write lock.
    waiting: Arc<AtomicUsize>,
}

impl HotPath {
    /// Starts the thread for the database file `file`; it opens its connection on first use.
    pub(super) fn start(file: PathBuf) -> Result<HotPath> {
        let (requests, receiver) = mpsc::channel::<Request>();
        let waiting = Arc::new(AtomicUsize::new(0));
        let thread_waiting = waiting.clone();
        // One pending request at most: a request made while one waits adds nothing.
        let (checkpoints, checkpoint_requests) = mpsc::sync_channel::<()>(1);
        let checkpointer_file = file.clone();
        let spawn_failed = |error: std::io::Error| Error::Database {
            problem: crate::error::DatabaseProblem::Other,
            source: Box::new(error),
        };
        std::thread::Builder::new()
            .name("rota-sqlite-ckpt".into())
            .spawn(move || checkpoint(&checkpointer_file, &checkpoint_requests))
            .map_err(spawn_failed)?;
        std::thread::Builder::new()
            .name("rota-sqlite-hot".into())
            .spawn(move || serve(&file, &receiver, &thread_waiting, &checkpoints))
            .map_err(spawn_failed)?;
        Ok(HotPath { requests: std::sync::Mutex::new(Some(requests)), waiting })
    }

    /// Runs one cycle on the thread. [`Cycle::Shared`] when the path is closed, too: the
    /// shared path then answers as a closed store does.
    pub(super) async fn cycle(
        &self,
        results: &[RunResult],
        claim: Option<ClaimRequest>,
    ) -> Result<Cycle> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let request = Request { results: results.to_vec(), claim, reply };
        let sent = match &*self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            Some(requests) => requests.send(request).is_ok(),
            None => false,
        };
        if !sent {
            return Ok(Cycle::Shared);
        }
        answer.await.unwrap_or(Ok(Cycle::Shared))
    }

    /// Stops the thread (after the cycle it is running); it closes its connection.
    pub(super) fn close(&self) {
        self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    }

    /// Marks a writer on the shared path as waiting for the write lock until the guard drops.
    pub(super) fn announce_writer(&self) -> WaitingWriter {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        WaitingWriter(self.waiting.clone())
    }
}

/// A writer on the shared path waiting for the lock (see [`HotPath::announce_writer`]).
pub(super) struct WaitingWriter(Arc<AtomicUsize>);

impl Drop for WaitingWriter {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The thread: one request at a time until the store closes (then the checkpointer stops too:
/// it ends when `checkpoints` is dropped).
fn serve(
    file: &PathBuf,
    requests: &mpsc::Receiver<Request>,
    waiting: &AtomicUsize,
    checkpoints: &mpsc::SyncSender<()>,
) {
    let mut connection: Option<Connection> = None;
    let mut cycles = 0u32;
    // While the disk stays full every cycle closes its connection: logged as the store's pools
    // log theirs, the first and then a count at most every period.
    let mut closed = RepeatLog::new(REPEAT_LOG_PERIOD);
    while let Ok(request) = requests.recv() {
        // Writers on the shared path first (a tick, an API change): they wait in SQLite's busy
        // handler, which sleeps milliseconds at a time.
        for _ in 0..YIELD_LIMIT.as_micros() / YIELD_POLL.as_micros() {
            if waiting.load(Ordering::Acquire) == 0 {
                break;
            }
            std::thread::sleep(YIELD_POLL);
        }
        let answer = match connection.as_mut() {
            Some(open) => run_cycle(open, &request.results, request.claim.as_ref()),
            None => match open(file) {
                Ok(open) => {
                    run_cycle(connection.insert(open), &request.results, request.claim.as_ref())
                }
                Err(error) => Err(error),
            },
        };
        // A connection left inside a transaction (a failed COMMIT or ROLLBACK: a full disk, an
        // I/O error) is closed; the next cycle opens a new one.
        if connection.as_ref().is_some_and(|open| !open.is_autocommit()) {
            match closed.occurred(tokio::time::Instant::now()) {
                Some(Repeats { unlogged: 0, total }) => tracing::warn!(
                    total,
                    "closing the SQLite hot-path connection left inside a failed transaction \
                     (its COMMIT or ROLLBACK failed: a full disk, an I/O error); the next cycle \
                     opens a new one (repeats are counted and logged every {} s)",
                    REPEAT_LOG_PERIOD.as_secs()
                ),
                Some(Repeats { unlogged, total }) => tracing::warn!(
                    closed = unlogged + 1,
                    total,
                    "still closing the SQLite hot-path connection after failed transactions"
                ),
                None => {}
            }
            connection = None;
        }
        if matches!(answer, Ok(Cycle::Done(..))) {
            cycles += 1;
            if cycles >= CHECKPOINT_EVERY {
                cycles = 0;
                // Full: a request is pending already.
                let _ = checkpoints.try_send(());
            }
        }
        let _ = request.reply.send(answer);
    }
}

/// The checkpointer thread: a passive checkpoint per request, on its own connection, until the
/// hot-path thread stops. A passive checkpoint takes no lock that writers wait for; it copies
/// what no reader still needs, and the next writer starts the WAL over once everything was
/// copied. A failure is logged and the next request tries again (the backstop of the
/// thread's own connection stays).
fn checkpoint(file: &PathBuf, requests: &mpsc::Receiver<()>) {
    let mut connection: Option<Connection> = None;
    while requests.recv().is_ok() {
        let done = match connection.as_mut() {
            Some(open) => passive_checkpoint(open),
            None => open(file).and_then(|opened| passive_checkpoint(connection.insert(opened))),
        };
        if let Err(error) = done {
            tracing::debug!(%error, "SQLite checkpoint failed; the next one tries again");
            connection = None;
        }
    }
}

fn passive_checkpoint(connection: &Connection) -> Result<()> {
    // Busy (another checkpoint runs) is an answer, not an error: (busy, log, checkpointed).
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    Ok(())
}

/// Opens the thread's connection with the store's settings (see `SqliteStore::connect`).
fn open(file: &PathBuf) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(file, flags)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    connection.busy_handler(Some(wait_for_lock))?;
    connection.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; \
         PRAGMA mmap_size = 268435456; PRAGMA temp_store = memory;",
    )?;
    connection.pragma_update(None, "wal_autocheckpoint", WAL_BACKSTOP)?;
    Ok(connection)
}

/// The busy handler: polls the write lock every 200 µs (SQLite's own sleeps milliseconds at a
/// time, longer than a cycle) for up to [`BUSY_TIMEOUT`].
fn wait_for_lock(attempt: i32) -> bool {
    const POLL: Duration = Duration::from_micros(200);
    let attempts = BUSY_TIMEOUT.as_micros() / POLL.as_micros();
    if u128::try_from(attempt).unwrap_or(0) >= attempts {
        return false;
    }
    std::thread::sleep(POLL);
    true
}

/// Whether `result` ends its occurrence in failure (no retry follows): the shared path's
/// streak, auto-disable and events apply.
fn failed_occurrence(result: &RunResult) -> bool {
    result.retry_at.is_none()
        && matches!(result.status, RunStatus::Failed | RunStatus::TimedOut | RunStatus::Lost)
}

fn run_cycle(
    connection: &mut Connection,
    results: &[RunResult],
    claim: Option<&ClaimRequest>,
) -> Result<Cycle> {
    let mut ids = HashSet::with_capacity(results.len());
    if results.iter().any(|result| failed_occurrence(result) || !ids.insert(result.run_id)) {
        return Ok(Cycle::Shared);
    }
    // `BEGIN` and `COMMIT` as cached statements: rusqlite's transactions parse them anew each
    // time (`execute_batch`).
    connection.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    let answer = cycle_in_transaction(connection, results, claim);
    if !matches!(answer, Ok(Cycle::Done(..))) && !connection.is_autocommit() {
        // A failed rollback leaves the connection inside the transaction: `serve` closes it.
        let _ = connection.execute_batch("ROLLBACK");
    }
    answer
}

/// The cycle inside its transaction, committed unless it fails or hands the cycle back.
fn cycle_in_transaction(
    connection: &Connection,
    results: &[RunResult],
    claim: Option<&ClaimRequest>,
) -> Result<Cycle> {
    let accepted = complete(connection, results)?;
    let claimed = match claim {
        Some(claim) => match claim_runs(connection, claim)? {
            Some(claimed) => claimed,
            // The caller rolls the results back too.
            None => return Ok(Cycle::Shared),
        },
        None => Vec::new(),
    };
    connection.prepare_cached("COMMIT")?.execute([])?;
    Ok(Cycle::Done(accepted, claimed))
}

/// Binds `value` to the numbered parameter `$number` of `statement` (SQLite numbers `$N`
/// parameters by first appearance, not by `N`).
fn bind_numbered(statement: &mut Statement<'_>, number: usize, value: &dyn ToSql) -> Result<()> {
    let index = statement.parameter_index(&format!("${number}"))?.ok_or_else(|| {
        Error::invalid("statement", format!("${number}"), "a parameter of the statement")
    })?;
    statement.raw_bind_parameter(index, value)?;
    Ok(())
}

/// Binds `ids` to the parameters `$first`, `$first + 1`, ... of `statement`, a list that
/// `codec::placeholders(first, ids.len())` wrote after every lower-numbered parameter: SQLite
/// numbers each new name in order of first appearance, so the list's are consecutive, and one
/// lookup by name serves them all (a lookup compares the name with every parameter's; one per
/// id was quadratic in the claim's size).
fn bind_ids(statement: &mut Statement<'_>, first: usize, ids: &[Uuid]) -> Result<()> {
    let Some(last) = ids.len().checked_sub(1) else {
        return Ok(());
    };
    let start = statement.parameter_index(&format!("${first}"))?;
    let end = statement.parameter_index(&format!("${}", first + last))?;
    let start = match (start, end) {
        (Some(start), Some(end)) if end == start + last => start,
        _ => {
            return Err(Error::invalid(
                "statement",
                format!("${first} to ${}", first + last),
                "a list of consecutive parameters",
            ))
        }
    };
    for (offset, id) in ids.iter().enumerate() {
        statement.raw_bind_parameter(start + offset, id)?;
    }
    Ok(())
}

/// `(?, ?, ...), (...)`: `rows` rows of `columns` positional placeholders.
fn values_list(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// Records `results` (none of them a failed occurrence) as the shared `complete_in` does.
fn complete(tx: &Connection, results: &[RunResult]) -> Result<Vec<bool>> {
    let mut accepted = vec![false; results.len()];
    if results.is_empty() {
        return Ok(accepted);
    }
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by_key(|&index| results[index].run_id);
    let index_of: HashMap<Uuid, usize> =
        order.iter().map(|&index| (results[index].run_id, index)).collect();
    let mut finished_jobs: Vec<(Uuid, usize)> = Vec::with_capacity(results.len());
    for chunk in order.chunks(codec::COMPLETE_BATCH) {
        let text = format!(
            "{}VALUES {}{}",
            sql::sqlite::COMPLETE_RUNS_HEAD,
            values_list(chunk.len(), 10),
            sql::COMPLETE_RUNS_TAIL
        );
        let mut statement = tx.prepare_cached(&text)?;
        let mut position = 1;
        for &index in chunk {
            let result = &results[index];
            let values: [&dyn ToSql; 10] = [
                &result.run_id,
                &result.node_id,
                &result.fencing_token,
                &result.status.as_str(),
                &codec::ms(result.finished_at),
                &result.duration_ms,
                &result.exit_code,
                &result.http_status,
                &codec::bound_output(&result.output),
                &result.error.as_deref().map(codec::bound_error),
            ];
            for value in values {
                statement.raw_bind_parameter(position, value)?;
                position += 1;
            }
        }
        let columns = ColumnIndex::of(&statement);
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            let row = columns.row(row);
            let index = index_of[&row.uuid("id")?];
            accepted[index] = true;
            // A test run (no job) touches no job: no streak, no last run, no retry.
            if let Some(job_id) = row.opt_uuid("job_id")? {
                finished_jobs.push((job_id, index));
            }
        }
    }
    // A refused result recorded already by this claim (its first COMMIT's answer was lost)
    // counts as recorded, as on the shared path.
    let refused: Vec<usize> = (0..results.len()).filter(|&index| !accepted[index]).collect();
    for chunk in refused.chunks(codec::COMPLETE_BATCH) {
        let text = format!("{}{}", sql::RUN_OUTCOMES, codec::placeholders(1, chunk.len()));
        let mut statement = tx.prepare_cached(&text)?;
        for (number, &index) in chunk.iter().enumerate() {
            bind_numbered(&mut statement, number + 1, &results[index].run_id)?;
        }
        let columns = ColumnIndex::of(&statement);
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            let row = columns.row(row);
            let id = row.uuid("id")?;
            for &index in chunk {
                let result = &results[index];
                if result.run_id == id
                    && !accepted[index]
                    && row.opt_text("lease_owner")?.as_deref() == Some(result.node_id.as_str())
                    && row.bigint("fencing_token")? == result.fencing_token
                    && row.text("status")? == result.status.as_str()
                    && row.opt_bigint("finished_at")? == Some(codec::ms(result.finished_at))
                {
                    accepted[index] = true;
                    break;
                }
            }
        }
    }
    // Jobs whose every result here succeeded: one statement for all of them.
    let (succeeded, mixed) = split_successes(&finished_jobs, results);
    for chunk in succeeded.chunks(codec::COMPLETE_BATCH) {
        let text = format!(
            "{}VALUES {}{}",
            sql::sqlite::JOBS_SUCCEEDED_HEAD,
            values_list(chunk.len(), 2),
            sql::JOBS_SUCCEEDED_TAIL
        );
        let mut statement = tx.prepare_cached(&text)?;
        let mut position = 1;
        for (job_id, finished_at) in chunk {
            statement.raw_bind_parameter(position, job_id)?;
            statement.raw_bind_parameter(position + 1, finished_at)?;
            position += 2;
        }
        statement.raw_execute()?;
    }
    // The rest result by result, in the order they finished: a success, a cancellation, a
    // failure with a retry planned (its next attempt queued).
    finished_jobs.retain(|(job_id, _)| mixed.contains(job_id));
    finished_jobs.sort_by_key(|&(job_id, index)| (job_id, results[index].finished_at));
    for &(job_id, index) in &finished_jobs {
        let result = &results[index];
        let text = if result.status == RunStatus::Succeeded {
            sql::JOB_SUCCEEDED
        } else {
            sql::JOB_FINISHED
        };
        let mut statement = tx.prepare_cached(text)?;
        bind_numbered(&mut statement, 1, &job_id)?;
        bind_numbered(&mut statement, 2, &codec::ms(result.finished_at))?;
        statement.raw_execute()?;
        if let Some(retry_at) = result.retry_at {
            let mut statement = tx.prepare_cached(sql::INSERT_NEXT_ATTEMPT)?;
            bind_numbered(&mut statement, 1, &codec::new_id(result.finished_at))?;
            bind_numbered(&mut statement, 2, &Trigger::Retry.as_str())?;
            bind_numbered(&mut statement, 3, &codec::ms(result.finished_at))?;
            bind_numbered(&mut statement, 4, &codec::ms(retry_at))?;
            bind_numbered(&mut statement, 5, &result.run_id)?;
            statement.raw_execute()?;
        }
    }
    Ok(accepted)
}

/// The claim of `SqliteStore::claim_in`, step for step; `None` when a tenant that may be served
/// watches for `tenant.throttled` (the shared path writes those events).
fn claim_runs(tx: &Connection, claim: &ClaimRequest) -> Result<Option<Vec<ClaimedRun>>> {
    let limit = claim.limit;
    if limit == 0 {
        return Ok(Some(Vec::new()));
    }
    let now_ms = codec::ms(claim.now);
    let ready_until_ms = codec::ms(claim.ready_until);
    let mut eligible: Vec<EligibleTenant> = Vec::new();
    {
        let mut statement = tx.prepare_cached(sql::sqlite::ELIGIBLE_TENANTS)?;
        bind_numbered(&mut statement, 1, &now_ms)?;
        bind_numbered(&mut statement, 2, &i64::from(limit))?;
        bind_numbered(&mut statement, 3, &ready_until_ms)?;
        let columns = ColumnIndex::of(&statement);
        let mut rows = statement.raw_query();
        while let Some(tenant) = rows.next()? {
            let tenant = columns.row(tenant);
            if tenant.flag("watch_throttled")? {
                return Ok(None);
            }
            let weight = usize::try_from(tenant.int("weight")?).unwrap_or(1).max(1);
            eligible.push((
                tenant.uuid("id")?,
                weight,
                tenant.bigint("room")?,
                tenant.opt_bigint("rate_room")?,
            ));
        }
    }
    let mut shares = claim_shares(&eligible, limit);
    let (mut queues, fetched) = ready_queues(tx, &eligible, &shares, ready_until_ms)?;
    let mut chosen = round_robin(&queues, limit);
    if chosen.len() < limit as usize && widen_shares(&eligible, &fetched, &mut shares, limit) {
        (queues, _) = ready_queues(tx, &eligible, &shares, ready_until_ms)?;
        chosen = round_robin(&queues, limit);
    }
    if chosen.is_empty() {
        return Ok(Some(Vec::new()));
    }

    for (rate_counted, runs) in super::by_rate_counting(&queues, &eligible, &chosen) {
        let text = format!("{}{}", sql::sqlite::START_RUNS, codec::placeholders(6, runs.len()));
        let mut statement = tx.prepare_cached(&text)?;
        bind_numbered(&mut statement, 1, &now_ms)?;
        bind_numbered(&mut statement, 2, &claim.node_id)?;
        bind_numbered(&mut statement, 3, &codec::expiry_ms(claim.now, claim.lease_ttl))?;
        bind_numbered(&mut statement, 4, &codec::duration_ms(crate::policy::LATE_START))?;
        bind_numbered(&mut statement, 5, &rate_counted)?;
        bind_ids(&mut statement, 6, &runs)?;
        statement.raw_execute()?;
    }

    // Served tenants move to the back of the line, in one statement.
    let chosen_set: HashSet<Uuid> = chosen.iter().copied().collect();
    let mut marks: Vec<(Uuid, Option<&'static str>)> = Vec::new();
    for ((tenant, _, ready), &(_, _, room, rate_room)) in queues.iter().zip(&eligible) {
        let took = ready.iter().filter(|id| chosen_set.contains(id)).count() as i64;
        if took == 0 {
            continue;
        }
        let reached = crate::policy::limit_reached(took, room, rate_room);
        marks.push((*tenant, reached.map(|limit| limit.as_str())));
    }
    let text = format!(
        "{}VALUES {}{}",
        sql::sqlite::MARK_SERVED_HEAD,
        values_list(marks.len(), 3),
        sql::sqlite::MARK_SERVED_TAIL
    );
    let mut statement = tx.prepare_cached(&text)?;
    let mut position = 1;
    for (tenant, reached) in &marks {
        statement.raw_bind_parameter(position, tenant)?;
        statement.raw_bind_parameter(position + 1, reached)?;
        statement.raw_bind_parameter(position + 2, now_ms)?;
        position += 3;
    }
    statement.raw_execute()?;

    let text = format!("{}{}", sql::sqlite::CLAIMED_RUNS, codec::placeholders(1, chosen.len()));
    let mut statement = tx.prepare_cached(&text)?;
    bind_ids(&mut statement, 1, &chosen)?;
    let mut claimed: HashMap<Uuid, ClaimedRun> = HashMap::with_capacity(chosen.len());
    let columns = ColumnIndex::of(&statement);
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next()? {
        let run = codec::claimed_run(&columns.row(row))?;
        claimed.insert(run.run.id, run);
    }
    chosen
        .iter()
        .map(|id| claimed.remove(id).ok_or_else(|| codec::not_found("run", id)))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// `SqliteStore::ready_queues` on this connection.
fn ready_queues(
    tx: &Connection,
    eligible: &[EligibleTenant],
    shares: &[i64],
    ready_until_ms: i64,
) -> Result<(Vec<TenantQueue>, Vec<i64>)> {
    let mut ready_by_tenant: HashMap<Uuid, Vec<ReadyRun>> = HashMap::new();
    let terms: Vec<(Uuid, i64)> =
        eligible.iter().zip(shares).map(|(&(id, ..), &share)| (id, share)).collect();
    for chunk in terms.chunks(sql::sqlite::READY_RUNS_TERMS) {
        let text = vec![sql::sqlite::READY_RUNS_TERM; chunk.len()].join(" UNION ALL ");
        let mut statement = tx.prepare_cached(&text)?;
        let mut position = 1;
        for (id, share) in chunk {
            statement.raw_bind_parameter(position, id)?;
            statement.raw_bind_parameter(position + 1, ready_until_ms)?;
            statement.raw_bind_parameter(position + 2, share)?;
            position += 3;
        }
        let columns = ColumnIndex::of(&statement);
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            let row = columns.row(row);
            ready_by_tenant.entry(row.uuid("tenant_id")?).or_default().push((
                row.bigint("not_before")?,
                row.uuid("id")?,
                row.uuid("job_id")?,
                row.flag("exclusive")?,
            ));
        }
    }
    Ok(tenant_queues(eligible, ready_by_tenant))
}
