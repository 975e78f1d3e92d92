//! Command handlers: a child process in its own process group.
//!
//! How a run goes:
//! 1. The program starts in a new process group (its pid is the group id), with the envelope
//!    JSON on stdin (written, then closed; a child that does not read it is fine) unless the
//!    spec gives its own `stdin` text, a cleared environment with the policy's allow-list, the
//!    spec's variables and the `ROTA_*` variables in [`ENV_NAMES`] (`ROTA_PAYLOAD` only up to
//!    [`ENV_PAYLOAD_LIMIT`]), the tenant's working directory, and piped stdout and stderr.
//!    With resource limits or a run-as user it starts through the `rota __exec` wrapper
//!    ([`super::isolation`]), which applies them and then becomes the program.
//! 2. stdout and stderr are read concurrently into one [`TailBuffer`], in arrival order, each
//!    stderr line prefixed with `[stderr] ` (a line cut by the other stream is ended first).
//!    Memory is bounded by [`OUTPUT_LIMIT`] however much the job prints.
//! 3. The run ends when the direct child exits, the timeout elapses or the token is cancelled.
//! 4. On timeout or cancellation the whole group gets SIGTERM; once the grace has passed,
//!    whatever is left of the group gets SIGKILL, even if the direct child has exited, since a
//!    grandchild that ignores SIGTERM keeps the group (and often the pipes) alive.
//! 5. When the direct child exits by itself, any processes still in its group are orphans (a
//!    forgotten `cmd &`, say): they get the same SIGTERM-grace-SIGKILL treatment, and a
//!    `[rota] ...` line in the output says so. Nothing a job starts outlives its run. A process
//!    that leaves the group (`setsid`) is beyond reach; output is then read for at most
//!    [`OUTPUT_DRAIN`] after the group is gone.
//!
//! If the future running a command is dropped half-way, the group gets SIGKILL at once and the
//! direct child is reaped by tokio in the background.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::envelope::format_instant;
use super::isolation::{self, CommandLimits, CommandPolicy, RunAs, RunContext};
use super::outcome::{human_duration, TailBuffer};
use super::{CommandSpec, Envelope, Outcome, OutcomeStatus, OUTPUT_LIMIT};

/// The variables every command gets, describing its run.
pub(crate) const ENV_NAMES: [&str; 10] = [
    "ROTA_RUN_ID",
    "ROTA_JOB_ID",
    "ROTA_JOB",
    "ROTA_TENANT_ID",
    "ROTA_TENANT",
    "ROTA_SCHEDULED_FOR",
    "ROTA_ATTEMPT",
    "ROTA_TRIGGER",
    "ROTA_IDEMPOTENCY_KEY",
    "ROTA_PAYLOAD",
];

/// Largest payload (as JSON) passed in `ROTA_PAYLOAD`; a larger one is left out of the
/// environment and is only in the envelope on stdin.
pub(crate) const ENV_PAYLOAD_LIMIT: usize = 64 * 1024;

/// How long output is still read once the process group is gone, for pipes held open by a
/// process that left the group.
pub(crate) const OUTPUT_DRAIN: Duration = Duration::from_secs(1);

/// How often the group is checked for survivors while it is being stopped. There is no event
/// for "a process group became empty", so this one wait polls.
const GROUP_POLL: Duration = Duration::from_millis(20);

/// How a command is started, once the policy, the tenant's defaults and the spec are combined.
struct Launch {
    limits: CommandLimits,
    run_as: Option<RunAs>,
    working_dir: Option<std::path::PathBuf>,
    wrapper: Option<std::path::PathBuf>,
}

