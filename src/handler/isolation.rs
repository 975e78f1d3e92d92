//! Command isolation: what a command handler's process may see and use.
//!
//! Every command starts with:
//! - a **cleared environment**: only the variables named by [`CommandPolicy::env_allow`] are
//!   passed through from the daemon (by default [`DEFAULT_ENV_ALLOW`]: `PATH`, `HOME`, `LANG`,
//!   `LC_ALL`, `TZ`, `TMPDIR`, `USER`, `LOGNAME`), then the job's own variables, then the
//!   `ROTA_*` variables describing the run. `PATH` falls back to [`DEFAULT_PATH`] when the daemon
//!   has none; a run-as user gets its own `HOME`, `USER` and `LOGNAME`.
//! - a **working directory per tenant**: the job's `working_dir` if it sets one, else the
//!   tenant's (`rota tenant set --work-dir`), else `<work root>/<tenant>` under
//!   [`CommandPolicy::work_root`], created on demand (mode 0700, owned by the run-as user).
//! - **resource limits** ([`CommandLimits`]): CPU seconds, address space, open files and number
//!   of processes, each taken from the job, else the tenant's defaults, else the policy's.
//! - an optional **run-as user** (the job's `run_as`, else the tenant's), when Rota runs as
//!   root.
//!
//! Limits and the user switch are applied by re-executing the `rota` binary (`rota __exec`,
//! [`exec_main`]) rather than in a `pre_exec` hook, which would need `unsafe` code: the wrapper
//! sets its own limits with `setrlimit`, drops privileges (`initgroups`, `setgid`, `setuid`) and
//! replaces itself with the job's program (`execve`). The wrapper starts with an empty
//! environment and reads the program's ahead of its stdin ([`env_block`]), so nothing of the
//! job's (a `LD_PRELOAD`, say) reaches the loader of a process that still has root's rights.
//!
//! Who a command may run as: a job's `run_as` must be its tenant's, if the tenant has one (a
//! ceiling); and unless [`CommandPolicy::allow_root_jobs`], a command that would run as root
//! fails. A working directory is created by Rota (and only then given to the run-as user,
//! without following links), or else must already belong to the user the command runs as. The limits survive `exec` and are inherited
//! by everything the job starts. The executor needs the wrapper's path
//! ([`CommandPolicy::exec_wrapper`]); `rota serve` uses its own executable. Commands that need
//! neither limits nor a user switch start directly.
//!
//! How each limit behaves, and how a run that hits it is reported:
//! - `cpu_seconds` (`RLIMIT_CPU`, per process): SIGXCPU at the limit, SIGKILL one second later;
//!   "CPU time limit (10 s) exceeded".
//! - `address_space_bytes` (`RLIMIT_AS`, per process): allocations beyond it fail; the program
//!   usually reports "out of memory" or aborts; "address-space limit (256 MiB) exceeded" when
//!   the exit and the output show it (best effort).
//! - `open_files` (`RLIMIT_NOFILE`, per process): `EMFILE`; "open-files limit (64) exceeded"
//!   when the output shows "Too many open files".
//! - `processes` (`RLIMIT_NPROC`): counts **every process of the job's real user**, so it bounds
//!   a fork bomb only when the job runs as its own user (`run_as`, ideally one user per
//!   tenant). The kernel does not apply it to root, and for a user shared with the daemon it
//!   would count the daemon's threads too. A fork bomb is in any case stopped by the job's
//!   timeout, which kills the whole process group. "process limit (32) reached" when the
//!   output shows a failed `fork`.

use std::ffi::{CString, OsString};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::signature::SigningSecret;

/// Variables passed through from the daemon's environment unless the policy says otherwise.
pub const DEFAULT_ENV_ALLOW: [&str; 8] =
    ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME"];

/// `PATH` for commands when the daemon has none.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// The hidden subcommand of the `rota` binary that applies limits and switches user.
pub const EXEC_SUBCOMMAND: &str = "__exec";

/// How the wrapper's own error lines start on stderr, so the executor can tell a failed start
/// from the program's own output.
pub(crate) const WRAPPER_PREFIX: &str = "rota __exec: ";

/// Exit status of the wrapper when the program does not exist (as a shell's).
const EXIT_NOT_FOUND: u8 = 127;
/// Exit status of the wrapper when it could not set up or start the program.
const EXIT_CANNOT_START: u8 = 126;

/// Resource limits for a command's processes. An unset limit is taken from the tenant's
/// defaults, then the daemon's; unset everywhere means no limit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandLimits {
    /// CPU time of each process, in seconds (`RLIMIT_CPU`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<u64>,
    /// Virtual memory of each process, in bytes (`RLIMIT_AS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_space_bytes: Option<u64>,
    /// Open file descriptors of each process (`RLIMIT_NOFILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_files: Option<u64>,
    /// Processes of the job's user (`RLIMIT_NPROC`); see the module documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<u64>,
}

/// Bounds people may set, to catch typos (`--address-space 64` meant as megabytes).
const MIN_ADDRESS_SPACE: u64 = 16 * 1024 * 1024;
const MAX_CPU_SECONDS: u64 = 7 * 24 * 3600;
const MIN_OPEN_FILES: u64 = 8;
const MAX_OPEN_FILES: u64 = 1 << 20;
const MAX_PROCESSES: u64 = 1 << 22;

impl CommandLimits {
    pub fn is_empty(&self) -> bool {
        self == &CommandLimits::default()
    }

