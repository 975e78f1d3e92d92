//! Runs: one row per attempt of an occurrence, and the state machine they follow.
//!
//! ```text
//!   queued ──claim──▶ running ──▶ succeeded | failed | timed_out | cancelled
//!     ▲                  │
//!     │ release          └── lease expired ──▶ lost ──▶ (new attempt, trigger recovery) queued
//!     └──────────────────┘   (graceful shutdown hands unfinished work back)
//! ```

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::handler::Trigger;

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
}

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::TimedOut,
        RunStatus::Cancelled,
        RunStatus::Lost,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Lost => "lost",
        }
    }

    /// Whether the run has finished (no further transition of this row).
    pub fn is_final(self) -> bool {
        !matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = crate::error::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RunStatus::ALL.into_iter().find(|status| status.as_str() == text).ok_or_else(|| {
            crate::error::Error::invalid(
                "status",
                text,
                "allowed: queued, running, succeeded, failed, timed_out, cancelled, lost",
            )
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: Uuid,
    pub job_id: Uuid,
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
}
