//! Schemas older and newer than the binary, through the real `rota` binary, on both backends:
//! only `rota migrate` (and `rota serve --migrate`) change the schema; an older schema is
//! refused with a message that says to run `rota migrate`; a newer one (a newer binary migrated
//! it during a rolling upgrade) keeps working. And every migration from 0008 on is additive, so
//! that last promise holds (a SQLite table rebuilt under its own name, with its columns, to
//! change a `CHECK`, counts as additive).

mod support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{migrate_up_to, Backend, TestDatabase};

const ROTA: &str = env!("CARGO_BIN_EXE_rota");

fn rota(url: &str, args: &[&str]) -> Output {
    Command::new(ROTA).arg("--database").arg(url).args(args).output().expect("run rota")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `rota serve` on `url` is still running after two seconds (it started and serves), and stops
/// cleanly on SIGTERM.
fn serves(url: &str, extra: &[&str]) -> Result<(), String> {
    let logs = tempfile::NamedTempFile::new().expect("log file");
    let mut serve = Command::new(ROTA)
        .arg("--database")
        .arg(url)
        .args(["serve", "--wait-for-database", "0", "--shutdown-grace", "2"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(logs.reopen().expect("log"))
        .spawn()
        .expect("rota serve");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(2) {
        if let Some(status) = serve.try_wait().expect("wait") {
            let log = std::fs::read_to_string(logs.path()).unwrap_or_default();
            return Err(format!("rota serve exited with {status}: {log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").arg("-TERM").arg(serve.id().to_string()).status();
    let status = serve.wait().expect("wait");
    if !status.success() {
        let log = std::fs::read_to_string(logs.path()).unwrap_or_default();
        return Err(format!("rota serve exited with {status} on SIGTERM: {log}"));
    }
    Ok(())
}

async fn an_older_schema_is_refused_until_rota_migrate(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    migrate_up_to(&db, 7).await;

    let listed = rota(&db.url, &["job", "list"]);
    assert!(!listed.status.success(), "a command on an older schema must fail");
    assert!(stderr(&listed).contains("rota migrate"), "{}", stderr(&listed));
    // Nothing changed: the command did not migrate.
    let listed_again = rota(&db.url, &["job", "list"]);
    assert!(!listed_again.status.success());
    let refused = serves(&db.url, &[]).expect_err("serve refuses an older schema");
    assert!(refused.contains("rota migrate"), "{refused}");

    let migrated = rota(&db.url, &["migrate"]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let listed = rota(&db.url, &["job", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_schema_is_refused_until_rota_migrate_sqlite() {
    an_older_schema_is_refused_until_rota_migrate(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_schema_is_refused_until_rota_migrate_postgres() {
    an_older_schema_is_refused_until_rota_migrate(Backend::Postgres).await;
}

async fn serve_migrate_applies_what_is_missing(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    migrate_up_to(&db, 7).await;
    serves(&db.url, &["--migrate"]).expect("serve --migrate migrates and serves");
    let listed = rota(&db.url, &["job", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_migrate_applies_what_is_missing_sqlite() {
    serve_migrate_applies_what_is_missing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_migrate_applies_what_is_missing_postgres() {
    serve_migrate_applies_what_is_missing(Backend::Postgres).await;
}

/// Before: every command applied migrations, and sqlx refused a database with a migration the
/// binary did not know ("migration 9999 was previously applied but is missing").
async fn a_newer_schema_still_serves_and_lists(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    let migrated = rota(&db.url, &["migrate"]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    // A migration from the future, as a newer binary records it.
    with_connection!(db, |connection| {
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
             execution_time) VALUES ($1, $2, TRUE, $3, 1)",
        )
        .bind(9999_i64)
        .bind("added by a newer rota")
        .bind(vec![0_u8; 48])
        .execute(&mut connection)
        .await
        .expect("record a future migration");
    });
    let added = rota(&db.url, &["tenant", "add", "acme"]);
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(stderr(&added).contains("newer rota"), "a warning says so: {}", stderr(&added));
    let listed = rota(&db.url, &["tenant", "list"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(String::from_utf8_lossy(&listed.stdout).contains("acme"));
    let again = rota(&db.url, &["migrate"]);
    assert!(
        again.status.success(),
        "rota migrate leaves newer migrations alone: {}",
        stderr(&again)
    );
    serves(&db.url, &[]).expect("an older binary keeps serving a newer schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_still_serves_and_lists_sqlite() {
    a_newer_schema_still_serves_and_lists(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_still_serves_and_lists_postgres() {
    a_newer_schema_still_serves_and_lists(Backend::Postgres).await;
}

/// The migrations before the rule (0001 to 0007) predate it: 0002 rebuilt SQLite's `runs` table.
const FIRST_ADDITIVE_MIGRATION: u32 = 8;

/// What an older binary cannot survive: a table or column it uses going away, renamed, or
/// changing type.
const NOT_ADDITIVE: [&str; 5] = ["DROP TABLE", "DROP COLUMN", "RENAME", "ALTER COLUMN", "TRUNCATE"];

/// Statements that match [`NOT_ADDITIVE`] but that an older binary survives, each allowed by its
/// whole normalised text and said why where it is written. 0016: `runs.job_id` may be NULL (a
/// test run, which only a newer binary makes; older binaries read runs joined to jobs).
const ALLOWED_RELAXATIONS: [&str; 1] = ["ALTER TABLE RUNS ALTER COLUMN JOB_ID DROP NOT NULL;"];

#[test]
fn migrations_are_additive_only() {
    let mut offenders = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let dir = support::migrations_dir(backend);
        for entry in std::fs::read_dir(dir).expect("migrations folder") {
            let path = entry.expect("entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let version: u32 = name.split('_').next().and_then(|n| n.parse().ok()).unwrap_or(0);
            if version < FIRST_ADDITIVE_MIGRATION {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read migration");
            let rebuilt = same_name_rebuilds(&text);
            for (number, line) in text.lines().enumerate() {
                // Comments may say anything.
                let code = line.split("--").next().unwrap_or("").to_uppercase();
                let code = code.split_whitespace().collect::<Vec<_>>().join(" ");
                if rebuilt.iter().any(|table| rebuild_statement(&code, table))
                    || ALLOWED_RELAXATIONS.contains(&code.as_str())
                {
                    continue;
                }
                for phrase in NOT_ADDITIVE {
                    if code.contains(phrase) {
                        offenders.push(format!(
                            "{}:{}: {phrase}: {}",
                            path.display(),
                            number + 1,
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "migrations must be additive within a major version (new tables, nullable or defaulted \
         columns, indexes), so older binaries keep working during a rolling upgrade:\n{}",
        offenders.join("\n")
    );
}

/// The tables a SQLite migration rebuilds under their own name (the only way to change a
/// `CHECK` there): `CREATE TABLE t_rebuilt`, copy, `DROP TABLE t`, `ALTER TABLE t_rebuilt RENAME
/// TO t`, in one transaction. An older binary sees the same table, with the same columns
/// (`tests/store_suite.rs` compares them with Postgres's, which changes its `CHECK` in place).
fn same_name_rebuilds(text: &str) -> Vec<String> {
    let code: String = text
        .lines()
        .map(|line| line.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    let words: Vec<&str> = code.split_whitespace().collect();
    words
        .windows(6)
        .filter_map(|w| match w {
            ["ALTER", "TABLE", from, "RENAME", "TO", to]
                if from.strip_suffix("_REBUILT") == Some(to.trim_end_matches(';')) =>
            {
                Some(to.trim_end_matches(';').to_owned())
            }
            _ => None,
        })
        .filter(|table| code.contains(&format!("CREATE TABLE {table}_REBUILT")))
        .collect()
}

/// Whether a normalised line is one of the two steps of rebuilding `table` under its name.
fn rebuild_statement(code: &str, table: &str) -> bool {
    code == format!("DROP TABLE {table};")
        || code == format!("ALTER TABLE {table}_REBUILT RENAME TO {table};")
}

#[test]
fn the_additive_check_allows_only_a_rebuild_under_the_same_name() {
    let rebuild = "CREATE TABLE audit_log_rebuilt (id BLOB);\nINSERT INTO audit_log_rebuilt \
                   SELECT id FROM audit_log;\nDROP TABLE audit_log;\n\
                   ALTER TABLE audit_log_rebuilt RENAME TO audit_log;\n";
    assert_eq!(same_name_rebuilds(rebuild), ["AUDIT_LOG"]);
    // Renamed to another name, or a rebuild that never made the new table: no exception.
    assert!(same_name_rebuilds(&rebuild.replace("RENAME TO audit_log", "RENAME TO log")).is_empty());
    assert!(same_name_rebuilds(
        "DROP TABLE audit_log;\nALTER TABLE audit_log_rebuilt RENAME TO audit_log;\n"
    )
    .is_empty());
    // Only the rebuild's own statements pass: dropping another table is still caught.
    assert!(rebuild_statement("DROP TABLE AUDIT_LOG;", "AUDIT_LOG"));
    assert!(!rebuild_statement("DROP TABLE RUNS;", "AUDIT_LOG"));
}

#[test]
fn the_additive_check_catches_what_it_should() {
    // The check's own oracle: each phrase, as a migration would write it, is caught.
    for statement in [
        "drop table runs;",
        "ALTER TABLE jobs DROP COLUMN payload;",
        "alter table runs rename to old_runs;",
        "ALTER TABLE jobs ALTER COLUMN name TYPE VARCHAR(10);",
        "truncate outbox;",
    ] {
        let code = statement.to_uppercase();
        let code = code.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(NOT_ADDITIVE.iter().any(|phrase| code.contains(phrase)), "{statement}");
    }
}
