//! `rota runs list`.

use clap::Subcommand;
use rota::run::RunStatus;
use rota::store::RunFilter;

use super::db::DatabaseArgs;
use super::output::{instant, print_json, print_table};

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first.
    #[command(after_help = "Example:\n  rota runs list --tenant acme --status failed --json")]
    List {
        #[arg(long)]
        tenant: Option<String>,
        /// Job name (within --tenant, or in any tenant).
        #[arg(long)]
        job: Option<String>,
        /// queued, running, succeeded, failed, timed_out, cancelled or lost.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: RunsCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let RunsCommand::List { tenant, job, status, limit, json } = command;
    // Validate before connecting: a typo must not cost a database round trip, nor create a file.
    let status = status.map(|text| text.parse::<RunStatus>()).transpose()?;
    let rota = database.open().await?;
    let runs = rota
        .list_runs(&RunFilter { tenant, job, job_id: None, status, limit: Some(limit) })
        .await?;
    if json {
        return print_json(&runs);
    }
    let rows = runs
        .into_iter()
        .map(|run| {
            vec![
                run.id.to_string(),
                format!("{}/{}", run.tenant, run.job),
                instant(Some(run.scheduled_at)),
                run.trigger.to_string(),
                run.attempt.to_string(),
                run.status.to_string(),
                run.duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "-".into()),
                run.error.unwrap_or_default().chars().take(60).collect(),
            ]
        })
        .collect();
    print_table(
        &["RUN", "JOB", "SCHEDULED", "TRIGGER", "ATTEMPT", "STATUS", "DURATION", "ERROR"],
        rows,
    );
    Ok(())
}
