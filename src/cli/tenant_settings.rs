//! `rota tenant set`: a tenant's notification channels (webhook, email) and command defaults
//! (resource limits, run-as user, working directory), and their one-line summary in
//! `rota tenant list` (the secret only as `secret: set`).

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use rota::api::{Rota, TenantSettingsUpdate};
use rota::handler::isolation::{human_bytes, parse_bytes};
use rota::handler::SigningSecret;
use rota::store::Store;

use super::BadInput;

#[derive(Debug, Args)]
pub struct SetArgs {
    pub(super) name: String,
    /// Where the tenant's notifications are posted ('' clears).
    #[arg(long)]
    webhook_url: Option<String>,
    /// Signs the tenant's webhooks and HTTP handler requests (Rota-Signature); `-` reads it
    /// from standard input ('' clears).
    #[arg(long)]
    webhook_secret: Option<String>,
    /// Where the tenant's notification emails go ('' clears).
    #[arg(long)]
    notify_email: Option<String>,
    /// Also notify the tenant of every failed occurrence (`run.failed`).
    #[arg(long, value_name = "BOOL")]
    notify_run_failed: Option<bool>,
    /// Also notify the tenant when its rate limit holds runs back (`tenant.throttled`, at most
    /// once per window).
    #[arg(long, value_name = "BOOL")]
    notify_throttled: Option<bool>,
    /// Default CPU seconds per process of the tenant's commands.
    #[arg(long)]
    cpu_seconds: Option<u64>,
    /// Default address space per process, such as 512M or 2G.
    #[arg(long, value_name = "SIZE")]
    address_space: Option<String>,
    /// Default open files per process.
    #[arg(long)]
    open_files: Option<u64>,
    /// Default processes of the run-as user (effective with --run-as only).
    #[arg(long)]
    processes: Option<u64>,
    /// Forget the tenant's default limits (before applying the ones given).
    #[arg(long)]
    clear_limits: bool,
    /// Run the tenant's commands as this user when Rota runs as root ('' clears).
    #[arg(long)]
    run_as: Option<String>,
    /// Run the tenant's commands in this directory instead of <work root>/<tenant> ('' clears).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// `Some(None)` for an empty value (clear), `Some(Some(value))` otherwise.
fn clearable(value: Option<String>) -> Option<Option<String>> {
    value.map(|value| (!value.is_empty()).then_some(value))
}

pub async fn run<S: Store>(args: SetArgs, rota: &Rota<S>) -> anyhow::Result<()> {
    let current = rota.tenant_settings(&args.name).await?;
    let secret = match args.webhook_secret.as_deref() {
        None => None,
        Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|error| BadInput(format!("cannot read the secret: {error}")))?;
            Some(SigningSecret::new(text.trim_end_matches(['\r', '\n'])))
        }
        Some(text) => Some(SigningSecret::new(text)),
    };
    let limits_given = args.cpu_seconds.is_some()
        || args.address_space.is_some()
        || args.open_files.is_some()
        || args.processes.is_some();
    let command_limits = if limits_given || args.clear_limits {
        let mut limits =
            if args.clear_limits { Default::default() } else { current.command_limits.clone() };
        if let Some(seconds) = args.cpu_seconds {
            limits.cpu_seconds = Some(seconds);
        }
        if let Some(size) = &args.address_space {
            limits.address_space_bytes = Some(
                parse_bytes(size).map_err(|error| BadInput(format!("--address-space: {error}")))?,
            );
        }
        if let Some(files) = args.open_files {
            limits.open_files = Some(files);
        }
        if let Some(processes) = args.processes {
            limits.processes = Some(processes);
        }
        Some(limits)
    } else {
        None
    };
    let update = TenantSettingsUpdate {
        webhook_url: clearable(args.webhook_url),
        webhook_secret: secret,
        notify_email: clearable(args.notify_email),
        command_limits,
        run_as: clearable(args.run_as),
        work_dir: args.work_dir.map(|dir| (!dir.as_os_str().is_empty()).then_some(dir)),
        notify_run_failed: args.notify_run_failed,
        notify_throttled: args.notify_throttled,
    };
    if update == TenantSettingsUpdate::default() {
        // Only limits were given (`tenant::TenantLimitArgs`): no settings change to record.
        return Ok(());
    }
    rota.update_tenant_settings(&args.name, &update).await?;
    println!("updated tenant {}: {}", args.name, summary(rota, &args.name).await?);
    Ok(())
}

/// `webhook https://… (secret: set), email ops@…, limits cpu 600 s, …, run as acme`, or `-`.
pub async fn summary<S: Store>(rota: &Rota<S>, tenant: &str) -> anyhow::Result<String> {
    let settings = rota.tenant_settings(tenant).await?;
    let mut parts = Vec::new();
    if let Some(url) = &settings.webhook_url {
        parts.push(format!("webhook {}", rota::redact::url(url)));
    }
    if settings.webhook_secret.is_some() {
        parts.push("secret: set".to_owned());
    }
    if let Some(email) = &settings.notify_email {
        parts.push(format!("email {email}"));
    }
    let opted: Vec<&str> = [
        (settings.notify_run_failed, "run.failed"),
        (settings.notify_throttled, "tenant.throttled"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if !opted.is_empty() {
        parts.push(format!("also notify {}", opted.join(", ")));
    }
    let limits = &settings.command_limits;
    let mut set = Vec::new();
    if let Some(seconds) = limits.cpu_seconds {
        set.push(format!("cpu {seconds} s"));
    }
    if let Some(bytes) = limits.address_space_bytes {
        set.push(format!("address space {}", human_bytes(bytes)));
    }
    if let Some(files) = limits.open_files {
        set.push(format!("open files {files}"));
    }
    if let Some(processes) = limits.processes {
        set.push(format!("processes {processes}"));
    }
    if !set.is_empty() {
        parts.push(format!("limits {}", set.join(", ")));
    }
    if let Some(user) = &settings.run_as {
        parts.push(format!("run as {user}"));
    }
    if let Some(dir) = &settings.work_dir {
        parts.push(format!("in {}", dir.display()));
    }
    Ok(if parts.is_empty() { "-".to_owned() } else { parts.join(", ") })
}