/// Combines the spec with the tenant's defaults and the policy; an error is the run's failure.
fn plan_launch(
    spec: &CommandSpec,
    envelope: &Envelope,
    policy: &CommandPolicy,
    context: &RunContext,
) -> Result<Launch, String> {
    if let Some(name) = spec.env.keys().find(|name| super::spec::is_loader_variable(name)) {
        // Stored before the check existed, or written behind the API's back: never started.
        return Err(super::HandlerSpecError::LoaderEnvName { name: name.clone() }.to_string());
    }
    let limits =
        spec.limits.clone().unwrap_or_default().or(&context.limits).or(&policy.default_limits);
    // The tenant's user is a ceiling: a job may name it, or nobody, never another user.
    let user = match (&spec.run_as, &context.run_as) {
        (Some(job), Some(tenant)) if job != tenant => {
            return Err(format!(
                "run_as: the job names {job:?}, but its tenant {:?} runs its commands as \
                 {tenant:?}, and its jobs may run only as that user",
                envelope.tenant
            ));
        }
        (job, tenant) => job.as_ref().or(tenant.as_ref()),
    };
    let run_as = match user {
        Some(name) => isolation::resolve_run_as(name)?,
        None => None,
    };
    let as_root = match &run_as {
        Some(user) => user.uid == 0,
        None => nix::unistd::geteuid().is_root(),
    };
    if as_root && !policy.allow_root_jobs {
        return Err(format!(
            "this command would run as root, which this scheduler refuses: give it a run-as user \
             (the job's run_as, or its tenant's: rota tenant set {} --run-as USER), or start \
             rota serve with --allow-root-jobs",
            envelope.tenant
        ));
    }
    let working_dir = match (&spec.working_dir, &context.work_dir, &policy.work_root) {
        (Some(dir), _, _) => Some(dir.clone()),
        (None, Some(dir), _) => {
            isolation::prepare_work_dir(dir, run_as.as_ref())?;
            Some(dir.clone())
        }
        (None, None, Some(root)) => {
            let dir = root.join(isolation::tenant_dir_name(&envelope.tenant));
            isolation::prepare_work_dir(&dir, run_as.as_ref())?;
            Some(dir)
        }
        (None, None, None) => None,
    };
    // A daemon holding capabilities (the packaged service) starts every command through the
    // wrapper, which drops them: ambient capabilities would otherwise pass to the program.
    let wrapper = if limits.is_empty() && run_as.is_none() && !isolation::holds_capabilities() {
        None
    } else {
        Some(policy.exec_wrapper.clone().ok_or_else(|| {
            "this command has resource limits or a run-as user, but the executor has no \
             `rota __exec` wrapper to apply them (Executor::with_exec_wrapper)"
                .to_owned()
        })?)
    };
    Ok(Launch { limits, run_as, working_dir, wrapper })
}

