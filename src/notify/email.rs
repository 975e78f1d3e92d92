//! The email channel: the event as a plain-text email to the tenant's `notify_email`, sent with
//! `lettre` over SMTP (no TLS, STARTTLS or TLS from the first byte), with the server's address,
//! TLS mode and credentials from the daemon's configuration (`rota serve --smtp-*`).
//!
//! The password never shows: [`SmtpPassword`] has a redacted `Debug` and no `Display`, and
//! [`SmtpConfig`]'s `Debug` prints it redacted too; the transport that holds it is private and
//! has no `Debug`. The `Message-ID` is derived from the event id, so it is the same on every
//! attempt and mail systems can drop duplicates.

use std::fmt;
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::ClaimedEvent;
use crate::error::{Error, Result};
use crate::text_enum::text_enum;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SmtpTls {
    /// Plain text (a relay on localhost or in a private network).
    None,
    /// Plain text upgraded with `STARTTLS`, which the server must offer (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

text_enum!(SmtpTls, "smtp tls", {
    None => "none",
    StartTls => "starttls",
    Tls => "tls",
});

impl SmtpTls {
    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        }
    }
}

/// The SMTP password. Never shown: `Debug` prints `SmtpPassword(<redacted>)`, there is no
/// `Display` or `Serialize`, and [`SmtpPassword::expose`] is the one way to the text.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpPassword(String);

impl SmtpPassword {
    pub fn new(password: impl Into<String>) -> Self {
        SmtpPassword(password.into())
    }

    /// The text, for the one place that must have it (the SMTP `AUTH` command).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmtpPassword(<redacted>)")
    }
}

/// Where and how notification emails are sent.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// With a password: log in (`AUTH PLAIN` or `LOGIN`, as the server offers).
    pub username: Option<String>,
    pub password: Option<SmtpPassword>,
    /// The sender, such as `Rota <rota@example.com>`.
    pub from: String,
    /// For connecting, and again for the whole conversation that sends one email (`lettre`'s
    /// async transport bounds only the connection: a server that stopped answering would hold
    /// the delivery, and the notification worker with it, forever).
    pub timeout: Duration,
}

impl SmtpConfig {
    /// A server at `host` with the mode's usual port, no login, and `rota@localhost` as the
    /// sender.
    pub fn new(host: impl Into<String>, tls: SmtpTls) -> Self {
        SmtpConfig {
            host: host.into(),
            port: tls.default_port(),
            tls,
            username: None,
            password: None,
            from: "Rota <rota@localhost>".to_owned(),
            timeout: Duration::from_secs(30),
        }
    }

    /// Checks the sender's address and that a password comes with a user name.
    pub fn validate(&self) -> Result<()> {
        if self.host.trim().is_empty() {
            return Err(Error::invalid("smtp host", &self.host, "must not be empty"));
        }
        self.from
            .parse::<Mailbox>()
            .map_err(|error| Error::invalid("smtp from", &self.from, error.to_string()))?;
        if self.password.is_some() && self.username.is_none() {
            return Err(Error::invalid("smtp user", "", "a password needs a user name"));
        }
        Ok(())
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A connection setup to the configured server (one connection per email; notifications are
/// rare). No `Debug`: it holds the credentials.
#[derive(Clone)]
pub(super) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for the log.
    server: String,
    /// The whole conversation of one email.
    timeout: Duration,
}

impl Mailer {
    pub(super) fn new(config: &SmtpConfig) -> Result<Mailer> {
        config.validate()?;
        let invalid = |error: lettre::transport::smtp::Error| {
            Error::invalid("smtp host", &config.host, error.to_string())
        };
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                .map_err(invalid)?,
            SmtpTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host).map_err(invalid)?
            }
        };
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder =
                builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: config.from.parse().expect("validated above"),
            server: format!("{}:{}", config.host, config.port),
            timeout: config.timeout,
        })
    }

    /// Sends `claimed` to `to`.
    pub(super) async fn send(&self, to: &str, claimed: &ClaimedEvent) -> EmailResult {
        let message = match self.message(to, claimed) {
            Ok(message) => message,
            Err(error) => return EmailResult { reply: None, error: Some(error) },
        };
        // Replies are bounded by lettre (100,000 bytes per reply, 1,000 per line, checked as
        // each line ends); the time, and with it what a line without an end can grow to, here.
        let Ok(sent) = tokio::time::timeout(self.timeout, self.transport.send(message)).await
        else {
            return EmailResult {
                reply: None,
                error: Some(format!(
                    "SMTP {}: no complete answer within {} s",
                    self.server,
                    self.timeout.as_secs()
                )),
            };
        };
        match sent {
            Ok(response) => EmailResult { reply: Some(reply_text(&response)), error: None },
            Err(error) => EmailResult {
                reply: error.status().map(|code| code.to_string()),
                error: Some(format!("SMTP {}: {error}", self.server)),
            },
        }
    }

    fn message(&self, to: &str, claimed: &ClaimedEvent) -> std::result::Result<Message, String> {
        let to: Mailbox = to
            .parse()
            .map_err(|error| format!("notify_email {to:?} is not an address: {error}"))?;
        let (subject, body) = text(claimed);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}@rota.notifications>", claimed.event.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|error| format!("cannot build the email: {error}"))
    }
}