    /// These limits, with each unset one taken from `defaults`.
    pub fn or(&self, defaults: &CommandLimits) -> CommandLimits {
        CommandLimits {
            cpu_seconds: self.cpu_seconds.or(defaults.cpu_seconds),
            address_space_bytes: self.address_space_bytes.or(defaults.address_space_bytes),
            open_files: self.open_files.or(defaults.open_files),
            processes: self.processes.or(defaults.processes),
        }
    }

    /// Checks each set limit against its allowed range; the error names the limit.
    pub fn validate(&self) -> Result<(), super::HandlerSpecError> {
        let check = |name: &'static str, value: Option<u64>, low: u64, high: u64| match value {
            Some(value) if value < low || value > high => {
                Err(super::HandlerSpecError::InvalidLimit {
                    name,
                    value,
                    allowed: format!("{low}-{high}"),
                })
            }
            _ => Ok(()),
        };
        check("cpu_seconds", self.cpu_seconds, 1, MAX_CPU_SECONDS)?;
        check("address_space_bytes", self.address_space_bytes, MIN_ADDRESS_SPACE, u64::MAX / 2)?;
        check("open_files", self.open_files, MIN_OPEN_FILES, MAX_OPEN_FILES)?;
        check("processes", self.processes, 1, MAX_PROCESSES)
    }
}

/// What the executor needs to know about the tenant of a run: its signing secret and the
/// defaults for its commands. The engine gets it with each claimed run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunContext {
    /// Signs the tenant's HTTP requests (`Rota-Signature`) when set.
    pub signing_secret: Option<SigningSecret>,
    /// Defaults for the limits a job does not set.
    pub limits: CommandLimits,
    /// Default run-as user of the tenant's commands.
    pub run_as: Option<String>,
    /// The tenant's working directory, instead of `<work root>/<tenant>`.
    pub work_dir: Option<PathBuf>,
}

/// How the executor isolates every command, whoever it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct CommandPolicy {
    /// Variables passed through from the daemon's environment.
    pub env_allow: Vec<String>,
    /// Tenants' working directories are `<work_root>/<tenant>`; unset: commands without a
    /// working directory of their own run in the daemon's.
    pub work_root: Option<PathBuf>,
    /// Limits for every command, under the job's and the tenant's.
    pub default_limits: CommandLimits,
    /// The `rota` binary that applies limits and switches user (`rota __exec`). Unset: a command
    /// that needs either fails with a message saying so.
    pub exec_wrapper: Option<PathBuf>,
    /// Whether a command may run as root: with no run-as user (neither the job's nor its
    /// tenant's) while Rota runs as root, or naming root. When false such a run fails, naming
    /// the fix. The library's default is true (an embedding program decides); the runtime, and
    /// so `rota serve`, refuses unless started with `--allow-root-jobs`.
    pub allow_root_jobs: bool,
}

impl Default for CommandPolicy {
    fn default() -> Self {
        CommandPolicy {
            env_allow: DEFAULT_ENV_ALLOW.iter().map(|name| (*name).to_owned()).collect(),
            work_root: None,
            default_limits: CommandLimits::default(),
            exec_wrapper: None,
            allow_root_jobs: true,
        }
    }
}

impl fmt::Debug for CommandPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandPolicy")
            .field("env_allow", &self.env_allow)
            .field("work_root", &self.work_root)
            .field("default_limits", &self.default_limits)
            .field("exec_wrapper", &self.exec_wrapper)
            .field("allow_root_jobs", &self.allow_root_jobs)
            .finish()
    }
}

/// A user to run as, resolved from the password database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunAs {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The capabilities (capabilities(7)) a daemon that is not root needs to run commands as other
/// users, with their bit numbers: `CAP_SETUID` and `CAP_SETGID` for the wrapper's switch
/// (`setuid`, `setgid`, `initgroups`), `CAP_CHOWN` to give a working directory it created to the
/// run-as user, and `CAP_KILL` to stop that user's process group at a timeout or cancellation.
/// The packaged system service (`rota` user) holds exactly these as ambient capabilities; the
/// wrapper drops every capability before it becomes the job's program
/// ([`drop_capabilities`]).
pub const RUN_AS_CAPABILITIES: [(&str, u32); 4] =
    [("CAP_CHOWN", 0), ("CAP_KILL", 5), ("CAP_SETGID", 6), ("CAP_SETUID", 7)];

/// A capability set of this process as a bit mask, from `/proc/self/status` (`CapEff`,
/// `CapPrm`, `CapAmb`, ...); 0 when it cannot be read.
fn capability_set(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    capability_field(&status, field).unwrap_or(0)
}

/// The hexadecimal mask of `field` (such as `CapEff`) in the text of `/proc/PID/status`.
fn capability_field(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        u64::from_str_radix(value.trim(), 16).ok()
    })
}

/// Whether this process may run commands as another user: it is root, or holds every one of
/// [`RUN_AS_CAPABILITIES`] in its effective set.
pub fn can_switch_users() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    let effective = capability_set("CapEff");
    RUN_AS_CAPABILITIES.iter().all(|(_, bit)| effective & (1 << bit) != 0)
}