/// Runs `spec` to completion, timeout or cancellation. `duration` is left to the caller.
pub(super) async fn run(
    spec: &CommandSpec,
    envelope: &Envelope,
    timeout: Duration,
    cancel: &CancellationToken,
    grace: Duration,
    policy: &CommandPolicy,
    context: &RunContext,
) -> Outcome {
    let launch = match plan_launch(spec, envelope, policy, context) {
        Ok(launch) => launch,
        Err(error) => return Outcome::new(OutcomeStatus::Failed, String::new(), Some(error)),
    };
    let environment = environment(spec, envelope, policy, &launch);
    let mut input = match &launch.wrapper {
        // The wrapper's own environment stays empty; it reads the program's from stdin.
        Some(_) => isolation::env_block(&environment),
        None => Vec::new(),
    };
    input.extend_from_slice(spec.stdin.clone().unwrap_or_else(|| envelope.to_json()).as_bytes());
    let mut child = match build(spec, environment, &launch).spawn() {
        Ok(child) => child,
        Err(error) => {
            return Outcome::new(
                OutcomeStatus::Failed,
                String::new(),
                Some(spawn_error(spec, &launch, &error)),
            )
        }
    };
    let Some(pid) = child.id() else {
        // Only happens once the child has been waited for, which nothing has done yet.
        return Outcome::new(
            OutcomeStatus::Failed,
            String::new(),
            Some("the child vanished".into()),
        );
    };
    let mut group = ProcessGroup::new(pid);
    tracing::debug!(pid, "command started");

    let output = Arc::new(Mutex::new(Combined::default()));
    let mut pump = AbortOnDrop(tokio::spawn(pump(
        child.stdout.take().expect("stdout is piped"),
        child.stderr.take().expect("stderr is piped"),
        Arc::clone(&output),
    )));
    let _feeder =
        AbortOnDrop(tokio::spawn(feed(child.stdin.take().expect("stdin is piped"), input)));

    let deadline = tokio::time::sleep(timeout);
    let stopped = tokio::select! {
        biased;
        status = child.wait() => Ending::Exited(status),
        () = cancel.cancelled() => Ending::Stopped(OutcomeStatus::Cancelled),
        () = deadline => Ending::Stopped(OutcomeStatus::TimedOut),
    };

    // Said after the output, which is read to the end first.
    let mut note = None;
    let mut ended_by_itself = None;
    let mut outcome = match stopped {
        Ending::Exited(Err(error)) => {
            // Waiting failed (it should not): make sure nothing is left running.
            group.terminate(&mut child, Duration::ZERO).await;
            Outcome::new(
                OutcomeStatus::Failed,
                String::new(),
                Some(format!("lost track of the process: {error}")),
            )
        }
        Ending::Exited(Ok(status)) => {
            ended_by_itself = Some(std::os::unix::process::ExitStatusExt::signal(&status));
            let (status, exit_code, error) = describe_exit(status);
            if group.has_members() {
                let how = group.terminate(&mut child, grace).await;
                tracing::warn!(pgid = pid, ?how, "the command left processes behind; stopped them");
                note = Some(format!(
                    "the command exited but left processes in its group; {}",
                    how.describe(grace)
                ));
            }
            Outcome { exit_code, ..Outcome::new(status, String::new(), error) }
        }
        Ending::Stopped(status) => {
            let how = group.terminate(&mut child, grace).await;
            let exit = child.try_wait().ok().flatten();
            let reason = match status {
                OutcomeStatus::TimedOut => format!("timed out after {}", human_duration(timeout)),
                _ => "cancelled".to_owned(),
            };
            tracing::debug!(?how, ?exit, "command stopped");
            Outcome {
                exit_code: exit.and_then(|exit| exit.code()),
                ..Outcome::new(
                    status,
                    String::new(),
                    Some(format!("{reason} ({})", how.describe(grace))),
                )
            }
        }
    };
    group.release();

    // The group is gone, so the pipes are normally at end of file already.
    if tokio::time::timeout(OUTPUT_DRAIN, &mut pump.0).await.is_err() {
        tracing::warn!(
            pgid = pid,
            "output still open after the process group ended; stopped reading"
        );
    }
    let mut output = lock(&output);
    if let Some(note) = note {
        output.note(&note);
    }
    outcome.output = output.tail.render();
    if let (Some(signal), OutcomeStatus::Failed) = (ended_by_itself, outcome.status) {
        explain_failure(&mut outcome, signal, &launch);
    }
    outcome
}

/// For a command that failed by itself: says so when the wrapper could not start the program,
/// or which resource limit the program most likely ran into.
fn explain_failure(outcome: &mut Outcome, signal: Option<i32>, launch: &Launch) {
    if launch.wrapper.is_some() && matches!(outcome.exit_code, Some(126 | 127)) {
        if let Some(message) = isolation::wrapper_failure(&outcome.output) {
            outcome.error = Some(message.to_owned());
            return;
        }
    }
    if let Some(reason) =
        isolation::diagnose(&launch.limits, signal, outcome.exit_code, &outcome.output)
    {
        let how = outcome.error.take().unwrap_or_default();
        outcome.error = Some(if how.is_empty() { reason } else { format!("{reason} ({how})") });
    }
}

enum Ending {
    Exited(std::io::Result<ExitStatus>),
    Stopped(OutcomeStatus),
}

/// The program's environment: the policy's allow-list, the run-as user's identity, the job's
/// variables and the `ROTA_*` ones.
fn environment(
    spec: &CommandSpec,
    envelope: &Envelope,
    policy: &CommandPolicy,
    launch: &Launch,
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let mut environment = isolation::base_env(policy, launch.run_as.as_ref(), &spec.env);
    environment.extend(run_env(envelope).map(|(name, value)| (name.into(), value.into())));
    environment
}

