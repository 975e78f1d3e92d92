//! Rota: a tenant-aware, durable job scheduler.
//!
//! Map of the crate (see `ARCHITECTURE.md` for the data flow and invariants):
//! - [`clock`]: the only place that reads the wall clock; everything else takes a [`clock::Clock`].
//! - [`cron`]: the time engine: parsing cron expressions, finding fire instants in an IANA zone
//!   with Debian cron's daylight-saving rules, and explaining schedules to people.
//! - [`calendars`]: holiday and blackout calendars from iCalendar files, and the rule that keeps
//!   a job's occurrences off their days (skip, or move to the next or previous allowed day).
//! - [`tenant`], [`job`], [`run`]: the records Rota keeps and their validation.
//! - [`policy`]: run-lifecycle policies (retries, overlap, missed runs, auto-disable, rate
//!   limits, jitter), pure and table-tested.
//! - [`handler`]: what a job runs (HTTP calls, child processes, in-process Rust handlers).
//! - [`store`]: the storage seam, with Postgres and SQLite backends.
//! - [`engine`]: the scheduler loop: tick (due jobs become queued runs), dispatch (fair claims,
//!   execution, results), leases and recovery.
//! - [`health`]: whether a node works: its database contact, its loops' iterations, backoff
//!   and failure logging for loops, and the reaper's grace after an outage.
//! - [`access`]: who may do what: capabilities per tenant (enforced by Postgres itself).
//! - [`api`]: the operations the CLI and the desktop console call; validation happens here.
//! - [`audit`]: who changed what: entries written with every change, in its transaction.
//! - [`event`]: events for tenants (typed) and the records of their delivery, shared by the
//!   store (the outbox) and the notification worker.
//! - [`notify`]: the delivery worker that tells tenants (signed webhooks, email) about outbox
//!   events, at least once, with retries and a delivery log.
//! - [`runtime`]: the one place that connects (waiting for the database), migrates, and starts
//!   the engine and the notification worker for `rota serve` and the desktop console.
//! - [`import`]: crontab import, and schedules as YAML files (export, apply with a diff).
//! - [`timeline`]: runs in time for the console: windows of runs, projected runs, throughput,
//!   and the change feed a live view follows.
//! - [`forecast`]: when every job will start over the next hours: busiest minutes and herds.
//! - [`demo`]: demo tenants and jobs for a first start.
//! - [`error`]: the library's error type with stable codes.
//! - [`text_enum`]: enums kept as fixed text (statuses, triggers, actions), one mapping each.

pub mod access;
pub mod api;
pub mod audit;
pub mod calendars;
pub mod clock;
pub mod cron;
pub mod demo;
pub mod engine;
pub mod error;
pub mod event;
pub mod forecast;
pub mod handler;
pub mod health;
pub mod import;
pub mod job;
pub mod notify;
pub mod policy;
pub mod private_files;
pub mod redact;
pub mod run;
pub mod runtime;
pub mod store;
pub mod tenant;
pub mod text_enum;
pub mod timeline;

pub use error::{DatabaseProblem, Error, ErrorCode, Result};