/// How one email went: the server's reply (code and text), or why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct EmailResult {
    pub reply: Option<String>,
    pub error: Option<String>,
}

fn reply_text(response: &lettre::transport::smtp::response::Response) -> String {
    let lines: Vec<&str> = response.message().collect();
    format!("{} {}", response.code(), lines.join(" ")).trim().to_owned()
}

/// The subject and body of the email for `claimed`: they name the tenant, the job and what
/// happened (for a failure, the last error).
pub fn text(claimed: &ClaimedEvent) -> (String, String) {
    use crate::event::Event;
    let event = &claimed.event;
    let tenant = &claimed.tenant;
    let job = claimed.job.as_deref().or(event.event.job_name()).unwrap_or("(deleted job)");
    let (subject, summary) = match &event.event {
        Event::JobAutoDisabled(data) => (
            format!("[Rota] {tenant}/{job} was disabled after failures"),
            format!(
                "Rota disabled the job {job} of tenant {tenant} after {} failed run(s) in a \
                 row{}.\n\nLast error: {}\n\nEnable it again when the cause is fixed:\n  \
                 rota job enable --tenant {tenant} --name {job}\n",
                data.consecutive_failures,
                if data.probation { " (it was on probation)" } else { "" },
                data.last_error.as_deref().unwrap_or("(none)"),
            ),
        ),
        Event::JobReEnabled(data) => (
            format!("[Rota] {tenant}/{job} was enabled again"),
            format!(
                "The job {job} of tenant {tenant} was enabled again by {}{}.\n",
                data.operator,
                if data.probation {
                    " on probation (its next failure disables it again)"
                } else {
                    ""
                },
            ),
        ),
        Event::RunFailed(data) => (
            format!("[Rota] {tenant}/{job} failed"),
            format!(
                "A run of the job {job} of tenant {tenant} failed ({}, attempt {}, scheduled \
                 for {}).\n\nError: {}\n",
                data.status,
                data.attempt,
                data.scheduled_at.map_or_else(
                    || "-".to_owned(),
                    |at| at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                ),
                data.error.as_deref().unwrap_or("(none)"),
            ),
        ),
        Event::TenantThrottled(data) => (
            format!("[Rota] {tenant} reached its rate limit"),
            format!(
                "Tenant {tenant} started {} runs within {} s, its rate limit: runs that are \
                 ready wait until the window frees room (they are not dropped).\n",
                data.rate_limit.count,
                data.rate_limit.window_ms / 1000,
            ),
        ),
    };
    let body = format!(
        "{summary}\nEvent: {} ({})\nOccurred at: {}\nData: {}\n",
        event.event.kind(),
        event.id,
        event.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        event.event.data(),
    );
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let mut config = SmtpConfig::new("smtp.example.com", SmtpTls::StartTls);
        config.username = Some("rota".into());
        config.password = Some(SmtpPassword::new("hunter2-secret"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert_eq!(format!("{:?}", SmtpPassword::new("x")), "SmtpPassword(<redacted>)");
        config.validate().unwrap();
        config.username = None;
        assert!(config.validate().is_err(), "a password needs a user");
    }

    #[test]
    fn tls_modes_parse_and_have_their_ports() {
        assert_eq!("starttls".parse::<SmtpTls>().unwrap().default_port(), 587);
        assert_eq!("tls".parse::<SmtpTls>().unwrap().default_port(), 465);
        assert_eq!("none".parse::<SmtpTls>().unwrap().default_port(), 25);
        assert!("ssl".parse::<SmtpTls>().is_err());
    }
}
