//! `rota import crontab FILE --tenant NAME [--tz ZONE] [--system] [--dry-run]`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use rota::import::{self, CrontabOptions, Format, ImportError};

use super::db::DatabaseArgs;
use super::BadInput;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a crontab's entries as command jobs of a tenant.
    #[command(after_help = "Examples:\n  \
        rota import crontab /var/spool/cron/crontabs/www-data --tenant web --tz Europe/Berlin --dry-run\n  \
        crontab -l | rota import crontab - --tenant web\n  \
        rota import crontab /etc/crontab --system --tenant ops\n\n\
        Each entry becomes a command job named after its program and schedule (such as\n\
        backup.sh-30.2.x.x.x); importing the same file again updates those jobs instead of\n\
        adding new ones. An invalid line refuses the whole import; @reboot entries are skipped.")]
    Crontab(CrontabArgs),
}

#[derive(Debug, Args)]
pub struct CrontabArgs {
    /// The crontab file, or `-` for standard input.
    file: PathBuf,
    /// The tenant that gets the jobs (it must exist).
    #[arg(long)]
    tenant: String,
    /// Time zone of the schedules before any CRON_TZ line (default: this machine's zone).
    #[arg(long)]
    tz: Option<String>,
    /// The system format, with a user field (/etc/crontab, /etc/cron.d/*); the user becomes the
    /// job's run-as user.
    #[arg(long)]
    system: bool,
    /// Print the plan without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Seconds each imported job may run before it is stopped (cron has no timeout).
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
}

pub async fn run(command: ImportCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let ImportCommand::Crontab(args) = command;
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|error| BadInput(format!("cannot read standard input: {error}")))?
    } else {
        let bytes = std::fs::read(&args.file)
            .map_err(|error| BadInput(format!("cannot read {}: {error}", args.file.display())))?;
        String::from_utf8(bytes)
            .map_err(|_| BadInput(format!("{} is not UTF-8 text", args.file.display())))?
    };
    let timezone = args.tz.clone().unwrap_or_else(local_zone);
    let options = CrontabOptions {
        format: if args.system { Format::System } else { Format::User },
        timezone: timezone.clone(),
        timeout: Duration::from_secs(args.timeout),
    };
    let rota = database.open().await?;
    let plan = import::import_crontab(&rota, &args.tenant, &text, &options, args.dry_run)
        .await
        .map_err(into_anyhow)?;
    println!(
        "crontab {} into tenant {} (zone {timezone}, timeout {}s):",
        args.file.display(),
        args.tenant,
        args.timeout
    );
    println!("{plan}");
    if args.dry_run {
        println!("dry run: nothing was written");
    }
    Ok(())
}

/// Bad input exits with status 2, database failures with 1.
pub fn into_anyhow(error: ImportError) -> anyhow::Error {
    if error.is_bad_input() {
        BadInput(error.to_string()).into()
    } else {
        error.into()
    }
}

/// This machine's IANA zone: `/etc/timezone`, else the target of `/etc/localtime`, else UTC.
fn local_zone() -> String {
    let valid = |name: &str| name.parse::<chrono_tz::Tz>().is_ok();
    if let Ok(text) = std::fs::read_to_string("/etc/timezone") {
        let name = text.trim();
        if valid(name) {
            return name.to_owned();
        }
    }
    if let Ok(target) = std::fs::read_link("/etc/localtime") {
        let target = target.to_string_lossy();
        if let Some((_, name)) = target.split_once("zoneinfo/") {
            if valid(name) {
                return name.to_owned();
            }
        }
    }
    "UTC".to_owned()
}
