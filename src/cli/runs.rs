//! `rota runs list|prune`.

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
        /// queued, running, succeeded, failed, timed_out, cancelled, lost, skipped or missed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Delete old finished runs, always keeping each job's most recent ones.
    #[command(after_help = "Example:\n  rota runs prune --older-than-days 90 --keep-last 100")]
    Prune {
        /// Delete finished runs scheduled more than this many days ago.
        #[arg(long)]
        older_than_days: u32,
        /// Always keep this many of every job's most recent runs.
        #[arg(long, default_value_t = 100)]
        keep_last: u32,
    },
}

pub async fn run(command: RunsCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let (tenant, job, status, limit, json) = match command {
        RunsCommand::List { tenant, job, status, limit, json } => {
            (tenant, job, status, limit, json)
        }
        RunsCommand::Prune { older_than_days, keep_last } => {
            let rota = database.open().await?;
            let deleted = rota.prune_runs(older_than_days, keep_last).await?;
            println!(
                "deleted {deleted} runs older than {older_than_days} days (kept the last \
                 {keep_last} of every job)"
            );
            return Ok(());
        }
    };
    // Validate before connecting: a typo must not cost a database round trip, nor create a file.
    let status = status.map(|text| text.parse::<RunStatus>()).transpose()?;
    let rota = database.open().await?;
    let runs = rota
        .list_runs(&RunFilter { tenant, job, job_id: None, status, limit: Some(limit) })
        .await?;
    // Errors and outputs may quote URLs (a failed request names its target).
    let runs: Vec<_> = runs.into_iter().map(rota::redact::run).collect();
    if json {
        return print_json(&runs);
    }
    let rows = runs
        .into_iter()
        .map(|run| {
            // Why it did not run, ran late or failed: the policy's reason first, then the error.
            let why = run.reason.or(run.error).unwrap_or_default();
            vec![
                run.id.to_string(),
                format!("{}/{}", run.tenant, run.job),
                instant(Some(run.scheduled_at)),
                run.trigger.to_string(),
                run.attempt.to_string(),
                run.status.to_string(),
                run.duration_ms.map(|ms| format!("{ms} ms")).unwrap_or_else(|| "-".into()),
                run.waited_for.map_or_else(|| "-".to_owned(), |waited| waited.to_string()),
                why.chars().take(60).collect(),
            ]
        })
        .collect();
    print_table(
        &["RUN", "JOB", "SCHEDULED", "TRIGGER", "ATTEMPT", "STATUS", "DURATION", "WAITED", "WHY"],
        rows,
    );
    Ok(())
}