/// Whether this process, not being root, holds capabilities its commands could inherit
/// (ambient ones pass through `execve` and survive a switch between two non-root users). Then
/// every command starts through the wrapper, which drops them.
pub fn holds_capabilities() -> bool {
    if nix::unistd::geteuid().is_root() {
        return false;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    ["CapEff", "CapPrm", "CapInh", "CapAmb"]
        .iter()
        .any(|field| capability_field(&status, field).unwrap_or(0) != 0)
}

/// Drops every capability of this process (ambient, inheritable, effective, permitted), so
/// that the program it becomes has none. Called by the wrapper after the user switch when it
/// is not root (a root job keeps root's, which only `--allow-root-jobs` allows).
fn drop_capabilities() -> Result<(), String> {
    use caps::CapSet;
    for set in [CapSet::Ambient, CapSet::Inheritable, CapSet::Effective, CapSet::Permitted] {
        caps::clear(None, set)
            .map_err(|error| format!("cannot drop the {set:?} capabilities: {error}"))?;
    }
    Ok(())
}

/// Looks up `name`; `None` when the switch is not needed (it is the daemon's own user). Fails
/// when there is no such user, or when Rota may not switch users (neither root nor holding
/// [`RUN_AS_CAPABILITIES`]) and the user is another.
pub(crate) fn resolve_run_as(name: &str) -> Result<Option<RunAs>, String> {
    let user = nix::unistd::User::from_name(name)
        .map_err(|error| format!("run_as: cannot look up user {name:?}: {}", error.desc()))?
        .ok_or_else(|| format!("run_as: there is no user {name:?}"))?;
    let me = nix::unistd::geteuid();
    if user.uid == me {
        return Ok(None);
    }
    if !can_switch_users() {
        let needed: Vec<&str> = RUN_AS_CAPABILITIES.iter().map(|(name, _)| *name).collect();
        return Err(format!(
            "run_as: Rota runs as uid {me}, neither root nor holding {}, so it cannot run \
             commands as {name:?}",
            needed.join(", ")
        ));
    }
    Ok(Some(RunAs {
        name: name.to_owned(),
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir,
    }))
}

/// The environment of a command: allowed variables of the daemon, the run-as user's identity,
/// then the job's variables (the `ROTA_*` ones are added by the caller).
pub(crate) fn base_env(
    policy: &CommandPolicy,
    run_as: Option<&RunAs>,
    job_env: &std::collections::BTreeMap<String, String>,
) -> Vec<(OsString, OsString)> {
    let mut env: std::collections::BTreeMap<OsString, OsString> = policy
        .env_allow
        .iter()
        .filter_map(|name| std::env::var_os(name).map(|value| (OsString::from(name), value)))
        .collect();
    env.entry("PATH".into()).or_insert_with(|| DEFAULT_PATH.into());
    if let Some(user) = run_as {
        env.insert("HOME".into(), user.home.clone().into_os_string());
        env.insert("USER".into(), user.name.clone().into());
        env.insert("LOGNAME".into(), user.name.clone().into());
    }
    for (name, value) in job_env {
        env.insert(name.into(), value.into());
    }
    env.into_iter().collect()
}

/// The directory name of a tenant under the work root: its name with every byte other than
/// ASCII letters, digits, `-`, `_` and `.` written as `%XX` (and a leading `.` too), so that
/// no tenant name can point outside the root (`..`, `a/b`).
pub fn tenant_dir_name(tenant: &str) -> String {
    let mut name = String::with_capacity(tenant.len());
    for (index, byte) in tenant.bytes().enumerate() {
        let keep = byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'_')
            || (byte == b'.' && index > 0);
        if keep {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name
}

/// Directories that are never a tenant's working directory, nor anything below them: the
/// system's programs, libraries, configuration and kernel interfaces.
const SYSTEM_TREES: [&str; 12] = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/sbin",
    "/sys", "/usr",
];

/// Directories that are never a tenant's working directory themselves (their subdirectories
/// may be): Rota would give them to the run-as user, or let jobs litter them.
const SYSTEM_DIRS: [&str; 22] = [
    "/",
    "/home",
    "/media",
    "/mnt",
    "/opt",
    "/root",
    "/run",
    "/snap",
    "/srv",
    "/tmp",
    "/var",
    "/var/backups",
    "/var/cache",
    "/var/lib",
    "/var/local",
    "/var/log",
    "/var/mail",
    "/var/opt",
    "/var/run",
    "/var/spool",
    "/var/tmp",
    "/var/www",
];

/// Why `dir` cannot be a working directory Rota prepares (a tenant's `work_dir`, the work root),
/// or `None`: it must be without `..`, and neither a system directory (`/`, `/etc`,
/// `/usr`, `/var`, `/home`, ... see [`SYSTEM_TREES`] and [`SYSTEM_DIRS`]) nor, when it exists,
/// a link to one.
pub fn work_dir_problem(dir: &Path) -> Option<String> {
    use std::path::Component;
    if dir.components().any(|part| part == Component::ParentDir) {
        return Some("a path with '..'; write it without".into());
    }
    let system = |path: &Path| {
        // Lexically normal: `/etc/./x/` is `/etc/x`.
        let normal: PathBuf = path.components().filter(|part| *part != Component::CurDir).collect();
        SYSTEM_DIRS.iter().any(|system| normal == Path::new(system))
            || SYSTEM_TREES.iter().any(|tree| normal.starts_with(tree))
    };
    if system(dir) {
        return Some(
            "a system directory; use a directory of its own, such as /srv/rota/TENANT".into(),
        );
    }
    match dir.canonicalize() {
        Ok(real) if system(&real) => Some(format!(
            "a link to the system directory {}; use a directory of its own",
            real.display()
        )),
        _ => None,
    }
}

/// Makes sure `dir` can be a command's working directory, running as `run_as` (else as Rota's
/// own user). A directory that exists is used as it is, and only if it is a real directory
/// (not a symbolic link) that belongs to that user: Rota never gives an existing directory to
/// anyone. A missing one is created (its parents as Rota's user), mode 0700, and then given to
/// the run-as user through a handle opened without following links, so a link swapped in
/// meanwhile cannot redirect the change of owner.
pub(crate) fn prepare_work_dir(dir: &Path, run_as: Option<&RunAs>) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    if let Some(problem) = work_dir_problem(dir) {
        return Err(format!("working directory {}: {problem}", dir.display()));
    }
    let (uid, gid) = match run_as {
        Some(user) => (user.uid, user.gid),
        None => (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw()),
    };
    let who = run_as.map_or_else(
        || format!("Rota's user (uid {uid})"),
        |user| format!("the run-as user {} (uid {uid})", user.name),
    );
    let check_existing = |metadata: &std::fs::Metadata| -> Result<(), String> {
        if metadata.file_type().is_symlink() {
            return Err(format!(
                "the working directory {} is a symbolic link; Rota does not follow links to \
                 working directories: configure the directory it points to",
                dir.display()
            ));
        }
        if !metadata.is_dir() {
            return Err(format!("the working directory {} is not a directory", dir.display()));
        }
        if metadata.uid() != uid {
            return Err(format!(
                "the working directory {} exists and belongs to uid {}, not to {who}; Rota gives \
                 a directory to the run-as user only when it creates it: change its owner, or \
                 remove it so that Rota creates it",
                dir.display(),
                metadata.uid()
            ));
        }
        Ok(())
    };
    match std::fs::symlink_metadata(dir) {
        Ok(metadata) => return check_existing(&metadata),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(format!("cannot read the working directory {}: {error}", dir.display()))
        }
    }
    let cannot = |what: &str, error: &dyn fmt::Display| {
        format!("cannot {what} the working directory {}: {error}", dir.display())
    };
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(format!("working directory {}: not a directory's path", dir.display()));
    };
    std::fs::create_dir_all(parent).map_err(|error| cannot("create the parent of", &error))?;
    // Built under a staging name and moved into place only once it has its mode and owner: two
    // runs of one tenant starting together must never see the directory between its creation
    // (owned by Rota's user) and its change of owner, which the rule above would refuse.
    let staging =
        parent.join(format!(".{}.rota-new-{}", name.to_string_lossy(), uuid::Uuid::new_v4()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(|error| cannot("create", &error))?;
    // Ok(false): another run of the tenant put its directory in place first.
    let give = || -> Result<bool, String> {
        let flags = nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_NOFOLLOW;
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits())
            .open(&staging)
            .map_err(|error| cannot("open", &error))?;
        handle
            .set_permissions(std::fs::Permissions::from_mode(0o700))
            .map_err(|error| cannot("set the mode of", &error))?;
        if run_as.is_some() {
            std::os::unix::fs::fchown(&handle, Some(uid), Some(gid))
                .map_err(|error| cannot(&format!("give to {who}"), &error))?;
        }
        // No replacing: `rename` would put this one over an empty directory made meanwhile.
        match nix::fcntl::renameat2(
            nix::fcntl::AT_FDCWD,
            &staging,
            nix::fcntl::AT_FDCWD,
            dir,
            nix::fcntl::RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => Ok(true),
            Err(nix::errno::Errno::EEXIST) => Ok(false),
            Err(error) => Err(cannot("move into place", &error)),
        }
    };
    let placed = give();
    if !matches!(placed, Ok(true)) {
        let _ = std::fs::remove_dir(&staging);
    }
    if placed? {
        return Ok(());
    }
    // Created meanwhile (another run of the tenant): the same rules as for any existing one.
    let metadata = std::fs::symlink_metadata(dir).map_err(|error| cannot("read", &error))?;
    check_existing(&metadata)
}

