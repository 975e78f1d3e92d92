//! `rota audit list`: who changed what, newest first.

use chrono::DateTime;
use clap::Subcommand;
use rota::api::{AuditAction, AuditEntry, AuditFilter};
use rota::import::diff::diff;

use super::db::DatabaseArgs;
use super::output::{instant, print_json, print_table};
use super::BadInput;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List the audit log, newest first: when, who, what, and the fields that changed.
    #[command(after_help = "Examples:\n  \
        rota audit list --tenant acme --since 2027-03-01T00:00:00Z\n  \
        rota audit list --tenant acme --job nightly-report --json\n\n\
        --json prints each entry with the whole record before and after the change (secrets are\n\
        never recorded). The log is append-only.")]
    List {
        /// Entries about this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Entries about jobs of this name (within --tenant, or in any tenant).
        #[arg(long)]
        job: Option<String>,
        /// Entries at or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

/// Fields that change with every write; the table leaves them out of its summary.
const NOISE: [&str; 3] = ["updated_at", "version", "next_run_at"];

pub async fn run(command: AuditCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let AuditCommand::List { tenant, job, since, limit, json } = command;
    let since = since
        .map(|text| {
            DateTime::parse_from_rfc3339(&text).map(|at| at.to_utc()).map_err(|error| {
                BadInput(format!("--since: {text:?} is not an RFC 3339 instant: {error}"))
            })
        })
        .transpose()?;
    let rota = database.open().await?;
    let mut entries =
        rota.audit_log(&AuditFilter { tenant, job, since, limit: Some(limit) }).await?;
    // Snapshots were redacted when written; again here for entries an older redactor wrote.
    for entry in &mut entries {
        entry.before = entry.before.take().map(rota::redact::json);
        entry.after = entry.after.take().map(rota::redact::json);
    }
    if json {
        return print_json(&entries);
    }
    let rows = entries
        .iter()
        .map(|entry| {
            vec![
                instant(Some(entry.at)),
                match &entry.display_name {
                    // The role, and the name its client gave (`alice (on call)`).
                    Some(name) => format!("{} ({name})", entry.operator),
                    None => entry.operator.clone(),
                },
                entry.action.to_string(),
                target(entry),
                changes(entry),
            ]
        })
        .collect();
    print_table(&["AT", "OPERATOR", "ACTION", "TARGET", "CHANGES"], rows);
    Ok(())
}

/// `acme/nightly-report`, `acme`, `handler reports.daily`, or `calendar acme/office` (a shared
/// calendar: `calendar holidays`).
fn target(entry: &AuditEntry) -> String {
    let calendar = entry.after.as_ref().or(entry.before.as_ref()).and_then(|s| s["name"].as_str());
    let about_calendar = matches!(
        entry.action,
        AuditAction::CalendarCreated | AuditAction::CalendarUpdated | AuditAction::CalendarRemoved
    );
    if let (true, Some(name)) = (about_calendar, calendar) {
        return match &entry.tenant {
            Some(tenant) => format!("calendar {tenant}/{name}"),
            None => format!("calendar {name}"),
        };
    }
    match (&entry.tenant, &entry.job, &entry.handler) {
        (Some(tenant), Some(job), _) => format!("{tenant}/{job}"),
        (Some(tenant), None, _) => tenant.clone(),
        (None, _, Some(handler)) => format!("handler {handler}"),
        _ => "-".to_owned(),
    }
}

/// The changed fields (`schedule: "0 * * * *" → "5 * * * *"`), or what an operation created.
fn changes(entry: &AuditEntry) -> String {
    let (before, after) = match (&entry.before, &entry.after) {
        (Some(before), Some(after)) => (before, after),
        (None, Some(after))
            if matches!(entry.action, AuditAction::JobTriggered | AuditAction::JobBackfilled) =>
        {
            return compact(after);
        }
        (None, Some(_)) => return "created".to_owned(),
        (Some(_), None) => return "deleted".to_owned(),
        (None, None) => return "-".to_owned(),
    };
    let fields: Vec<String> = diff(before, after)
        .into_iter()
        .filter(|change| !NOISE.contains(&change.path.as_str()))
        .map(|change| change.to_string())
        .collect();
    if fields.is_empty() {
        "no change".to_owned()
    } else {
        fields.join("; ")
    }
}

fn compact(value: &serde_json::Value) -> String {
    match value.as_object() {
        Some(map) => map
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(key, value)| format!("{key} {value}"))
            .collect::<Vec<_>>()
            .join(", "),
        None => value.to_string(),
    }
}
