//! One engine per SQLite file: whichever process starts an engine on a local database first
//! (`rota serve`, the user service, the console's Local mode) holds an exclusive lock on
//! `<file>.engine-lock` for as long as its engine runs, and every other engine on that file
//! refuses to start, naming the holder. Postgres is the team's database, where any number of
//! nodes share the work through leases, so it has no such lock.
//!
//! Why a lock file rather than a row: the kernel releases a `flock` when its process ends,
//! however it ends (SIGKILL included), so a crashed engine never blocks the next one, and a
//! second process learns at once that the first still runs, without waiting for a lease to
//! expire. The leases still decide who executes a run; the lock only keeps a second engine (a
//! console opened while the service runs, a `rota serve` started twice) from starting at all.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// The lock held while an engine runs on a SQLite file; dropping it releases the lock.
#[derive(Debug)]
pub struct EngineLock {
    _lock: Flock<File>,
    path: PathBuf,
}

impl EngineLock {
    /// The lock file (`<database file>.engine-lock`).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Another engine holds the lock: what it wrote about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineHolder {
    /// The lock file.
    pub lock_file: PathBuf,
    /// `pid 1234, node host-1234`, as the holder wrote it (empty if it has not yet).
    pub description: String,
}

impl std::fmt::Display for EngineHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.description.is_empty() {
            write!(f, "another process (it holds {})", self.lock_file.display())
        } else {
            write!(f, "{} (it holds {})", self.description, self.lock_file.display())
        }
    }
}

/// The lock file of the database at `file`.
pub fn lock_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".engine-lock");
    PathBuf::from(name)
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        crate::private_files::create_dir(dir)?;
    }
    // Never truncated on opening: the holder's description is what others read.
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// How long [`acquire`] tries again while the lock is held by someone who has not written a
/// description: a [`holder`] probe holds it for microseconds, and a new engine writes its
/// description right after taking it. About a second, counted in attempts [`PROBE_PAUSE`] apart
/// rather than read from a clock: only `src/clock.rs` reads the wall clock
/// (tests/architecture.rs).
const PROBE_ATTEMPTS: u32 = 200;
const PROBE_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// Takes the lock for an engine on the SQLite file `file`, writing `description` (the process
/// and node) into it for whoever finds it held. `Ok(Err(holder))` when another engine holds it.
pub fn acquire(
    file: &Path,
    description: &str,
) -> std::io::Result<Result<EngineLock, EngineHolder>> {
    let path = lock_path(file);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match try_lock(&path)? {
            Ok(mut lock) => {
                lock.set_len(0)?;
                lock.write_all(description.as_bytes())?;
                lock.flush()?;
                return Ok(Ok(EngineLock { _lock: lock, path }));
            }
            Err(holder) if holder.description.is_empty() && attempts < PROBE_ATTEMPTS => {
                std::thread::sleep(PROBE_PAUSE);
            }
            Err(holder) => return Ok(Err(holder)),
        }
    }
}

/// Takes the lock without writing anything, or reads who holds it.
fn try_lock(path: &Path) -> std::io::Result<Result<Flock<File>, EngineHolder>> {
    match Flock::lock(open(path)?, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(Ok(lock)),
        Err((mut handle, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut description = String::new();
            // What the holder wrote; a partial read only shortens the message.
            handle.rewind()?;
            let _ = handle.read_to_string(&mut description);
            let description = description.trim().to_owned();
            Ok(Err(EngineHolder { lock_file: path.to_owned(), description }))
        }
        Err((_, errno)) => Err(std::io::Error::from(errno)),
    }
}

/// Who holds the engine lock of the SQLite file `file`, if anyone. (A front end asks before deciding whether to start its own engine;
/// [`acquire`] still decides.)
pub fn holder(file: &Path) -> std::io::Result<Option<EngineHolder>> {
    if !lock_path(file).exists() {
        return Ok(None);
    }
    // A free lock is taken and let go at once, without writing: the file keeps the last
    // holder's description until the next one writes its own.
    Ok(try_lock(&lock_path(file))?.err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_file_names_the_first_holder_until_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rota.sqlite");
        assert_eq!(holder(&file).unwrap(), None);
        let first = acquire(&file, "pid 1, node a").unwrap().expect("free");
        let held = acquire(&file, "pid 2, node b").unwrap().expect_err("held");
        assert_eq!(held.description, "pid 1, node a");
        assert!(held.to_string().contains("rota.sqlite.engine-lock"), "{held}");
        assert_eq!(
            holder(&file).unwrap().map(|holder| holder.description).as_deref(),
            Some("pid 1, node a")
        );
        drop(first);
        assert_eq!(holder(&file).unwrap(), None);
        let again = acquire(&file, "pid 3, node c").unwrap().expect("free again");
        assert_eq!(std::fs::read_to_string(again.path()).unwrap(), "pid 3, node c");
    }
}