/// The wrapper's arguments after `__exec`, up to and including `--`. The working directory is
/// entered by the wrapper after the user switch: a run-as user's directory is private to that
/// user (0700), out of reach of a daemon that is not root.
pub(crate) fn wrapper_args(
    limits: &CommandLimits,
    run_as: Option<&RunAs>,
    working_dir: Option<&Path>,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![EXEC_SUBCOMMAND.into()];
    let mut push = |flag: &str, value: Option<u64>| {
        if let Some(value) = value {
            args.push(flag.into());
            args.push(value.to_string().into());
        }
    };
    push("--cpu", limits.cpu_seconds);
    push("--as", limits.address_space_bytes);
    push("--nofile", limits.open_files);
    push("--nproc", limits.processes);
    if let Some(user) = run_as {
        args.extend(
            ["--user".into(), user.name.clone().into()]
                .into_iter()
                .chain(["--uid".into(), user.uid.to_string().into()])
                .chain(["--gid".into(), user.gid.to_string().into()]),
        );
    }
    if let Some(dir) = working_dir {
        args.push("--dir".into());
        args.push(dir.as_os_str().to_owned());
    }
    args.push("--".into());
    args
}

/// How the job's environment reaches the wrapper: ahead of the program's standard input, as
/// `ROTA-ENV <length>\n` and then `<length>` bytes of `NAME=VALUE\0` entries. The wrapper is
/// started with an empty environment, so that neither the dynamic loader nor the C library sees
/// any of the job's variables (`LD_PRELOAD`, ...) while it still has Rota's privileges; it reads
/// exactly this block, unbuffered, applies the variables only in its final `execve` (after
/// dropping privileges), and leaves the rest of standard input to the program.
const ENV_BLOCK_TAG: &str = "ROTA-ENV ";
/// Largest environment block the wrapper accepts (Linux refuses far smaller ones at `execve`).
const ENV_BLOCK_LIMIT: usize = 16 * 1024 * 1024;

