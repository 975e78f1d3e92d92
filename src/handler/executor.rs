//! The executor: runs a resolved handler under a timeout and a cancellation token, and always
//! comes back with an [`Outcome`].

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::isolation::{CommandPolicy, RunContext};
use super::outcome::human_duration;
use super::{
    command, http, CommandSpec, EgressPolicy, Envelope, FollowRedirects, Handler, HttpSpec,
    Outcome, OutcomeStatus,
};
use crate::clock::{Clock, SystemClock};

/// How long a stopped run gets to finish after SIGTERM (commands) or after its token fires
/// (in-process handlers) before it is killed or aborted.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);

/// A handler ready to run: a [`super::HandlerSpec`] with any `Named` reference resolved.
#[derive(Clone)]
pub enum ResolvedSpec {
    Http(HttpSpec),
    Command(CommandSpec),
    InProcess(Arc<dyn Handler>),
}

impl ResolvedSpec {
    /// `http`, `command` or `in_process`, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ResolvedSpec::Http(_) => "http",
            ResolvedSpec::Command(_) => "command",
            ResolvedSpec::InProcess(_) => "in_process",
        }
    }
}

impl fmt::Debug for ResolvedSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolvedSpec::Http(spec) => f.debug_tuple("Http").field(spec).finish(),
            ResolvedSpec::Command(spec) => f.debug_tuple("Command").field(spec).finish(),
            ResolvedSpec::InProcess(_) => f.write_str("InProcess(..)"),
        }
    }
}

impl From<HttpSpec> for ResolvedSpec {
    fn from(spec: HttpSpec) -> Self {
        ResolvedSpec::Http(spec)
    }
}

impl From<CommandSpec> for ResolvedSpec {
    fn from(spec: CommandSpec) -> Self {
        ResolvedSpec::Command(spec)
    }
}

impl From<Arc<dyn Handler>> for ResolvedSpec {
    fn from(handler: Arc<dyn Handler>) -> Self {
        ResolvedSpec::InProcess(handler)
    }
}

/// Runs handlers. Create one and share it: it holds the HTTP connection pools.
#[derive(Clone, Debug)]
pub struct Executor {
    http: HttpClients,
    kill_grace: Duration,
    /// How commands are isolated (environment, working directories, limits, the wrapper).
    policy: CommandPolicy,
    /// The time written into request signatures.
    clock: Arc<dyn Clock>,
}

/// One HTTP client per redirect rule, both applying the egress policy. Clients are built once:
/// each holds a connection pool.
#[derive(Clone, Debug)]
struct HttpClients {
    egress: EgressPolicy,
    no_redirects: reqwest::Client,
    same_origin: reqwest::Client,
}

impl HttpClients {
    fn new(egress: EgressPolicy) -> Self {
        HttpClients {
            egress,
            no_redirects: egress.client(FollowRedirects::None),
            same_origin: egress.client(FollowRedirects::SameOrigin),
        }
    }

    fn for_spec(&self, spec: &HttpSpec) -> &reqwest::Client {
        match spec.follow_redirects {
            FollowRedirects::None => &self.no_redirects,
            FollowRedirects::SameOrigin => &self.same_origin,
        }
    }
}

impl Default for Executor {
    fn default() -> Self {
        Executor::new()
    }
}

