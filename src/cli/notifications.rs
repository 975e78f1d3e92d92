//! `rota notifications list|prune`: the delivery log of tenants' notifications.

use clap::Subcommand;
use rota::api::DeliveryFilter;

use super::db::DatabaseArgs;
use super::output::{instant, print_json, print_table};
use super::BadInput;

#[derive(Debug, Subcommand)]
pub enum NotificationsCommand {
    /// List delivery attempts, newest first: event, channel, attempt, status and why it failed.
    #[command(after_help = "Examples:\n  \
        rota notifications list --tenant acme\n  \
        rota notifications list --event 0190f3c2-… --json\n\n\
        EVENT is the id receivers deduplicate with (the webhook body's `id`, header Rota-Event-Id).")]
    List {
        /// Deliveries of this tenant's events.
        #[arg(long)]
        tenant: Option<String>,
        /// Every attempt for one event.
        #[arg(long, value_name = "ID")]
        event: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Delete settled events (delivered, or given up on) and delivery attempts older than N
    /// days; the attempts of events still being delivered stay.
    #[command(after_help = "Example:\n  rota notifications prune --older-than-days 90")]
    Prune {
        #[arg(long)]
        older_than_days: u32,
    },
}

pub async fn run(command: NotificationsCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let (tenant, event, limit, json) = match command {
        NotificationsCommand::List { tenant, event, limit, json } => (tenant, event, limit, json),
        NotificationsCommand::Prune { older_than_days } => {
            let rota = database.open().await?;
            let (events, deliveries) = rota.prune_notifications(older_than_days).await?;
            println!(
                "deleted {events} settled events and {deliveries} delivery attempts older than \
                 {older_than_days} days"
            );
            return Ok(());
        }
    };
    let event_id = event
        .map(|text| {
            text.parse::<uuid::Uuid>()
                .map_err(|error| BadInput(format!("--event: {text:?} is not an event id: {error}")))
        })
        .transpose()?;
    let rota = database.open().await?;
    let mut deliveries =
        rota.deliveries(&DeliveryFilter { tenant, event_id, limit: Some(limit) }).await?;
    // Targets and errors as the one redaction shows them (rows older versions wrote, too).
    for delivery in &mut deliveries {
        delivery.target = rota::redact::text(&delivery.target).into_owned();
        delivery.error = rota::redact::optional_text(delivery.error.take());
        delivery.smtp_reply = rota::redact::optional_text(delivery.smtp_reply.take());
    }
    if json {
        return print_json(&deliveries);
    }
    let rows = deliveries
        .into_iter()
        .map(|delivery| {
            let outcome = match (&delivery.error, delivery.http_status, &delivery.smtp_reply) {
                (Some(error), _, _) => error.clone(),
                (None, Some(code), _) => format!("HTTP {code}"),
                (None, None, Some(reply)) => reply.clone(),
                (None, None, None) => "-".to_owned(),
            };
            vec![
                instant(Some(delivery.at)),
                delivery.tenant.unwrap_or_else(|| delivery.tenant_id.to_string()),
                delivery.event_type,
                delivery.event_id.to_string(),
                format!("{} {}", delivery.channel, delivery.target),
                delivery.attempt.to_string(),
                match delivery.next_attempt_at {
                    Some(next) => format!("{} (next {})", delivery.status, instant(Some(next))),
                    None => delivery.status.to_string(),
                },
                outcome,
            ]
        })
        .collect();
    print_table(
        &["AT", "TENANT", "EVENT", "EVENT ID", "CHANNEL", "ATTEMPT", "STATUS", "RESULT"],
        rows,
    );
    Ok(())
}
