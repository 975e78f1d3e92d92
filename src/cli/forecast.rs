//! `rota forecast`: when every enabled job starts over the next hours.

use clap::Args;

use super::db::DatabaseArgs;
use super::output::{print_json, print_table};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  rota forecast\n  rota forecast --tenant acme --hours 48 --json"
)]
pub struct ForecastArgs {
    /// Only this tenant's jobs.
    #[arg(long)]
    tenant: Option<String>,
    /// How far ahead, in hours (1-168).
    #[arg(long, default_value_t = 24)]
    hours: u32,
    #[arg(long)]
    json: bool,
}

pub async fn run(args: ForecastArgs, database: &DatabaseArgs) -> anyhow::Result<()> {
    let rota = database.open().await?;
    let forecast = rota.forecast(args.tenant.as_deref(), args.hours, None).await?;
    if args.json {
        return print_json(&forecast);
    }
    println!(
        "{} start(s) of {} job(s) from {} to {} (zones, jitter and calendars included)",
        forecast.starts,
        forecast.jobs,
        forecast.from.format("%Y-%m-%dT%H:%M:%SZ"),
        forecast.to.format("%Y-%m-%dT%H:%M:%SZ"),
    );
    if forecast.busiest.is_empty() {
        println!("nothing starts in this window");
        return Ok(());
    }
    println!("\nBusiest minutes (UTC):");
    let rows = forecast
        .busiest
        .iter()
        .map(|minute| {
            let tenants: Vec<String> = minute
                .by_tenant
                .iter()
                .map(|(tenant, starts)| format!("{tenant} {starts}"))
                .collect();
            vec![
                minute.minute.format("%Y-%m-%d %H:%M").to_string(),
                minute.starts.to_string(),
                tenants.join(", "),
            ]
        })
        .collect();
    print_table(&["MINUTE", "STARTS", "BY TENANT"], rows);
    if forecast.herds.is_empty() {
        println!("\nNo herds (no second with {} or more starts).", rota::forecast::HERD_THRESHOLD);
    } else {
        println!(
            "\nHerds ({} or more starts in the same second), with a jitter window that spreads \
             each to at most {} a second:",
            rota::forecast::HERD_THRESHOLD,
            rota::forecast::SPREAD_TARGET_PER_SECOND
        );
        for herd in &forecast.herds {
            let more = herd.starts as usize - herd.jobs.len().min(herd.starts as usize);
            let more = if more > 0 { format!(" and {more} more") } else { String::new() };
            println!(
                "  {}  {} starts ({} without jitter): {}{more}; suggested --jitter-window {}",
                herd.second.format("%Y-%m-%dT%H:%M:%SZ"),
                herd.starts,
                herd.unjittered,
                herd.jobs.join(", "),
                herd.suggested_jitter_window_seconds,
            );
        }
    }
    Ok(())
}
