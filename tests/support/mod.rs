//! Shared by the integration tests: a fresh database per test on SQLite or Postgres.
//!
//! Postgres is the server on 127.0.0.1:5432 (`ROTA_TEST_POSTGRES_URL` overrides the admin URL).
//! Each test gets its own database, dropped when the guard is dropped. When the server does not
//! answer, tests skip with a notice, unless `CI` or `ROTA_REQUIRE_POSTGRES` is set: then they fail.
#![allow(dead_code)] // Each test binary uses a different part of this module.

pub mod fault_proxy;
pub mod receiver;
pub mod serve_node;

use rota::store::prelude::*;
use rota::store::AnyStore;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    // Keeps the SQLite directory alive; deleted on drop.
    _dir: Option<tempfile::TempDir>,
    postgres_name: Option<String>,
}

pub fn admin_url() -> String {
    std::env::var("ROTA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

pub fn postgres_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("ROTA_REQUIRE_POSTGRES").is_some()
}

impl TestDatabase {
    /// Who a change made as `operator` is recorded as made by in `jobs.enabled_by` and events:
    /// the operator on SQLite (single-user), the database role on Postgres (the user of this
    /// database's URL), whatever the client says.
    #[allow(dead_code)]
    pub fn recorded_as(&self, operator: &str) -> String {
        match self.backend {
            Backend::Sqlite => operator.to_owned(),
            Backend::Postgres => {
                let (_, rest) = self.url.split_once("://").expect("a URL");
                let (user, _) = rest.split_once('@').expect("the URL names a user");
                user.split(':').next().unwrap_or(user).to_owned()
            }
        }
    }

    /// A fresh database, or `None` when Postgres is unavailable and not required.
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("rota.sqlite").display());
                Some(TestDatabase { url, backend, _dir: Some(dir), postgres_name: None })
            }
            Backend::Postgres => {
                let admin = admin_url();
                let pool = match sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(std::time::Duration::from_secs(5))
                    .connect(&admin)
                    .await
                {
                    Ok(pool) => pool,
                    Err(error) if !postgres_required() => {
                        eprintln!("SKIPPED: Postgres at {admin} is unavailable ({error}); set CI=1 to fail instead");
                        return None;
                    }
                    Err(error) => {
                        panic!("Postgres at {admin} is required (CI) but unavailable: {error}")
                    }
                };
                let name = format!("rota_test_{}", uuid::Uuid::new_v4().simple());
                // Identifiers cannot be bound as parameters; the name is generated above, never input.
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&pool)
                    .await
                    .expect("create database");
                pool.close().await;
                let (base, _) = admin.rsplit_once('/').expect("admin URL names a database");
                Some(TestDatabase {
                    url: format!("{base}/{name}"),
                    backend,
                    _dir: None,
                    postgres_name: Some(name),
                })
            }
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> AnyStore {
        let store = AnyStore::connect(&self.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else { return };
        // Drop runs outside async context (or inside a runtime that is shutting down): use a
        // private runtime on a plain thread.
        let admin = admin_url();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    if let Ok(pool) = sqlx::postgres::PgPoolOptions::new()
                        .max_connections(1)
                        .connect(&admin)
                        .await
                    {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&pool)
                                .await;
                        let _ = sqlx::query(&drop_roles_statement(&name)).execute(&pool).await;
                        pool.close().await;
                    }
                });
            }
        })
        .join();
    }
}

/// Drops the roles of test database `name` once the database is gone: the admin and member
/// groups its migrations create (`<name>_admin`, `<name>_member`) and the login roles a test
/// made (named with `name` in them). Roles are cluster-wide, so they outlive the database.
/// Identifiers cannot be bound; `name` is generated, never input.
pub fn drop_roles_statement(name: &str) -> String {
    format!(
        "DO $$ DECLARE r record; BEGIN \
         FOR r IN SELECT rolname FROM pg_roles WHERE strpos(rolname, '{name}') > 0 LOOP \
         EXECUTE format('DROP ROLE IF EXISTS %I', r.rolname); END LOOP; END $$"
    )
}

/// Runs a test body once per backend, as two test functions `<name>_sqlite` and `<name>_postgres`.
#[macro_export]
macro_rules! backend_test {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            use super::*;

            async fn body($db: $crate::support::TestDatabase) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let db = $crate::support::TestDatabase::create($crate::support::Backend::Sqlite).await.unwrap();
                body(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(db) = $crate::support::TestDatabase::create($crate::support::Backend::Postgres).await {
                    body(db).await;
                }
            }
        }
    };
}

/// Runs `$body` with `$connection` a raw connection to `$db`, typed for its backend (the body
/// is compiled once per backend).
#[macro_export]
macro_rules! with_connection {
    ($db:expr, |$connection:ident| $body:expr) => {
        match $db.backend {
            $crate::support::Backend::Sqlite => {
                let mut $connection = <sqlx::SqliteConnection as sqlx::Connection>::connect(
                    &format!("{}?mode=rwc", $db.url),
                )
                .await
                .expect("connect");
                $body
            }
            $crate::support::Backend::Postgres => {
                let mut $connection = <sqlx::PgConnection as sqlx::Connection>::connect(&$db.url)
                    .await
                    .expect("connect");
                $body
            }
        }
    };
}

pub fn migrations_dir(backend: Backend) -> &'static std::path::Path {
    match backend {
        Backend::Sqlite => {
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        }
        Backend::Postgres => {
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        }
    }
}

/// The database's migrations up to and including `version`, applied the way Rota applies them.
pub async fn migrate_up_to(db: &TestDatabase, version: i64) {
    let mut migrator =
        sqlx::migrate::Migrator::new(migrations_dir(db.backend)).await.expect("read migrations");
    migrator.migrations =
        migrator.migrations.iter().filter(|m| m.version <= version).cloned().collect();
    with_connection!(db, |connection| migrator.run(&mut connection).await.expect("migrate"));
}

/// Runs the `rota` CLI on `url` and fails the test, with its error output, if it fails.
pub fn rota_ok(url: &str, args: &[&str]) -> std::process::Output {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rota"))
        .arg("--database")
        .arg(url)
        .args(args)
        .output()
        .expect("run rota");
    assert!(output.status.success(), "rota {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The host and port a `postgres://` URL points at (for the fault proxy).
pub fn socket_address(url: &str) -> std::net::SocketAddr {
    use std::net::{SocketAddr, ToSocketAddrs};
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host_port =
        if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
    host_port.to_socket_addrs().unwrap().find(SocketAddr::is_ipv4).unwrap()
}