/// The block the executor writes to the wrapper's standard input before the program's input.
pub(crate) fn env_block(env: &[(OsString, OsString)]) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut body = Vec::new();
    for (name, value) in env {
        body.extend_from_slice(name.as_bytes());
        body.push(b'=');
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    let mut block = format!("{ENV_BLOCK_TAG}{}\n", body.len()).into_bytes();
    block.extend(body);
    block
}

/// Reads the environment block from `input`, one `read` at a time and never past its end (a
/// buffered reader would swallow the start of the program's input).
fn read_env_block(input: impl std::os::fd::AsFd) -> Result<Vec<CString>, String> {
    let input = input.as_fd();
    let read = |buffer: &mut [u8]| loop {
        match nix::unistd::read(input, buffer) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(error) => return Err(format!("cannot read the environment: {}", error.desc())),
            Ok(0) => return Err("standard input ended before the environment block".to_owned()),
            Ok(count) => return Ok(count),
        }
    };
    let mut header = Vec::new();
    let mut byte = [0u8];
    while header.last() != Some(&b'\n') {
        if header.len() > ENV_BLOCK_TAG.len() + 20 {
            return Err("standard input does not start with an environment block".into());
        }
        read(&mut byte)?;
        header.push(byte[0]);
    }
    let length = std::str::from_utf8(&header)
        .ok()
        .and_then(|text| text.strip_prefix(ENV_BLOCK_TAG))
        .and_then(|text| text.trim_end().parse::<usize>().ok())
        .filter(|length| *length <= ENV_BLOCK_LIMIT)
        .ok_or("standard input does not start with an environment block")?;
    let mut body = vec![0u8; length];
    let mut filled = 0;
    while filled < length {
        filled += read(&mut body[filled..])?;
    }
    body.split(|byte| *byte == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            if !entry.contains(&b'=') {
                return Err("an environment entry has no '='".to_owned());
            }
            CString::new(entry).map_err(|_| "an environment entry contains a NUL byte".to_owned())
        })
        .collect()
}

/// `execve` of `argv` with `env`; a program name without `/` is looked up in the `PATH` of
/// `env` (not the wrapper's, which is empty), as `execvp` would. Returns only on failure.
fn exec_program(argv: &[CString], env: &[CString]) -> nix::errno::Errno {
    use nix::errno::Errno;
    let program = argv[0].as_bytes();
    if program.contains(&b'/') {
        return nix::unistd::execve(&argv[0], argv, env)
            .map_or_else(|error| error, |never| match never {});
    }
    let path = env
        .iter()
        .find_map(|entry| entry.as_bytes().strip_prefix(b"PATH="))
        .unwrap_or(DEFAULT_PATH.as_bytes());
    let mut failure = Errno::ENOENT;
    for dir in path.split(|byte| *byte == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let Ok(candidate) = CString::new([dir, b"/", program].concat()) else { continue };
        match nix::unistd::execve(&candidate, argv, env) {
            Ok(never) => match never {},
            // Try the next directory, as execvp does; a permission problem is reported if
            // nothing else is found.
            Err(Errno::EACCES) => failure = Errno::EACCES,
            Err(Errno::ENOENT | Errno::ENOTDIR) => {}
            Err(other) => return other,
        }
    }
    failure
}

/// What `rota __exec` was asked to do.
#[derive(Debug, Default, PartialEq, Eq)]
struct WrapperRequest {
    limits: CommandLimits,
    user: Option<(String, u32, u32)>,
    working_dir: Option<PathBuf>,
    program: Vec<OsString>,
}

