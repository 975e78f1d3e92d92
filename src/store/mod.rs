//! The storage seam: everything Rota keeps lives behind [`Store`], implemented for Postgres
//! ([`postgres::PgStore`]) and SQLite ([`sqlite::SqliteStore`]). The backend is chosen once, at
//! start-up, from the database URL ([`AnyStore::connect`]).
//!
//! [`Store`] is the sum of one trait per concern, each in its own module with the records it
//! reads and writes: [`SchemaStore`], [`TenantStore`], [`HandlerStore`], [`JobStore`],
//! [`RunStore`], [`RunQueue`] (the engine's steps), [`NodeStore`], [`OutboxStore`],
//! [`ConsoleViews`], [`AuditLog`], [`AccessStore`] and [`CalendarStore`] (roles and grants, Postgres only). Code generic over `S: Store` sees every method; code on
//! a concrete store imports [`prelude`].
//!
//! Architecture invariants:
//! - Only this module (and its submodules) imports `sqlx`; the engine sees only these traits.
//! - The store never imports the notification worker ([`crate::notify`]): the outbox's records
//!   are defined here, and both use the typed events of [`crate::event`].
//! - Portable SQL is written once (`sql/mod.rs`, run by `portable/`); a statement has a
//!   per-backend version only where the dialects truly differ, and [`dialect::Dialect`] is the
//!   one list of those differences (statements and hooks) that each backend implements.
//! - `now` is always a parameter: the database's own clock is never read, so tests on virtual
//!   time control every instant the store writes.
//! - Both backends pass the same behavioural suite (`tests/store_suite.rs`).

/// Declares a concern's trait from a list of method signatures, and [`AnyStore`]'s delegation
/// to the backend from the same list (so a method is written once, where it is declared).
/// Methods return futures that are `Send`, like `async fn` with a `Send` bound.
macro_rules! store_concern {
    (
        $(#[$trait_attr:meta])*
        pub trait $concern:ident {
            $(
                $(#[$attr:meta])*
                fn $method:ident(&self $(, $arg:ident: $arg_type:ty)* $(,)?) -> $output:ty;
            )*
        }
    ) => {
        $(#[$trait_attr])*
        pub trait $concern {
            $(
                $(#[$attr])*
                fn $method(&self $(, $arg: $arg_type)*)
                    -> impl ::std::future::Future<Output = $output> + Send;
            )*
        }

        impl $concern for $crate::store::AnyStore {
            $(
                async fn $method(&self $(, $arg: $arg_type)*) -> $output {
                    match self {
                        $crate::store::AnyStore::Postgres(store) => {
                            store.$method($($arg),*).await
                        }
                        $crate::store::AnyStore::Sqlite(store) => {
                            store.$method($($arg),*).await
                        }
                    }
                }
            )*
        }
    };
}

mod access;
mod any;
mod audit;
mod calendars;
mod codec;
mod dialect;
mod handlers;
mod jobs;
mod nodes;
mod outbox;
pub mod postgres;
mod queue;
mod runs;
mod schema;
mod sql;
pub mod sqlite;
mod tenants;
mod views;

pub use access::AccessStore;
pub use any::{AnyStore, Backend};
pub use audit::AuditLog;
pub use calendars::{CalendarStore, CalendarVersion};
pub use handlers::HandlerStore;
pub use jobs::{
    BulkJobAction, BulkJobChange, JobFilter, JobSelection, JobState, JobStore, AUTO_DISABLED_REASON,
};
pub use nodes::{NodeHealth, NodeInfo, NodeStore};
pub use outbox::OutboxStore;
pub use postgres::PgStore;
pub use queue::{ClaimedRun, RunQueue, RunResult, TickReport};
pub use runs::{BackfillReport, RunFilter, RunStore};
pub use schema::{SchemaStatus, SchemaStore};
pub use sqlite::SqliteStore;
pub use tenants::{TenantSettings, TenantSettingsUpdate, TenantStore, TenantUpdate};
pub use views::{
    ConsoleViews, CursorKey, JobCursor, JobFilters, JobPage, JobQuery, JobSort, JobStateFilter,
    TenantOverview,
};

/// Everything Rota keeps: every concern's trait. Every method that writes takes `now` from the
/// caller's clock, and every method that changes something takes the `operator` to record in
/// the audit log, writing the entry in the same transaction as the change (see
/// [`crate::audit`]).
pub trait Store:
    SchemaStore
    + TenantStore
    + HandlerStore
    + JobStore
    + RunStore
    + RunQueue
    + NodeStore
    + OutboxStore
    + ConsoleViews
    + AuditLog
    + AccessStore
    + CalendarStore
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: SchemaStore
        + TenantStore
        + HandlerStore
        + JobStore
        + RunStore
        + RunQueue
        + NodeStore
        + OutboxStore
        + ConsoleViews
        + AuditLog
        + AccessStore
        + CalendarStore
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// The statements of the claim's choice of tenants, for the test that pins it
/// (`tests/claim_choice.rs`): what each backend runs, and the walk in claim order that it must
/// always agree with. Not an interface.
#[doc(hidden)]
pub mod claim_choice {
    pub use super::sql::postgres::{
        LOCK_ELIGIBLE_TENANTS as POSTGRES, LOCK_ELIGIBLE_TENANTS_BY_WALK as POSTGRES_BY_WALK,
    };
    pub use super::sql::sqlite::{
        ELIGIBLE_TENANTS as SQLITE, ELIGIBLE_TENANTS_BY_WALK as SQLITE_BY_WALK,
    };
}

/// Statements whose plans a test pins (`tests/console_views.rs`). Not an interface.
#[doc(hidden)]
pub mod pinned_plans {
    pub use super::sql::TENANT_OVERVIEW;
}

/// Every concern's trait, for calling store methods on a concrete store (`use
/// rota::store::prelude::*`).
pub mod prelude {
    pub use super::{
        AccessStore, AuditLog, CalendarStore, ConsoleViews, HandlerStore, JobStore, NodeStore,
        OutboxStore, RunQueue, RunStore, SchemaStore, Store, TenantStore,
    };
}
