//! Runs: one row per attempt of an occurrence, and the state machine they follow.
//!
//! ```text
//!   (tick) ──▶ skipped | missed            occurrences that did not run, with the reason
//!   (tick) ──▶ queued ──claim──▶ running ──▶ succeeded | failed | timed_out | cancelled
//!                │  ▲               │
//!                │  │ release       └── lease expired ──▶ lost ──▶ (attempt + 1, recovery) queued
//!                │  └───────────────┘   (graceful shutdown hands unfinished work back)
//!                └── superseded (overlap cancel_previous) ──▶ cancelled
//! ```
//!
//! A failed or timed-out attempt with retries left is followed by a new row (attempt + 1,
//! trigger `retry`) that waits in `queued` until its `not_before`, holding no slot.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum::text_enum;

pub use crate::handler::Trigger;
pub use crate::policy::WaitedFor;

/// Where a run is in its life. Mirrored by a SQL `CHECK` constraint in both migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    /// The node running it stopped renewing its lease (crashed or cut off).
    Lost,
    /// The occurrence was not run because of a policy (overlap `skip`, `queue_one`, or the
    /// missed policy `skip`); `reason` says which.
    Skipped,
    /// The occurrence fell in a gap (no scheduler running, or the job paused) and the missed
    /// policy did not run it; `reason` says why.
    Missed,
}

text_enum!(RunStatus, "status", {
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    TimedOut => "timed_out",
    Cancelled => "cancelled",
    Lost => "lost",
    Skipped => "skipped",
    Missed => "missed",
});

impl RunStatus {
    /// Whether the run has finished (no further transition of this row).
    pub fn is_final(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: Uuid,
    /// `None` for a test run ([`Trigger::Test`]): it runs a definition no job row holds.
    pub job_id: Option<Uuid>,
    /// The job's name, or the name in a test run's definition.
    pub job: String,
    pub tenant_id: Uuid,
    pub tenant: String,
    pub scheduled_at: DateTime<Utc>,
    pub trigger: Trigger,
    pub attempt: u32,
    pub status: RunStatus,
    /// Payload override for this run (manual runs); `None` uses the job's payload.
    pub payload: Option<serde_json::Value>,
    pub queued_at: DateTime<Utc>,
    /// The run may not start before this instant (retry backoff).
    pub not_before: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub fencing_token: i64,
    pub exit_code: Option<i32>,
    pub http_status: Option<i32>,
    pub output: Option<String>,
    pub error: Option<String>,
    /// Why the run was skipped, missed, cancelled or queued late (a catch-up), for people.
    pub reason: Option<String>,
    /// What kept the run from starting when it was ready, if anything did.
    pub waited_for: Option<WaitedFor>,
    /// The tick asked the node running it to stop (overlap `cancel_previous`).
    pub cancel_requested: bool,
}