/// The command for `spec`: argument vector (or `/bin/sh -c`), behind the wrapper when limits
/// or a user switch apply; directory, pipes and a process group of its own. The environment is
/// the program's when it starts directly; the wrapper starts with none (it reads the program's
/// from stdin, see [`isolation::env_block`]).
fn build(
    spec: &CommandSpec,
    environment: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    launch: &Launch,
) -> Command {
    let argv: Vec<&str> = if spec.shell {
        // `sh -c SCRIPT NAME ARGS...`: the script sees `args` as $1, $2, ...
        ["/bin/sh", "-c", spec.program.as_str(), "sh"]
            .into_iter()
            .chain(spec.args.iter().map(String::as_str))
            .collect()
    } else {
        std::iter::once(spec.program.as_str()).chain(spec.args.iter().map(String::as_str)).collect()
    };
    let mut command = match &launch.wrapper {
        Some(wrapper) => {
            let mut command = Command::new(wrapper);
            command.args(isolation::wrapper_args(
                &launch.limits,
                launch.run_as.as_ref(),
                launch.working_dir.as_deref(),
            ));
            command.args(&argv);
            command
        }
        None => {
            let mut command = Command::new(argv[0]);
            command.args(&argv[1..]);
            command
        }
    };
    command.env_clear();
    if launch.wrapper.is_none() {
        command.envs(environment);
    }
    // Behind the wrapper, the wrapper enters the directory once it is the run-as user.
    if let (Some(dir), None) = (&launch.working_dir, &launch.wrapper) {
        command.current_dir(dir);
    }
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    command
}

/// The `ROTA_*` variables, in the order of [`ENV_NAMES`].
fn run_env(envelope: &Envelope) -> impl Iterator<Item = (&'static str, String)> {
    let values = [
        envelope.run_id.to_string(),
        envelope.job_id.to_string(),
        envelope.job.clone(),
        envelope.tenant_id.to_string(),
        envelope.tenant.clone(),
        format_instant(envelope.scheduled_for),
        envelope.attempt.to_string(),
        envelope.trigger.as_str().to_owned(),
        envelope.idempotency_key(),
        envelope.payload.to_string(),
    ];
    ENV_NAMES.into_iter().zip(values).filter(|(name, value)| {
        // Linux refuses to start a program with any one variable over 128 KiB (E2BIG).
        let fits = *name != "ROTA_PAYLOAD" || value.len() <= ENV_PAYLOAD_LIMIT;
        if !fits {
            tracing::debug!(
                bytes = value.len(),
                "payload too large for ROTA_PAYLOAD; it is on stdin only"
            );
        }
        fits
    })
}

fn spawn_error(spec: &CommandSpec, launch: &Launch, error: &std::io::Error) -> String {
    let wrapper = launch.wrapper.as_ref().map(|path| path.display().to_string());
    let program = match &wrapper {
        Some(wrapper) => wrapper.as_str(),
        None if spec.shell => "/bin/sh",
        None => spec.program.as_str(),
    };
    if let Some(dir) = &launch.working_dir {
        if !dir.is_dir() {
            return format!(
                "cannot start `{program}`: working directory {} does not exist",
                dir.display()
            );
        }
    }
    let reason = match error.raw_os_error() {
        Some(code) => Errno::from_raw(code).desc().to_owned(),
        None => error.to_string(),
    };
    format!("cannot start `{program}`: {reason}")
}

/// Status, exit code and error text for a process that ended by itself.
fn describe_exit(status: ExitStatus) -> (OutcomeStatus, Option<i32>, Option<String>) {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(0), _) => (OutcomeStatus::Succeeded, Some(0), None),
        (Some(code), _) => (OutcomeStatus::Failed, Some(code), Some(format!("exit status {code}"))),
        (None, Some(signal)) => {
            let name =
                Signal::try_from(signal).map(|s| format!(" ({})", s.as_str())).unwrap_or_default();
            (OutcomeStatus::Failed, None, Some(format!("killed by signal {signal}{name}")))
        }
        (None, None) => (OutcomeStatus::Failed, None, Some(format!("ended abnormally: {status}"))),
    }
}

/// A child's process group. Dropping it before [`ProcessGroup::release`] kills the group.
struct ProcessGroup {
    pgid: Pid,
    released: bool,
}

/// How [`ProcessGroup::terminate`] ended the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The group was already empty.
    AlreadyGone,
    /// Everything was gone within the grace after SIGTERM.
    Terminated,
    /// Something outlived the grace and got SIGKILL.
    Killed,
}

