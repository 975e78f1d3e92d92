//! Files that hold secrets, readable by their owner only: the SQLite database (with its `-wal`
//! and `-shm`, which hold recent pages: tenants' signing secrets, handlers' headers) and the
//! console's settings.
//!
//! Rota creates such files `0600` and the folders it creates for them `0700`, whatever the
//! umask: the mode is set explicitly after creation (a umask can only remove bits, and a
//! restrictive one would leave a file its owner cannot write). A file that exists with bits for
//! the group or others is tightened to `0600`, with a warning; so is a folder Rota owns (its
//! default data and configuration folders) that exists with such bits. A folder the user chose
//! for a database and that existed already (`/srv/rota`, `/tmp`) is left as it is: it may be
//! shared on purpose.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of every file Rota keeps secrets in.
pub const FILE_MODE: u32 = 0o600;
/// The mode of the folders Rota creates for them.
pub const DIR_MODE: u32 = 0o700;

/// Bits that let someone other than the owner in.
const OTHERS: u32 = 0o077;

/// Creates `dir` and its missing ancestors, each `0700`. Existing ones are left alone.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|path| !path.exists()).collect();
    for path in missing.into_iter().rev() {
        if path.as_os_str().is_empty() {
            continue;
        }
        match fs::create_dir(path) {
            Ok(()) => fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE))?,
            // Another process made it in between: it is not ours to change.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Creates `dir` like [`create_dir`] and, when it existed with bits for the group or others,
/// tightens it to `0700` with a warning: for folders that belong to Rota (its default data
/// folder, the console's configuration folder).
pub fn own_dir(dir: &Path) -> io::Result<()> {
    create_dir(dir)?;
    tighten(dir, DIR_MODE, "folder")
}

/// Creates `file` empty and `0600` if it does not exist; tightens it to `0600`, with a warning,
/// if it exists with bits for the group or others.
pub fn create_file(file: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(file) {
        Ok(_) => fs::set_permissions(file, fs::Permissions::from_mode(FILE_MODE)),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => tighten_file(file),
        Err(error) => Err(error),
    }
}

/// Tightens `file` to `0600`, with a warning, if it exists with bits for the group or others.
/// A missing file is fine.
pub fn tighten_file(file: &Path) -> io::Result<()> {
    tighten(file, FILE_MODE, "file")
}

/// Writes `contents` to `file` through a temporary file created `0600` and renamed over it, so
/// that the file is never readable by others, not even for a moment.
pub fn write_file(file: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut temporary_name = file.as_os_str().to_owned();
    temporary_name.push(".tmp");
    let temporary = Path::new(&temporary_name);
    let mut handle = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(temporary)?;
    // An older temporary file keeps its mode through `create`: set it.
    fs::set_permissions(temporary, fs::Permissions::from_mode(FILE_MODE))?;
    handle.write_all(contents)?;
    handle.sync_all()?;
    fs::rename(temporary, file)
}

fn tighten(path: &Path, mode: u32, what: &str) -> io::Result<()> {
    // Never through a symbolic link: the link's target is not the file Rota made.
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    if metadata.file_type().is_symlink() {
        return Ok(());
    }
    let current = metadata.permissions().mode() & 0o7777;
    if current & OTHERS == 0 {
        return Ok(());
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    tracing::warn!(
        path = %path.display(),
        was = %format!("{current:04o}"),
        now = %format!("{mode:04o}"),
        "the {what} holds secrets and was open to other users; tightened"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn files_and_folders_are_created_private_and_loose_ones_tightened() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&root.path().join("a")), DIR_MODE);
        assert_eq!(mode(&dir), DIR_MODE);
        let file = dir.join("x.sqlite");
        create_file(&file).unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        create_file(&file).unwrap();
        assert_eq!(mode(&file), FILE_MODE);
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        own_dir(&dir).unwrap();
        assert_eq!(mode(&dir), DIR_MODE);
        write_file(&dir.join("settings.json"), b"{}").unwrap();
        assert_eq!(mode(&dir.join("settings.json")), FILE_MODE);
    }
}
