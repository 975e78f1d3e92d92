//! `rota calendar add|update|list|show|remove`.

use chrono::{Datelike, NaiveDate};
use clap::{Args, Subcommand};
use rota::api::{CalendarSource, Rota};
use rota::calendars::{EventTime, StoredCalendar};
use rota::store::Store;

use super::db::DatabaseArgs;
use super::output::{instant, print_json, print_table};
use crate::cli::BadInput;

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Add a calendar: a tenant's, or a shared one (admins only) without --tenant.
    #[command(after_help = "Examples:\n  \
        rota calendar add office --tenant acme --ics office-holidays.ics\n  \
        rota calendar add freeze --tenant acme --date 2026-12-24 --range 2026-12-28..2027-01-01\n  \
        rota job set acme/report --exclude-calendar office --on-excluded next")]
    Add(CalendarArgs),
    /// Replace a calendar's days with a new file (or dates); its jobs follow at once.
    Update(CalendarArgs),
    /// List a tenant's calendars and the shared ones (all without --tenant).
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a calendar's days over a year.
    Show {
        name: String,
        #[arg(long)]
        tenant: Option<String>,
        /// The year to list (default: this year).
        #[arg(long)]
        year: Option<i32>,
        #[arg(long)]
        json: bool,
    },
    /// Remove a calendar no job uses.
    Remove {
        name: String,
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CalendarArgs {
    name: String,
    /// The tenant whose calendar it is; without it, a shared calendar (admins only).
    #[arg(long)]
    tenant: Option<String>,
    /// An iCalendar (RFC 5545) file, such as a public holiday feed or an office calendar's
    /// export.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["date", "range"])]
    ics: Option<std::path::PathBuf>,
    /// A whole day, YYYY-MM-DD (repeatable).
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Vec<String>,
    /// Whole days from FROM to TO inclusive, YYYY-MM-DD..YYYY-MM-DD (repeatable).
    #[arg(long, value_name = "FROM..TO")]
    range: Vec<String>,
}

fn parse_date(flag: &str, text: &str) -> Result<NaiveDate, BadInput> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        BadInput(format!("{flag}: \"{text}\" is not a date; allowed YYYY-MM-DD, e.g. 2026-12-25"))
    })
}

impl CalendarArgs {
    fn source(&self) -> anyhow::Result<CalendarSource> {
        if let Some(path) = &self.ics {
            let text = std::fs::read_to_string(path).map_err(|error| {
                BadInput(format!("--ics: cannot read \"{}\": {error}", path.display()))
            })?;
            return Ok(CalendarSource::Ics(text));
        }
        let dates = self
            .date
            .iter()
            .map(|text| parse_date("--date", text))
            .collect::<Result<Vec<_>, _>>()?;
        let ranges = self
            .range
            .iter()
            .map(|text| {
                let (from, to) = text.split_once("..").ok_or_else(|| {
                    BadInput(format!(
                        "--range: \"{text}\" is not a range; allowed FROM..TO, e.g. \
                         2026-12-24..2026-12-31"
                    ))
                })?;
                Ok((parse_date("--range", from)?, parse_date("--range", to)?))
            })
            .collect::<Result<Vec<_>, BadInput>>()?;
        if dates.is_empty() && ranges.is_empty() {
            return Err(BadInput(
                "calendar: give its days: --ics FILE, or --date and --range".to_owned(),
            )
            .into());
        }
        Ok(CalendarSource::Days { dates, ranges })
    }
}

fn scope(calendar: &StoredCalendar) -> String {
    calendar.tenant.clone().unwrap_or_else(|| "(shared)".to_owned())
}