impl Stop {
    fn describe(self, grace: Duration) -> String {
        match self {
            Stop::AlreadyGone => "the process group had already ended".to_owned(),
            Stop::Terminated => "the process group was stopped with SIGTERM".to_owned(),
            Stop::Killed => format!(
                "the process group got SIGTERM, then SIGKILL after the {} grace",
                human_duration(grace)
            ),
        }
    }
}

impl ProcessGroup {
    fn new(pid: u32) -> Self {
        // A pid always fits in an i32 (`pid_t`).
        ProcessGroup { pgid: Pid::from_raw(pid as i32), released: false }
    }

    /// Sends `signal` to every process in the group; `false` if the group no longer exists.
    fn signal(&self, signal: Signal) -> bool {
        match killpg(self.pgid, signal) {
            Ok(()) => true,
            Err(Errno::ESRCH) => false,
            Err(error) => {
                tracing::warn!(pgid = self.pgid.as_raw(), %error, ?signal, "cannot signal process group");
                true
            }
        }
    }

    /// Whether any process of the group is still running (zombies waiting to be reaped by
    /// someone else do not count: they hold no resources and cannot be signalled away).
    fn has_members(&self) -> bool {
        match killpg(self.pgid, None) {
            Err(Errno::ESRCH) => false,
            _ => live_members(self.pgid.as_raw()).unwrap_or(true),
        }
    }

    /// SIGTERM to the group; then waits until the direct child has been reaped and no member is
    /// left, for at most `grace`; then SIGKILL to what is left and a bounded wait for the child.
    async fn terminate(&mut self, child: &mut Child, grace: Duration) -> Stop {
        if !self.signal(Signal::SIGTERM) {
            // The child may still need reaping (it cannot be running: it is in the group).
            let _ = child.try_wait();
            return Stop::AlreadyGone;
        }
        let settled = async {
            let _ = child.wait().await;
            while self.has_members() {
                tokio::time::sleep(GROUP_POLL).await;
            }
        };
        if tokio::time::timeout(grace, settled).await.is_ok() {
            return Stop::Terminated;
        }
        self.signal(Signal::SIGKILL);
        // SIGKILL cannot be ignored; only a process stuck in the kernel (a hung NFS mount) can
        // delay it, and then tokio reaps the child later in the background.
        if tokio::time::timeout(grace.max(Duration::from_secs(1)), child.wait()).await.is_err() {
            tracing::warn!(pgid = self.pgid.as_raw(), "child did not die after SIGKILL");
        }
        Stop::Killed
    }

