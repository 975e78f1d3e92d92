//! The results that finished executing and are not recorded yet.
//!
//! A result that cannot be recorded (the database is away) stays here, in order, until a write
//! succeeds: dropping it would leave its run `running` until the lease expired, and another
//! node would execute the occurrence again. The buffer is bounded by the worker slots: a run
//! holds a slot until its result is here, and new runs are claimed only in the transaction that
//! records the waiting results or, while a queue burns down on Postgres, in one made beside it;
//! a recording that failed makes the next cycle one transaction again. So while writes fail
//! nothing new is claimed, and at most one result per slot (plus those of the last claim and of
//! one claim made beside the failed recording) can wait.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::store::RunResult;

#[derive(Debug)]
pub(crate) struct ResultBuffer {
    /// A std mutex: held only to push or copy, never across an await.
    waiting: Mutex<VecDeque<RunResult>>,
}

impl ResultBuffer {
    pub(crate) fn new() -> ResultBuffer {
        ResultBuffer { waiting: Mutex::new(VecDeque::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<RunResult>> {
        self.waiting.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    pub(crate) fn push(&self, result: RunResult) {
        self.lock().push_back(result);
    }

    /// Copies of the oldest `limit` results, to record; they stay until [`Self::recorded`].
    pub(crate) fn oldest(&self, limit: usize) -> Vec<RunResult> {
        self.lock().iter().take(limit).cloned().collect()
    }

    /// The oldest `count` results were recorded (only one writer records at a time, so they are
    /// the ones [`Self::oldest`] returned).
    pub(crate) fn recorded(&self, count: usize) {
        let mut waiting = self.lock();
        let count = count.min(waiting.len());
        waiting.drain(..count);
    }

    /// The runs whose results wait here: their leases must be renewed until they are recorded.
    pub(crate) fn run_ids(&self) -> Vec<uuid::Uuid> {
        self.lock().iter().map(|result| result.run_id).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}
