//! `rota tenant add|set|list`.

use clap::{ArgGroup, Args, Subcommand};
use rota::api::{Rota, TenantUpdate};
use rota::policy::{RateLimit, TenantPolicy};
use rota::store::Store;
use rota::tenant::{validate_limit, NewTenant, DEFAULT_MAX_CONCURRENT};

use super::db::DatabaseArgs;
use super::output::{instant, print_json, print_table};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    #[command(after_help = "Example:\n  rota tenant add acme --max-concurrent 5 --weight 2")]
    Add {
        name: String,
        /// Never more than this many of the tenant's runs at once, across all nodes.
        #[arg(long, default_value_t = DEFAULT_MAX_CONCURRENT)]
        max_concurrent: u32,
        /// Share of dispatch capacity relative to other tenants with ready work.
        #[arg(long, default_value_t = 1)]
        weight: u32,
    },
    /// Set a tenant's notification channels and the defaults of its commands.
    #[command(after_help = "Examples:\n  \
        rota tenant set acme --webhook-url https://acme.example/rota --webhook-secret -   # secret on stdin\n  \
        rota tenant set acme --notify-email ops@acme.example\n  \
        rota tenant set acme --cpu-seconds 600 --address-space 1G --open-files 256 --processes 64 --run-as acme\n\n\
        rota tenant set acme --max-concurrent 5 --weight 2 --rate-limit 60/1m --default-max-retries 3\n  \
        rota tenant set acme --pause\n\n\
        An empty value clears a setting (--webhook-url ''). The secret is stored in the database as\n\
        given (Rota needs it to sign) and never printed; prefer `-` to keep it out of the process list.")]
    Set(Box<TenantSetArgs>),
    /// List tenants.
    #[command(after_help = "Example:\n  rota tenant list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: TenantCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let rota = database.open().await?;
    match command {
        TenantCommand::Set(args) => {
            let TenantSetArgs { limits, settings } = *args;
            // Check every limit before anything is written.
            let update = limits.update()?;
            let name = settings.name.clone();
            super::tenant_settings::run(settings, &rota).await?;
            limits.apply(&rota, &name, &update).await?;
        }
        TenantCommand::Add { name, max_concurrent, weight } => {
            let tenant = rota
                .add_tenant(&NewTenant { name, max_concurrent, weight }, &TenantPolicy::default())
                .await?;
            println!("created tenant {} ({})", tenant.name, tenant.id);
        }
        TenantCommand::List { json } => {
            let tenants = rota.list_tenants().await?;
            if json {
                return print_json(&tenants);
            }
            // Channels hold the webhook's URL and secret: only admins read them (a limited
            // Postgres role sees its tenants without them).
            let admin = rota.whoami().await?.admin;
            let mut channels = Vec::with_capacity(tenants.len());
            for tenant in &tenants {
                channels.push(if admin {
                    super::tenant_settings::summary(&rota, &tenant.name).await?
                } else {
                    "(admins only)".to_owned()
                });
            }
            let mut channels = channels.into_iter();
            let rows = tenants
                .into_iter()
                .map(|tenant| {
                    vec![
                        tenant.name,
                        tenant.max_concurrent.to_string(),
                        tenant.weight.to_string(),
                        tenant.policy.rate_limit.map_or_else(|| "-".to_owned(), |l| l.to_string()),
                        if tenant.paused { "paused".into() } else { "active".into() },
                        instant(Some(tenant.created_at)),
                        channels.next().unwrap_or_default(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "TENANT",
                    "MAX CONCURRENT",
                    "WEIGHT",
                    "RATE LIMIT",
                    "STATE",
                    "CREATED",
                    "CHANNELS, COMMANDS",
                ],
                rows,
            );
        }
    }
    Ok(())
}

/// `rota tenant set`: limits and job defaults (here), channels and command defaults
/// (`tenant_settings`).
#[derive(Debug, Args)]
pub struct TenantSetArgs {
    #[command(flatten)]
    limits: TenantLimitArgs,
    #[command(flatten)]
    settings: super::tenant_settings::SetArgs,
}

/// The limits, pause state and job defaults of `rota tenant set`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("pause_state").args(["pause", "resume"]).multiple(false)))]
pub struct TenantLimitArgs {
    /// Never more than this many of the tenant's runs at once, across all nodes.
    #[arg(long)]
    max_concurrent: Option<u32>,
    /// Share of dispatch capacity relative to other tenants with ready work.
    #[arg(long)]
    weight: Option<u32>,
    /// At most COUNT starts per WINDOW across all nodes, such as 60/1m or 1000/1h (`none`
    /// removes the limit). Throttled runs wait; they are not dropped.
    #[arg(long, value_name = "COUNT/WINDOW")]
    rate_limit: Option<String>,
    /// Retries for the tenant's jobs that set none (`none` removes the default).
    #[arg(long, value_name = "N")]
    default_max_retries: Option<String>,
    /// Failed occurrences in a row that disable the tenant's jobs that set nothing (0: never;
    /// `none` removes the default).
    #[arg(long, value_name = "N")]
    default_auto_disable_after: Option<String>,
    /// Stop claiming the tenant's runs (they stay queued; overlapping occurrences are skipped).
    #[arg(long)]
    pause: bool,
    /// Claim the tenant's runs again.
    #[arg(long)]
    resume: bool,
}

/// What the limit flags change: the tenant's limits, and the policy fields given.
pub struct LimitUpdate {
    limits: TenantUpdate,
    rate_limit: Option<Option<RateLimit>>,
    default_max_retries: Option<Option<u32>>,
    default_auto_disable_after: Option<Option<u32>>,
}

/// `none` (or an empty value) clears; anything else must parse.
fn clearable<T>(
    value: &Option<String>,
    parse: impl Fn(&str) -> Result<T, rota::Error>,
) -> Result<Option<Option<T>>, rota::Error> {
    match value.as_deref() {
        None => Ok(None),
        Some("" | "none") => Ok(Some(None)),
        Some(text) => parse(text).map(|value| Some(Some(value))),
    }
}

fn count(field: &'static str) -> impl Fn(&str) -> Result<u32, rota::Error> {
    move |text| {
        text.parse()
            .map_err(|_| rota::Error::invalid(field, text, "expected a whole number or none"))
    }
}

impl TenantLimitArgs {
    /// Parses and checks the flags, writing nothing.
    pub fn update(&self) -> Result<LimitUpdate, rota::Error> {
        if let Some(max_concurrent) = self.max_concurrent {
            validate_limit("max_concurrent", max_concurrent)?;
        }
        if let Some(weight) = self.weight {
            validate_limit("weight", weight)?;
        }
        let paused = match (self.pause, self.resume) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        let update = LimitUpdate {
            limits: TenantUpdate {
                max_concurrent: self.max_concurrent,
                weight: self.weight,
                paused,
            },
            rate_limit: clearable(&self.rate_limit, str::parse::<RateLimit>)?,
            default_max_retries: clearable(
                &self.default_max_retries,
                count("default_max_retries"),
            )?,
            default_auto_disable_after: clearable(
                &self.default_auto_disable_after,
                count("default_auto_disable_after"),
            )?,
        };
        // The whole policy is validated when applied; the ranges can be checked now.
        TenantPolicy {
            rate_limit: update.rate_limit.flatten(),
            default_max_retries: update.default_max_retries.flatten(),
            default_auto_disable_after: update.default_auto_disable_after.flatten(),
        }
        .validate()?;
        Ok(update)
    }

    /// Writes what the flags change and says so.
    pub async fn apply<S: Store>(
        &self,
        rota: &Rota<S>,
        name: &str,
        update: &LimitUpdate,
    ) -> anyhow::Result<()> {
        let limits = &update.limits;
        if limits.max_concurrent.is_some() || limits.weight.is_some() || limits.paused.is_some() {
            let tenant = rota.update_tenant(name, limits, None).await?;
            println!(
                "tenant {}: max concurrent {}, weight {}, {}",
                tenant.name,
                tenant.max_concurrent,
                tenant.weight,
                if tenant.paused { "paused" } else { "active" }
            );
        }
        if update.rate_limit.is_some()
            || update.default_max_retries.is_some()
            || update.default_auto_disable_after.is_some()
        {
            let mut policy = rota.tenant(name).await?.policy;
            if let Some(rate_limit) = update.rate_limit {
                policy.rate_limit = rate_limit;
            }
            if let Some(retries) = update.default_max_retries {
                policy.default_max_retries = retries;
            }
            if let Some(after) = update.default_auto_disable_after {
                policy.default_auto_disable_after = after;
            }
            let tenant = rota.set_tenant_policy(name, &policy).await?;
            println!("tenant {}: {}", tenant.name, policy_summary(&tenant.policy));
        }
        Ok(())
    }
}

/// `rate limit 60/1m, default retries 3, default auto-disable after 5`, or `no rate limit`.
pub fn policy_summary(policy: &TenantPolicy) -> String {
    let mut parts = vec![match policy.rate_limit {
        Some(limit) => format!("rate limit {limit}"),
        None => "no rate limit".to_owned(),
    }];
    if let Some(retries) = policy.default_max_retries {
        parts.push(format!("default retries {retries}"));
    }
    if let Some(after) = policy.default_auto_disable_after {
        parts.push(format!("default auto-disable after {after}"));
    }
    parts.join(", ")
}