pub async fn run(command: CalendarCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let rota = database.open().await?;
    match command {
        CalendarCommand::Add(args) => {
            let source = args.source()?;
            let calendar = rota.add_calendar(args.tenant.as_deref(), &args.name, &source).await?;
            println!("{}", summary("added", &calendar));
        }
        CalendarCommand::Update(args) => {
            let source = args.source()?;
            let calendar =
                rota.update_calendar(args.tenant.as_deref(), &args.name, &source).await?;
            println!("{}", summary("updated", &calendar));
        }
        CalendarCommand::Remove { name, tenant } => {
            rota.remove_calendar(tenant.as_deref(), &name).await?;
            println!("removed calendar {name}");
        }
        CalendarCommand::List { tenant, json } => list(&rota, tenant.as_deref(), json).await?,
        CalendarCommand::Show { name, tenant, year, json } => {
            let calendar = rota.calendar(tenant.as_deref(), &name).await?;
            let year = year.unwrap_or_else(|| rota.now().year());
            show(&calendar, year, json)?;
        }
    }
    Ok(())
}

fn summary(verb: &str, calendar: &StoredCalendar) -> String {
    let events = calendar.parse().map(|parsed| parsed.events().len()).unwrap_or(0);
    format!(
        "{verb} calendar {} ({}): {events} event(s), version {}",
        calendar.name,
        scope(calendar),
        calendar.version
    )
}

async fn list<S: Store>(rota: &Rota<S>, tenant: Option<&str>, json: bool) -> anyhow::Result<()> {
    let calendars = rota.list_calendars(tenant).await?;
    if json {
        #[derive(serde::Serialize)]
        struct Listed<'a> {
            name: &'a str,
            tenant: Option<&'a str>,
            events: usize,
            version: i64,
            updated_at: chrono::DateTime<chrono::Utc>,
        }
        let listed: Vec<Listed<'_>> = calendars
            .iter()
            .map(|calendar| Listed {
                name: &calendar.name,
                tenant: calendar.tenant.as_deref(),
                events: calendar.parse().map(|parsed| parsed.events().len()).unwrap_or(0),
                version: calendar.version,
                updated_at: calendar.updated_at,
            })
            .collect();
        return print_json(&listed);
    }
    let rows = calendars
        .iter()
        .map(|calendar| {
            vec![
                calendar.name.clone(),
                scope(calendar),
                calendar.parse().map(|parsed| parsed.events().len()).unwrap_or(0).to_string(),
                instant(Some(calendar.updated_at)),
            ]
        })
        .collect();
    print_table(&["NAME", "TENANT", "EVENTS", "UPDATED"], rows);
    Ok(())
}

fn show(calendar: &StoredCalendar, year: i32, json: bool) -> anyhow::Result<()> {
    let parsed = calendar
        .parse()
        .map_err(|source| rota::Error::Calendar { name: calendar.name.clone(), source })?;
    let (Some(first), Some(last)) =
        (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31))
    else {
        return Err(BadInput(format!("--year: \"{year}\" is out of range")).into());
    };
    let days = parsed.days_between(first, last);
    // Timed events (windows), with their first start and length; recurring ones say so.
    let windows: Vec<String> = parsed
        .events()
        .iter()
        .filter(|event| !event.all_day())
        .map(|event| {
            let start = match event.start {
                EventTime::Floating(wall) => {
                    format!("{} (each job's zone)", wall.format("%Y-%m-%d %H:%M"))
                }
                EventTime::Zoned(at) => at.format("%Y-%m-%d %H:%M %Z").to_string(),
                EventTime::Date(date) => date.to_string(),
            };
            let minutes = event.duration.num_minutes();
            format!("{start} for {}h{:02}m  {}", minutes / 60, minutes % 60, event.summary)
        })
        .collect();
    if json {
        let days: Vec<serde_json::Value> = days
            .iter()
            .map(|(date, event)| serde_json::json!({"date": date, "event": event.summary}))
            .collect();
        return print_json(&serde_json::json!({
            "name": calendar.name,
            "tenant": calendar.tenant,
            "version": calendar.version,
            "year": year,
            "days": days,
            "timed_events": windows,
        }));
    }
    println!("calendar {} ({}), version {}", calendar.name, scope(calendar), calendar.version);
    if days.is_empty() {
        println!("no whole days in {year}");
    } else {
        println!("{} day(s) in {year}:", days.len());
        for (date, event) in &days {
            println!("  {}  {}", date.format("%Y-%m-%d %a"), event.summary);
        }
    }
    if !windows.is_empty() {
        println!("timed events (first start, length):");
        for window in windows {
            println!("  {window}");
        }
    }
    Ok(())
}
