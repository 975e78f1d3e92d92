//! `rota tenant add|list`.

use clap::Subcommand;
use rota::tenant::{NewTenant, DEFAULT_MAX_CONCURRENT};

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
        TenantCommand::Add { name, max_concurrent, weight } => {
            let tenant = rota.add_tenant(&NewTenant { name, max_concurrent, weight }).await?;
            println!("created tenant {} ({})", tenant.name, tenant.id);
        }
        TenantCommand::List { json } => {
            let tenants = rota.list_tenants().await?;
            if json {
                return print_json(&tenants);
            }
            let rows = tenants
                .into_iter()
                .map(|tenant| {
                    vec![
                        tenant.name,
                        tenant.max_concurrent.to_string(),
                        tenant.weight.to_string(),
                        if tenant.paused { "paused".into() } else { "active".into() },
                        instant(Some(tenant.created_at)),
                    ]
                })
                .collect();
            print_table(&["TENANT", "MAX CONCURRENT", "WEIGHT", "STATE", "CREATED"], rows);
        }
    }
    Ok(())
}