    /// The run is over and the group dealt with: do not signal it again on drop (its id may be
    /// reused once it is empty).
    fn release(&mut self) {
        self.released = true;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if !self.released {
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
    }
}

/// Whether `/proc` lists a member of group `pgid` that is not a zombie; `None` if `/proc`
/// cannot be read.
#[cfg(target_os = "linux")]
fn live_members(pgid: i32) -> Option<bool> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let is_pid =
            entry.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        if !is_pid {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid pgrp ...`; comm may contain spaces and parentheses.
        let Some(close) = stat.rfind(')') else { continue };
        let mut fields = stat[close + 1..].split_whitespace();
        let (Some(state), Some(_ppid), Some(pgrp)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if pgrp.parse() == Ok(pgid) && !matches!(state, "Z" | "X") {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(not(target_os = "linux"))]
fn live_members(_pgid: i32) -> Option<bool> {
    None
}

/// Aborts a spawned task when dropped, so that no helper task outlives its run.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Writes the input (the wrapper's environment block, then the envelope or the spec's stdin
/// text) to the child's stdin and closes it. A child that exits or closes stdin
/// without reading is fine (EPIPE is expected then).
async fn feed(mut stdin: ChildStdin, input: Vec<u8>) {
    if let Err(error) = stdin.write_all(&input).await {
        if error.kind() != std::io::ErrorKind::BrokenPipe {
            tracing::debug!(%error, "could not write the envelope to stdin");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// stdout and stderr interleaved in one bounded tail.
struct Combined {
    tail: TailBuffer,
    /// The stream that wrote the last byte, when that byte did not end a line.
    open_line: Option<Stream>,
}

impl Default for Combined {
    fn default() -> Self {
        Combined { tail: TailBuffer::new(OUTPUT_LIMIT), open_line: None }
    }
}

impl Combined {
    fn push(&mut self, stream: Stream, chunk: &[u8]) {
        for line in chunk.split_inclusive(|&byte| byte == b'\n') {
            match self.open_line {
                Some(owner) if owner == stream => {}
                Some(_) => {
                    self.tail.push(b"\n");
                    self.start_line(stream);
                }
                None => self.start_line(stream),
            }
            self.tail.push(line);
            self.open_line = (!line.ends_with(b"\n")).then_some(stream);
        }
    }

    fn start_line(&mut self, stream: Stream) {
        if stream == Stream::Stderr {
            self.tail.push(b"[stderr] ");
        }
    }

    /// A line from Rota itself.
    fn note(&mut self, text: &str) {
        if self.open_line.take().is_some() {
            self.tail.push(b"\n");
        }
        self.tail.push(format!("[rota] {text}\n").as_bytes());
    }
}

fn lock(output: &Mutex<Combined>) -> std::sync::MutexGuard<'_, Combined> {
    // A std mutex: it is held only to copy bytes in, never across an await.
    output.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Reads both pipes until both are closed.
async fn pump(
    mut stdout: impl AsyncRead + Unpin,
    mut stderr: impl AsyncRead + Unpin,
    output: Arc<Mutex<Combined>>,
) {
    let mut out_buf = vec![0u8; 8 * 1024];
    let mut err_buf = vec![0u8; 8 * 1024];
    let (mut out_open, mut err_open) = (true, true);
    while out_open || err_open {
        tokio::select! {
            read = stdout.read(&mut out_buf), if out_open => match read {
                Ok(0) | Err(_) => out_open = false,
                Ok(n) => lock(&output).push(Stream::Stdout, &out_buf[..n]),
            },
            read = stderr.read(&mut err_buf), if err_open => match read {
                Ok(0) | Err(_) => err_open = false,
                Ok(n) => lock(&output).push(Stream::Stderr, &err_buf[..n]),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(pushes: &[(Stream, &str)]) -> String {
        let mut combined = Combined::default();
        for (stream, text) in pushes {
            combined.push(*stream, text.as_bytes());
        }
        combined.tail.render()
    }

    #[test]
    fn stderr_lines_are_marked_and_interleave_in_arrival_order() {
        use Stream::{Stderr, Stdout};
        assert_eq!(
            render(&[
                (Stdout, "one\ntw"),
                (Stdout, "o\n"),
                (Stderr, "oops\nagain\n"),
                (Stdout, "three\n")
            ]),
            "one\ntwo\n[stderr] oops\n[stderr] again\nthree\n"
        );
        // A line cut by the other stream is ended first, and the rest continues on its own line.
        assert_eq!(
            render(&[(Stdout, "partial"), (Stderr, "err"), (Stdout, " rest\n"), (Stderr, "!\n")]),
            "partial\n[stderr] err\n rest\n[stderr] !\n"
        );
    }

    #[test]
    fn notes_start_on_their_own_line() {
        let mut combined = Combined::default();
        combined.push(Stream::Stdout, b"no newline");
        combined.note("left processes behind");
        assert_eq!(combined.tail.render(), "no newline\n[rota] left processes behind\n");
    }

    #[test]
    fn exit_statuses_read_naturally() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            describe_exit(ExitStatus::from_raw(0)),
            (OutcomeStatus::Succeeded, Some(0), None)
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(3 << 8)),
            (OutcomeStatus::Failed, Some(3), Some("exit status 3".into()))
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(9)),
            (OutcomeStatus::Failed, None, Some("killed by signal 9 (SIGKILL)".into()))
        );
    }

    #[test]
    fn every_run_variable_is_set() {
        let env: Vec<_> = run_env(&crate::handler::envelope::sample()).collect();
        let names: Vec<_> = env.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ENV_NAMES);
        assert!(env.contains(&("ROTA_SCHEDULED_FOR", "2027-03-14T07:00:00Z".to_owned())));
        assert!(env.contains(&("ROTA_PAYLOAD", r#"{"region":"eu"}"#.to_owned())));
    }
}
