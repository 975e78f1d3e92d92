//! What a job runs: an HTTP call, a child process, or an in-process Rust handler.
//!
//! The engine claims a run, resolves the job's [`HandlerSpec`] to a [`ResolvedSpec`] and asks an
//! [`Executor`] to run it with an [`Envelope`], a timeout and a cancellation token. The executor
//! always returns an [`Outcome`]; it never fails, because every way a run can end (exit status,
//! HTTP status, connection error, timeout, cancellation, a panic) is something to record.
//!
//! Map of the module:
//! - [`envelope`]: the JSON document every handler receives, and the idempotency key.
//! - [`spec`]: the stored description of what to run, and its validation.
//! - [`outcome`]: how a run ended, with bounded output and error text.
//! - [`executor`]: runs a resolved spec under a timeout and a cancellation token.
//! - `http` and `command`: the two built-in kinds of handler.
//! - [`isolation`]: what a command may see and use (environment, working directory, resource
//!   limits, run-as user), and the `rota __exec` wrapper that applies limits.
//! - [`signature`]: the `Rota-Signature` header on HTTP requests (and on notifications).
//! - [`egress`]: where HTTP requests may go (redirects, the private-network policy).
//! - [`registry`]: in-process handlers registered by name, for embedding Rota as a library.
//!
//! Invariants:
//! - Output is bounded everywhere: a job printing a gigabyte costs the daemon at most
//!   [`OUTPUT_LIMIT`] bytes per stream buffer, never the whole stream.
//! - A timeout or cancellation really stops the work: HTTP requests are dropped (closing the
//!   connection), child process groups are sent SIGTERM and then SIGKILL, and in-process handlers
//!   are aborted after the grace period.
//! - A redirect never carries a request to another origin, and with
//!   [`EgressPolicy::deny_private_networks`] no request reaches a private address.
//! - Secrets never reach `Debug` output or error text: header values and environment values
//!   whose names look sensitive are redacted.

mod command;
pub mod egress;
pub mod envelope;
pub mod executor;
pub(crate) mod http;
pub mod isolation;
pub mod outcome;
pub mod registry;
pub mod signature;
pub mod spec;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

pub use egress::EgressPolicy;
pub use envelope::Envelope;
pub use executor::{Executor, ResolvedSpec, DEFAULT_KILL_GRACE};
pub use isolation::{CommandLimits, CommandPolicy, RunContext};
pub use outcome::{Outcome, OutcomeStatus, ERROR_LIMIT, OUTPUT_LIMIT};
pub use registry::{HandlerRegistry, RegistryError};
pub use signature::SigningSecret;
pub use spec::{CommandSpec, FollowRedirects, HandlerSpec, HandlerSpecError, HttpSpec};

use crate::text_enum::text_enum;

/// How a run came about. Stored with each run; mirrored by a SQL `CHECK` constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The schedule came due.
    Schedule,
    /// Someone asked for a run now.
    Manual,
    /// A new attempt after a failed one.
    Retry,
    /// A new attempt after the node running the previous one was lost.
    Recovery,
    /// A past occurrence run late on purpose (catch-up after downtime, or an explicit backfill).
    Backfill,
    /// The editor's "test run": an unsaved definition run once, with no job row behind it
    /// (`runs.definition` carries it); it never retries and never touches a job's state.
    Test,
}

text_enum!(Trigger, "trigger", {
    Schedule => "schedule",
    Manual => "manual",
    Retry => "retry",
    Recovery => "recovery",
    Backfill => "backfill",
    Test => "test",
});

/// An in-process handler: the seam for embedding Rota as a library.
///
/// The handler should watch `cancel`: it fires when the run times out or is cancelled. The
/// executor then waits up to its kill grace for `run` to return and aborts the task after that,
/// so a handler that ignores the token is still stopped at its next `.await`. The executor
/// measures the duration and bounds the output and error itself, so implementations may leave
/// [`Outcome::duration`] at zero (as [`Outcome::succeeded`] and [`Outcome::failed`] do).
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn run(&self, envelope: &Envelope, cancel: CancellationToken) -> Outcome;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_round_trips_through_text_and_json() {
        for &trigger in Trigger::ALL {
            assert_eq!(trigger.as_str().parse::<Trigger>().unwrap(), trigger);
            let json = serde_json::to_string(&trigger).unwrap();
            assert_eq!(json, format!("\"{}\"", trigger.as_str()));
            assert_eq!(serde_json::from_str::<Trigger>(&json).unwrap(), trigger);
        }
    }
}
