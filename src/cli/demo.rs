//! `rota demo seed`.

use clap::Subcommand;

use super::db::DatabaseArgs;

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Create demo tenants and jobs (local programs only, no network needed).
    #[command(after_help = "Example:\n  rota demo seed --if-empty")]
    Seed {
        /// Do nothing when the database already has tenants or jobs.
        #[arg(long)]
        if_empty: bool,
    },
}

pub async fn run(command: DemoCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let DemoCommand::Seed { if_empty } = command;
    let rota = database.open().await?;
    let report = if if_empty {
        rota::demo::seed_if_empty(&rota).await?
    } else {
        Some(rota::demo::seed(&rota).await?)
    };
    match report {
        Some(report) => {
            println!("demo data created: {} tenants, {} jobs", report.tenants, report.jobs)
        }
        None => println!("the database already has data; no demo data added"),
    }
    Ok(())
}