fn parse_wrapper_args(args: &[OsString]) -> Result<WrapperRequest, String> {
    let mut request = WrapperRequest::default();
    let (mut name, mut uid, mut gid) = (None, None, None);
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let flag = flag.to_str().ok_or("arguments before `--` must be text")?;
        if flag == "--" {
            request.program = iter.cloned().collect();
            break;
        }
        if flag == "--dir" {
            // A path need not be UTF-8.
            let dir = iter.next().ok_or("--dir needs a value")?;
            request.working_dir = Some(PathBuf::from(dir));
            continue;
        }
        let value = iter
            .next()
            .and_then(|value| value.to_str())
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number =
            || value.parse::<u64>().map_err(|_| format!("{flag}: {value:?} is not a number"));
        match flag {
            "--cpu" => request.limits.cpu_seconds = Some(number()?),
            "--as" => request.limits.address_space_bytes = Some(number()?),
            "--nofile" => request.limits.open_files = Some(number()?),
            "--nproc" => request.limits.processes = Some(number()?),
            "--user" => name = Some(value.to_owned()),
            "--uid" => uid = Some(u32::try_from(number()?).map_err(|_| "--uid is too large")?),
            "--gid" => gid = Some(u32::try_from(number()?).map_err(|_| "--gid is too large")?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    match (name, uid, gid) {
        (Some(name), Some(uid), Some(gid)) => request.user = Some((name, uid, gid)),
        (None, None, None) => {}
        _ => return Err("--user, --uid and --gid go together".into()),
    }
    if request.program.is_empty() {
        return Err("no program after `--`".into());
    }
    Ok(request)
}

/// `rota __exec [--cpu S] [--as BYTES] [--nofile N] [--nproc N] [--user NAME --uid U --gid G]
/// -- PROGRAM ARGS...`, with the program's environment on standard input (see [`env_block`]):
/// sets the limits on this process, switches user, and becomes `PROGRAM`.
/// Returns only on failure, with the exit status to use (126, or 127 when the program does not
/// exist), after printing one line starting with `rota __exec: ` to stderr.
pub fn exec_main(args: &[OsString]) -> u8 {
    match exec_wrapped(args) {
        Ok(never) => match never {},
        Err((status, message)) => {
            eprintln!("{WRAPPER_PREFIX}{message}");
            status
        }
    }
}

/// The entry point of every executable that can be a command's wrapper (`rota`, and the
/// desktop console, which has no `rota` binary next to it): when `args` (the process's own,
/// program name first) ask for `__exec`, runs [`exec_main`] and returns its exit status, which
/// the caller exits with; otherwise `None`, and the caller starts as usual. Call it first in
/// `main`, before logging or any other set-up: the wrapper must stay small and quiet.
pub fn exec_main_if_requested(args: &[OsString]) -> Option<u8> {
    match args {
        [_program, subcommand, rest @ ..] if subcommand == EXEC_SUBCOMMAND => Some(exec_main(rest)),
        _ => None,
    }
}

enum Never {}

fn exec_wrapped(args: &[OsString]) -> Result<Never, (u8, String)> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let fail = |message: String| (EXIT_CANNOT_START, message);
    let request = parse_wrapper_args(args).map_err(fail)?;
    let env = read_env_block(std::io::stdin()).map_err(fail)?;
    let limits = &request.limits;
    let set = |resource: Resource, what: &str, soft: Option<u64>, extra: u64| {
        let Some(soft) = soft else { return Ok(()) };
        // An unprivileged daemon cannot raise its hard limits: stay within them.
        let (_, current_hard) = getrlimit(resource).unwrap_or((u64::MAX, u64::MAX));
        let hard = soft.saturating_add(extra).min(current_hard);
        setrlimit(resource, soft.min(hard), hard).map_err(|error| {
            fail(format!("cannot set the {what} limit to {soft}: {}", error.desc()))
        })
    };
    // The CPU hard limit is a second above the soft one: SIGXCPU first (the reason is then
    // clear), SIGKILL if the program ignores it.
    set(Resource::RLIMIT_CPU, "CPU time", limits.cpu_seconds, 1)?;
    set(Resource::RLIMIT_AS, "address-space", limits.address_space_bytes, 0)?;
    set(Resource::RLIMIT_NOFILE, "open-files", limits.open_files, 0)?;
    set(Resource::RLIMIT_NPROC, "process", limits.processes, 0)?;
    if let Some((name, uid, gid)) = &request.user {
        let gid = nix::unistd::Gid::from_raw(*gid);
        let c_name = CString::new(name.as_bytes())
            .map_err(|_| fail(format!("user name {name:?} contains a NUL byte")))?;
        nix::unistd::initgroups(&c_name, gid).map_err(|error| {
            fail(format!("cannot set the groups of {name:?}: {}", error.desc()))
        })?;
        nix::unistd::setgid(gid)
            .map_err(|error| fail(format!("cannot switch to group {gid}: {}", error.desc())))?;
        nix::unistd::setuid(nix::unistd::Uid::from_raw(*uid))
            .map_err(|error| fail(format!("cannot switch to user {name:?}: {}", error.desc())))?;
    }
    // A switch from root clears the capabilities by itself; one between two other users (the
    // packaged service's `rota` user, holding ambient capabilities) keeps them, and so would
    // the program: drop them all, whoever the command runs as, unless it runs as root.
    if !nix::unistd::geteuid().is_root() {
        drop_capabilities().map_err(fail)?;
    }
    if let Some(dir) = &request.working_dir {
        nix::unistd::chdir(dir.as_path()).map_err(|error| {
            fail(format!("cannot enter the working directory {}: {}", dir.display(), error.desc()))
        })?;
    }
    let argv: Vec<CString> = request
        .program
        .iter()
        .map(|arg| CString::new(std::os::unix::ffi::OsStrExt::as_bytes(arg.as_os_str())))
        .collect::<Result<_, _>>()
        .map_err(|_| fail("an argument contains a NUL byte".into()))?;
    let program = request.program[0].to_string_lossy().into_owned();
    let error = exec_program(&argv, &env);
    let status =
        if error == nix::errno::Errno::ENOENT { EXIT_NOT_FOUND } else { EXIT_CANNOT_START };
    let reason = if error == nix::errno::Errno::EAGAIN {
        format!("{} (the user's process limit is reached)", error.desc())
    } else {
        error.desc().to_owned()
    };
    Err((status, format!("cannot start `{program}`: {reason}")))
}

/// The wrapper's own error line in a command's combined output, if it failed to start the
/// program.
pub(crate) fn wrapper_failure(output: &str) -> Option<&str> {
    output.lines().find_map(|line| {
        line.strip_prefix("[stderr] ").unwrap_or(line).strip_prefix(WRAPPER_PREFIX)
    })
}

/// Says which limit a run that failed on its own most likely exhausted, from how it ended and
/// what it printed; `None` when nothing points at a limit.
pub(crate) fn diagnose(
    limits: &CommandLimits,
    signal: Option<i32>,
    exit_code: Option<i32>,
    output: &str,
) -> Option<String> {
    use nix::sys::signal::Signal;
    // A shell reports a child killed by signal N as exit status 128 + N.
    let signal =
        signal.or_else(|| exit_code.filter(|code| (129..160).contains(code)).map(|c| c - 128));
    let is = |wanted: Signal| signal == Some(wanted as i32);
    let said = |needles: &[&str]| needles.iter().any(|needle| output.contains(needle));
    if let Some(seconds) = limits.cpu_seconds {
        if is(Signal::SIGXCPU) {
            return Some(format!("CPU time limit ({seconds} s) exceeded"));
        }
        if is(Signal::SIGKILL) {
            return Some(format!(
                "CPU time limit ({seconds} s) exceeded (killed at the hard limit, or by the \
                 kernel's out-of-memory killer)"
            ));
        }
    }
    if let Some(bytes) = limits.address_space_bytes {
        let memory = said(&[
            "Cannot allocate memory",
            "out of memory",
            "Out of memory",
            "MemoryError",
            "memory allocation of",
            "bad_alloc",
            "failed to allocate",
        ]);
        if memory || is(Signal::SIGABRT) && said(&["alloc"]) {
            return Some(format!("address-space limit ({}) exceeded", human_bytes(bytes)));
        }
    }
    if let Some(files) = limits.open_files {
        if said(&["Too many open files", "EMFILE"]) {
            return Some(format!("open-files limit ({files}) exceeded"));
        }
    }
    if let Some(processes) = limits.processes {
        if said(&["Resource temporarily unavailable", "Cannot fork", "can't fork", "fork: retry"]) {
            return Some(format!("process limit ({processes}) reached"));
        }
    }
    None
}

/// `256 MiB`, `2 GiB`, or `1000000 bytes`.
pub fn human_bytes(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * MIB;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Parses a size typed by a person: bytes, or a number with `K`, `M`, `G` (powers of 1024,
/// optionally followed by `iB` or `B`).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("{text:?} is not a size (such as 512M or 2G)"))?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        "G" | "GB" | "GIB" => 1024 * 1024 * 1024,
        _ => return Err(format!("{text:?}: unknown unit; use K, M or G")),
    };
    number.checked_mul(factor).ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two runs of one tenant starting together both get the run-as user's directory: neither
    /// sees it between its creation (owned by Rota's user) and its change of owner. Needs root,
    /// as CI is, to give a directory away.
    #[test]
    fn runs_starting_together_all_get_the_run_as_users_new_directory() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped: giving a directory to another user needs root");
            return;
        }
        let user = RunAs { name: "daemon".into(), uid: 1, gid: 1, home: "/".into() };
        let root = tempfile::tempdir().unwrap();
        for round in 0..50 {
            let dir = root.path().join(format!("tenant-{round}"));
            let start = std::sync::Barrier::new(8);
            let outcomes: Vec<Result<(), String>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            prepare_work_dir(&dir, Some(&user))
                        })
                    })
                    .collect();
                handles.into_iter().map(|handle| handle.join().unwrap()).collect()
            });
            for outcome in outcomes {
                assert_eq!(outcome, Ok(()), "round {round}");
            }
            let leftovers: Vec<_> = std::fs::read_dir(root.path())
                .unwrap()
                .filter_map(|entry| entry.ok())
                .filter(|entry| entry.file_name().to_string_lossy().contains("rota-new"))
                .collect();
            assert!(leftovers.is_empty(), "staging directories left behind: {leftovers:?}");
        }
    }

    #[test]
    fn limits_merge_field_by_field() {
        let job = CommandLimits { cpu_seconds: Some(5), ..CommandLimits::default() };
        let tenant = CommandLimits {
            cpu_seconds: Some(60),
            open_files: Some(64),
            ..CommandLimits::default()
        };
        assert_eq!(
            job.or(&tenant),
            CommandLimits {
                cpu_seconds: Some(5),
                open_files: Some(64),
                ..CommandLimits::default()
            }
        );
        assert!(CommandLimits::default().is_empty());
    }

    #[test]
    fn limits_outside_their_range_name_the_limit() {
        let limits = CommandLimits { address_space_bytes: Some(64), ..CommandLimits::default() };
        let error = limits.validate().unwrap_err().to_string();
        assert!(error.starts_with("limits: address_space_bytes"), "{error}");
        CommandLimits { processes: Some(10), ..CommandLimits::default() }.validate().unwrap();
        assert!(CommandLimits { cpu_seconds: Some(0), ..CommandLimits::default() }
            .validate()
            .is_err());
    }

    #[test]
    fn wrapper_arguments_round_trip() {
        let limits = CommandLimits {
            cpu_seconds: Some(10),
            address_space_bytes: Some(1 << 28),
            open_files: Some(64),
            processes: Some(32),
        };
        let user = RunAs { name: "job".into(), uid: 1001, gid: 1002, home: "/home/job".into() };
        let mut args = wrapper_args(&limits, Some(&user), Some(Path::new("/srv/rota/work/a b")));
        assert_eq!(args.remove(0), EXEC_SUBCOMMAND);
        args.extend(["/bin/echo".into(), "--cpu".into()]);
        let request = parse_wrapper_args(&args).unwrap();
        assert_eq!(request.limits, limits);
        assert_eq!(request.user, Some(("job".into(), 1001, 1002)));
        assert_eq!(request.working_dir, Some(PathBuf::from("/srv/rota/work/a b")));
        assert_eq!(request.program, ["/bin/echo", "--cpu"]);
        assert!(parse_wrapper_args(&["--cpu".into(), "x".into()]).is_err());
        assert!(parse_wrapper_args(&["--".into()]).is_err());
        assert!(parse_wrapper_args(&["--uid".into(), "1".into(), "--".into(), "x".into()]).is_err());
    }

    #[test]
    fn capability_masks_are_read_from_the_status_text() {
        let status = "Name:\trota\nCapInh:\t0000000000000000\nCapPrm:\t00000000000000e1\n\
                      CapEff:\t00000000000000e1\nCapAmb:\t00000000000000e1\n";
        let mask = capability_field(status, "CapAmb").unwrap();
        let expected = RUN_AS_CAPABILITIES.iter().fold(0u64, |mask, (_, bit)| mask | 1 << bit);
        assert_eq!(mask, expected, "CAP_CHOWN, CAP_KILL, CAP_SETGID, CAP_SETUID");
        assert_eq!(capability_field(status, "CapInh"), Some(0));
        assert_eq!(capability_field(status, "CapBnd"), None);
    }

    #[test]
    fn the_environment_block_is_read_exactly_and_the_rest_is_left_to_the_program() {
        use std::io::{Read, Write};
        let env = vec![
            (OsString::from("PATH"), OsString::from("/usr/bin:/bin")),
            (OsString::from("MODE"), OsString::from("a=b c")),
        ];
        let (reader, writer) = nix::unistd::pipe().unwrap();
        let mut writer = std::fs::File::from(writer);
        writer.write_all(&env_block(&env)).unwrap();
        writer.write_all(b"{\"the\":\"envelope\"}").unwrap();
        drop(writer);
        let read = read_env_block(&reader).unwrap();
        let read: Vec<&[u8]> = read.iter().map(|entry| entry.as_bytes()).collect();
        assert_eq!(read, [&b"PATH=/usr/bin:/bin"[..], b"MODE=a=b c"]);
        let mut rest = String::new();
        std::fs::File::from(reader).read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "{\"the\":\"envelope\"}");

        let (reader, writer) = nix::unistd::pipe().unwrap();
        std::fs::File::from(writer).write_all(b"{\"no\":\"block\"}").unwrap();
        assert!(read_env_block(&reader).unwrap_err().contains("environment block"));
    }

    #[test]
    fn system_directories_are_not_working_directories() {
        for dir in
            ["/", "/etc", "/etc/", "/etc/./cron.d", "/usr/local/lib", "/var", "/home", "/proc/1"]
        {
            assert!(work_dir_problem(Path::new(dir)).is_some(), "{dir}");
        }
        assert!(work_dir_problem(Path::new("/srv/../etc")).is_some());
        for dir in ["/srv/rota/acme", "/home/acme/work", "/var/lib/rota/work/acme", "/tmp/x"] {
            assert_eq!(work_dir_problem(Path::new(dir)), None, "{dir}");
        }
    }

    #[test]
    fn tenant_directories_cannot_escape_the_root() {
        assert_eq!(tenant_dir_name("acme"), "acme");
        assert_eq!(tenant_dir_name("acme.eu-1_x"), "acme.eu-1_x");
        assert_eq!(tenant_dir_name(".."), "%2E.");
        assert_eq!(tenant_dir_name("a/b c"), "a%2Fb%20c");
        assert_eq!(tenant_dir_name("é"), "%C3%A9");
    }

    #[test]
    fn environment_is_the_allow_list_plus_the_job() {
        let policy = CommandPolicy {
            env_allow: vec!["ROTA_TEST_SURELY_UNSET".into()],
            ..CommandPolicy::default()
        };
        let job = [("MODE".to_owned(), "full".to_owned())].into_iter().collect();
        let env = base_env(&policy, None, &job);
        assert_eq!(env, [("MODE".into(), "full".into()), ("PATH".into(), DEFAULT_PATH.into())]);
        let user = RunAs { name: "job".into(), uid: 1, gid: 1, home: "/home/job".into() };
        let env = base_env(&policy, Some(&user), &Default::default());
        assert!(env.contains(&("HOME".into(), "/home/job".into())));
        assert!(env.contains(&("USER".into(), "job".into())));
    }

    #[test]
    fn exhausted_limits_are_named() {
        let limits = CommandLimits {
            cpu_seconds: Some(2),
            address_space_bytes: Some(64 << 20),
            open_files: Some(16),
            processes: Some(20),
        };
        assert_eq!(
            diagnose(&limits, Some(24), None, "").as_deref(),
            Some("CPU time limit (2 s) exceeded")
        );
        assert_eq!(
            diagnose(&limits, None, Some(152), "").as_deref(),
            Some("CPU time limit (2 s) exceeded")
        );
        assert_eq!(
            diagnose(&limits, None, Some(1), "[stderr] MemoryError\n").as_deref(),
            Some("address-space limit (64 MiB) exceeded")
        );
        assert_eq!(
            diagnose(&limits, None, Some(1), "OSError: [Errno 24] Too many open files").as_deref(),
            Some("open-files limit (16) exceeded")
        );
        assert_eq!(
            diagnose(&limits, None, Some(2), "sh: 1: Cannot fork").as_deref(),
            Some("process limit (20) reached")
        );
        assert_eq!(diagnose(&limits, None, Some(1), "plain failure"), None);
        assert_eq!(diagnose(&CommandLimits::default(), Some(24), None, ""), None);
    }

    #[test]
    fn sizes_read_and_print_naturally() {
        assert_eq!(parse_bytes("256M"), Ok(256 << 20));
        assert_eq!(parse_bytes("2GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(parse_bytes("12X").is_err());
        assert_eq!(human_bytes(256 << 20), "256 MiB");
        assert_eq!(human_bytes(2 << 30), "2 GiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }

    #[test]
    fn wrapper_failures_are_found_in_the_output() {
        let output = "[stderr] rota __exec: cannot start `nope`: No such file or directory\n";
        assert_eq!(wrapper_failure(output), Some("cannot start `nope`: No such file or directory"));
        assert_eq!(wrapper_failure("rota __exec is mentioned\n"), None);
    }
}