impl Executor {
    /// An executor with its own HTTP clients (no egress restriction), [`DEFAULT_KILL_GRACE`]
    /// and the default command policy.
    pub fn new() -> Self {
        Executor {
            http: HttpClients::new(EgressPolicy::default()),
            kill_grace: DEFAULT_KILL_GRACE,
            policy: CommandPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Sets where HTTP handlers may connect ([`super::egress`]).
    pub fn with_egress(mut self, egress: EgressPolicy) -> Self {
        self.http = HttpClients::new(egress);
        self
    }

    pub fn egress(&self) -> EgressPolicy {
        self.http.egress
    }

    /// Sets how commands are isolated.
    pub fn with_command_policy(mut self, policy: CommandPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the `rota` binary that applies resource limits and switches user (`rota __exec`):
    /// `std::env::current_exe()` in the daemon, `env!("CARGO_BIN_EXE_rota")` in tests.
    pub fn with_exec_wrapper(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.policy.exec_wrapper = Some(path.into());
        self
    }

    /// Sets the clock whose time request signatures carry.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn command_policy(&self) -> &CommandPolicy {
        &self.policy
    }

    /// Sets the grace between SIGTERM and SIGKILL (and between cancelling an in-process
    /// handler's token and aborting it).
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    pub fn kill_grace(&self) -> Duration {
        self.kill_grace
    }

    /// Runs `spec` for `envelope`. `timeout` stops the work (status `TimedOut`); `cancel` stops
    /// it early (status `Cancelled`); a token cancelled beforehand means nothing starts. The
    /// outcome's output and error are bounded, and its duration measured here.
    pub async fn execute(
        &self,
        spec: &ResolvedSpec,
        envelope: &Envelope,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Outcome {
        self.execute_in(spec, envelope, &RunContext::default(), timeout, cancel).await
    }

    /// [`Executor::execute`] for a run of a tenant with `context`: its signing secret and the
    /// defaults of its commands.
    pub async fn execute_in(
        &self,
        spec: &ResolvedSpec,
        envelope: &Envelope,
        context: &RunContext,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Outcome {
        // Only what the caller's span lacks: the engine runs this inside its `run` span, which
        // names the run, job, tenant and attempt (repeating them doubled every log line).
        let span = tracing::info_span!("handler", kind = spec.kind());
        async {
            // tokio's clock, so that tests on paused time measure virtual durations.
            let started = tokio::time::Instant::now();
            let outcome = if cancel.is_cancelled() {
                Outcome::new(
                    OutcomeStatus::Cancelled,
                    String::new(),
                    Some("cancelled before it started".into()),
                )
            } else {
                match spec {
                    ResolvedSpec::Http(spec) => {
                        let signing = context
                            .signing_secret
                            .as_ref()
                            .map(|secret| (secret, self.clock.now().timestamp()));
                        let client = self.http.for_spec(spec);
                        let egress = &self.http.egress;
                        http::run(client, egress, spec, envelope, signing, timeout, &cancel).await
                    }
                    ResolvedSpec::Command(spec) => {
                        command::run(
                            spec,
                            envelope,
                            timeout,
                            &cancel,
                            self.kill_grace,
                            &self.policy,
                            context,
                        )
                        .await
                    }
                    ResolvedSpec::InProcess(handler) => {
                        run_in_process(
                            Arc::clone(handler),
                            envelope,
                            timeout,
                            &cancel,
                            self.kill_grace,
                        )
                        .await
                    }
                }
            };
            let outcome = Outcome { duration: started.elapsed(), ..outcome }.bounded();
            // Debug: the engine logs the run's end once, with its recorded status (the soak
            // showed two info lines per run, 300 KB a minute per node at 20 runs a second).
            tracing::debug!(
                status = %outcome.status,
                duration_ms = outcome.duration.as_millis() as u64,
                exit_code = outcome.exit_code,
                http_status = outcome.http_status,
                error = outcome.error.as_deref(),
                "handler finished",
            );
            outcome
        }
        .instrument(span)
        .await
    }
}

/// Runs an in-process handler on its own task, so that a panic becomes a failure and a handler
/// that ignores its token can still be aborted.
async fn run_in_process(
    handler: Arc<dyn Handler>,
    envelope: &Envelope,
    timeout: Duration,
    cancel: &CancellationToken,
    grace: Duration,
) -> Outcome {
    let token = cancel.child_token();
    let task = {
        let envelope = envelope.clone();
        let token = token.clone();
        tokio::spawn(async move { handler.run(&envelope, token).await }.in_current_span())
    };
    let mut task = AbortOnDrop(task);
    let (status, reason) = tokio::select! {
        biased;
        joined = &mut task.0 => return finished(joined),
        () = cancel.cancelled() => (OutcomeStatus::Cancelled, "cancelled".to_owned()),
        () = tokio::time::sleep(timeout) => {
            (OutcomeStatus::TimedOut, format!("timed out after {}", human_duration(timeout)))
        }
    };
    token.cancel();
    let (output, how) = match tokio::time::timeout(grace, &mut task.0).await {
        Ok(Ok(outcome)) => (outcome.output, "the handler stopped".to_owned()),
        Ok(Err(error)) => (String::new(), format!("the handler then {}", join_failure(error))),
        Err(_) => {
            task.0.abort();
            (
                String::new(),
                format!(
                    "the handler ignored it for the {} grace and was aborted",
                    human_duration(grace)
                ),
            )
        }
    };
    Outcome::new(status, output, Some(format!("{reason} ({how})")))
}

fn finished(joined: Result<Outcome, tokio::task::JoinError>) -> Outcome {
    match joined {
        Ok(outcome) => outcome,
        Err(error) => Outcome::new(
            OutcomeStatus::Failed,
            String::new(),
            Some(format!("the handler {}", join_failure(error))),
        ),
    }
}

fn join_failure(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        Err(_) => "was aborted".to_owned(),
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Aborts the task when dropped, so that a dropped run leaves no handler running.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::handler::envelope::sample;

    /// Echoes the payload; or sleeps, politely (watching its token) or not; or panics.
    enum Behaviour {
        Echo,
        SleepPolitely,
        SleepStubbornly(Arc<AtomicBool>),
        Panic,
    }

    #[async_trait::async_trait]
    impl Handler for Behaviour {
        async fn run(&self, envelope: &Envelope, cancel: CancellationToken) -> Outcome {
            match self {
                Behaviour::Echo => Outcome::succeeded(envelope.payload.to_string()),
                Behaviour::SleepPolitely => {
                    cancel.cancelled().await;
                    Outcome::failed("stopped early")
                }
                Behaviour::SleepStubbornly(finished) => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    finished.store(true, Ordering::SeqCst);
                    Outcome::succeeded("")
                }
                Behaviour::Panic => panic!("boom {}", envelope.job),
            }
        }
    }

    fn spec(behaviour: Behaviour) -> ResolvedSpec {
        ResolvedSpec::InProcess(Arc::new(behaviour))
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn in_process_success() {
        let outcome = Executor::new()
            .execute(&spec(Behaviour::Echo), &sample(), HOUR, CancellationToken::new())
            .await;
        assert_eq!(outcome.status, OutcomeStatus::Succeeded);
        assert_eq!(outcome.output, r#"{"region":"eu"}"#);
        assert_eq!(outcome.error, None);
    }

    #[tokio::test(start_paused = true)]
    async fn in_process_timeout_cancels_the_token() {
        let timeout = Duration::from_secs(30);
        let outcome = Executor::new()
            .execute(&spec(Behaviour::SleepPolitely), &sample(), timeout, CancellationToken::new())
            .await;
        assert_eq!(outcome.status, OutcomeStatus::TimedOut);
        assert_eq!(outcome.error.as_deref(), Some("timed out after 30s (the handler stopped)"));
        assert_eq!(outcome.duration, timeout);
    }

    #[tokio::test(start_paused = true)]
    async fn in_process_handler_that_ignores_its_token_is_aborted_after_the_grace() {
        let finished = Arc::new(AtomicBool::new(false));
        let executor = Executor::new().with_kill_grace(Duration::from_secs(2));
        let outcome = executor
            .execute(
                &spec(Behaviour::SleepStubbornly(finished.clone())),
                &sample(),
                Duration::from_secs(1),
                CancellationToken::new(),
            )
            .await;
        assert_eq!(outcome.status, OutcomeStatus::TimedOut);
        assert_eq!(
            outcome.error.as_deref(),
            Some("timed out after 1s (the handler ignored it for the 2s grace and was aborted)")
        );
        assert_eq!(outcome.duration, Duration::from_secs(3));
        tokio::time::sleep(2 * HOUR).await;
        assert!(!finished.load(Ordering::SeqCst), "the aborted handler must not run on");
    }

    #[tokio::test(start_paused = true)]
    async fn in_process_cancellation() {
        let cancel = CancellationToken::new();
        let executor = Executor::new();
        let (polite, envelope) = (spec(Behaviour::SleepPolitely), sample());
        let run = executor.execute(&polite, &envelope, HOUR, cancel.clone());
        let canceller = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            cancel.cancel();
        };
        let (outcome, ()) = tokio::join!(run, canceller);
        assert_eq!(outcome.status, OutcomeStatus::Cancelled);
        assert_eq!(outcome.error.as_deref(), Some("cancelled (the handler stopped)"));
        assert_eq!(outcome.output, "");
    }

    #[tokio::test]
    async fn already_cancelled_runs_do_not_start() {
        let cancel = CancellationToken::new();
        cancel.cancel();
        let outcome =
            Executor::new().execute(&spec(Behaviour::Panic), &sample(), HOUR, cancel).await;
        assert_eq!(outcome.status, OutcomeStatus::Cancelled);
        assert_eq!(outcome.error.as_deref(), Some("cancelled before it started"));
    }

    #[tokio::test]
    async fn in_process_panic_is_a_failure() {
        let outcome = Executor::new()
            .execute(&spec(Behaviour::Panic), &sample(), HOUR, CancellationToken::new())
            .await;
        assert_eq!(outcome.status, OutcomeStatus::Failed);
        assert_eq!(outcome.error.as_deref(), Some("the handler panicked: boom daily-report"));
    }

    #[test]
    fn debug_of_resolved_specs_hides_secrets() {
        let http: ResolvedSpec =
            HttpSpec::post("https://example.com").with_header("Authorization", "Bearer xyz").into();
        assert!(!format!("{http:?}").contains("xyz"));
        assert_eq!(format!("{:?}", spec(Behaviour::Echo)), "InProcess(..)");
    }
}
