//! SQLite under faults a workstation really has: the disk fills up, and later has room again.
//! The store must heal by itself (no poisoned connection), without a restart.
//!
//! The disk is a real, small tmpfs mounted for the test, which needs root (CI runs as root);
//! elsewhere the test says it skipped, unless `CI` is set, where it fails.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rota::handler::HandlerSpec;
use rota::job::JobDefinition;
use rota::policy::JobPolicy;
use rota::store::prelude::*;
use rota::store::AnyStore;
use rota::tenant::NewTenant;

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|status| status.success());
        if mounted {
            return Some(SmallDisk { dir });
        }
        assert!(
            !support::postgres_required(),
            "CI runs as root and must be able to mount a small tmpfs for the full-disk test"
        );
        eprintln!("SKIPPED: cannot mount a tmpfs (not root?)");
        None
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// Fills the disk to the last byte with a file; returns its path.
fn fill(disk: &Path) -> PathBuf {
    let path = disk.join("filler");
    let mut file = std::fs::File::create(&path).expect("filler");
    let block = vec![0u8; 4096];
    while file.write_all(&block).is_ok() {}
    let _ = file.write_all(&[0u8; 1]);
    let _ = file.sync_all();
    path
}

fn at(second: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap()
}

fn definition(name: &str) -> JobDefinition {
    JobDefinition {
        name: name.to_owned(),
        schedule: "* * * * *".to_owned(),
        timezone: "UTC".to_owned(),
        handler: HandlerSpec::Named { name: "reports.daily".to_owned() },
        // A large payload, so that a few writes need more room than the disk has.
        payload: serde_json::json!({ "padding": "x".repeat(64 * 1024) }),
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn a_full_disk_once_freed_heals_without_a_restart() {
    let Some(disk) = SmallDisk::mount("4m") else { return };
    let url = format!("sqlite://{}", disk.path().join("rota.sqlite").display());
    let store = AnyStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let tenant =
        store.create_tenant(&NewTenant::named("acme"), "test", at(0)).await.expect("tenant");

    let filler = fill(disk.path());
    let mut failures = 0;
    let mut last_error = String::new();
    for n in 0..200 {
        let created = store
            .create_job(
                tenant.id,
                &definition(&format!("job-{n}")),
                &JobPolicy::default(),
                None,
                "test",
                at(n),
            )
            .await;
        if let Err(error) = created {
            failures += 1;
            last_error = error.to_string();
            if failures >= 5 {
                break;
            }
        }
    }
    assert!(failures > 0, "the disk never filled up");
    eprintln!("while full: {last_error}");

    std::fs::remove_file(&filler).expect("free the disk");
    // Room again: writes succeed within a few tries, on the same store.
    let mut healed = None;
    for attempt in 0..20 {
        match store
            .create_job(
                tenant.id,
                &definition(&format!("after-{attempt}")),
                &JobPolicy::default(),
                None,
                "test",
                at(1000 + attempt),
            )
            .await
        {
            Ok(job) => {
                healed = Some(job);
                break;
            }
            Err(error) => {
                last_error = error.to_string();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    assert!(healed.is_some(), "writes still fail after the disk was freed: {last_error}");
    // And reads see it.
    let listed = store.list_jobs(&Default::default()).await.expect("list");
    assert!(listed.iter().any(|job| job.name.starts_with("after-")));
    store.close().await;
}

/// Another process holds the database's write lock longer than the busy timeout: writes fail
/// meanwhile (with "database is locked"), and succeed again on the same store once it lets go.
#[tokio::test]
async fn a_write_lock_held_elsewhere_past_the_busy_timeout_heals_once_released() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rota.sqlite");
    let url = format!("sqlite://{}", path.display());
    let store = AnyStore::connect(&url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let tenant =
        store.create_tenant(&NewTenant::named("acme"), "test", at(0)).await.expect("tenant");

    let mut other = sqlx::SqliteConnection::connect(&url).await.expect("another connection");
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut other).await.expect("take the write lock");
    let blocked = store
        .create_job(tenant.id, &definition("blocked"), &JobPolicy::default(), None, "test", at(1))
        .await;
    let error = blocked.expect_err("the write waits out the busy timeout, then fails");
    assert!(error.is_connection_problem(), "a locked database is transient: {error}");
    sqlx::query("ROLLBACK").execute(&mut other).await.expect("let go");
    other.close().await.expect("close");

    store
        .create_job(tenant.id, &definition("after"), &JobPolicy::default(), None, "test", at(2))
        .await
        .expect("writes work again on the same store");
    store.close().await;
}
