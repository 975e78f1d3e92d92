//! `rota access grant|revoke|list|whoami`: people's database roles and what they may do in
//! which tenant (Postgres; SQLite is single-user).

use std::io::BufRead;

use clap::Subcommand;
use rota::access::{Capability, GrantRequest, Password, TenantGrant};

use super::db::DatabaseArgs;
use super::output::{print_json, print_table};
use super::BadInput;

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Give a login role a capability in tenants (creating the role when missing), or make it
    /// an admin.
    #[command(after_help = "Examples:\n  \
        rota access grant alice --tenant acme --tenant globex --can operate --password - < pw.txt\n  \
        rota access grant bob --tenant acme --can view\n  \
        rota access grant carol --can admin\n\n\
        Capabilities: view (jobs, runs, notifications, audit entries), operate (also run now, \
        pause and resume, enable, backfill, cancel), edit (also create, change and delete jobs), \
        admin (everything: tenants, named handlers, grants, secrets). Granting a tenant again \
        replaces its capability. Creating a login role needs a database role with CREATEROLE.")]
    Grant {
        /// The login role (lowercase letters, digits, _).
        role: String,
        /// A tenant to grant (repeat for several); none for --can admin.
        #[arg(long = "tenant", value_name = "T")]
        tenants: Vec<String>,
        /// view, operate, edit or admin.
        #[arg(long = "can", value_name = "CAPABILITY")]
        capability: String,
        /// `-`: read the role's new password from the first line of standard input (never from
        /// the command line, where other users and the shell's history would see it).
        #[arg(long, value_name = "-")]
        password: Option<String>,
    },
    /// Remove a role's grant in one tenant, or all its grants and its membership (the login
    /// role itself stays).
    #[command(after_help = "Examples:\n  rota access revoke alice --tenant acme\n  \
        rota access revoke alice")]
    Revoke {
        role: String,
        #[arg(long, value_name = "T")]
        tenant: Option<String>,
    },
    /// Every role with grants or in this database's groups (admins only).
    List {
        #[arg(long)]
        json: bool,
    },
    /// The current role and what it may do in which tenant.
    Whoami {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: AccessCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    match command {
        AccessCommand::Grant { role, tenants, capability, password } => {
            let capability: Capability = capability
                .parse()
                .map_err(|error: rota::Error| BadInput(format!("--can: {error}")))?;
            let password = match password.as_deref() {
                None => None,
                Some("-") => Some(read_password()?),
                Some(_) => {
                    return Err(BadInput(
                        "--password: only - is accepted (the password is read from standard \
                         input, so it never shows in the process list or the shell's history)"
                            .to_owned(),
                    )
                    .into())
                }
            };
            let rota = database.open().await?;
            let request = GrantRequest { role: role.clone(), tenants, capability, password };
            let created = rota.grant_access(&request).await?;
            let target = if request.tenants.is_empty() {
                "every tenant".to_owned()
            } else {
                format!("tenant {}", request.tenants.join(", "))
            };
            let verb = if created { "created login role" } else { "role" };
            println!("{verb} {role}: {capability} on {target}");
            Ok(())
        }
        AccessCommand::Revoke { role, tenant } => {
            let rota = database.open().await?;
            let removed = rota.revoke_access(&role, tenant.as_deref()).await?;
            match tenant {
                Some(tenant) if removed == 0 => println!("{role} had no grant on tenant {tenant}"),
                Some(tenant) => println!("revoked {role}'s grant on tenant {tenant}"),
                None => println!("revoked {removed} grant(s) of {role} and its membership"),
            }
            Ok(())
        }
        AccessCommand::List { json } => {
            let rota = database.open().await?;
            let roles = rota.list_access().await?;
            if json {
                return print_json(&roles);
            }
            let rows = roles
                .iter()
                .map(|role| {
                    vec![
                        role.role.clone(),
                        if role.login { "yes" } else { "no" }.to_owned(),
                        if role.admin { "admin".to_owned() } else { grants_text(&role.grants) },
                    ]
                })
                .collect();
            print_table(&["ROLE", "LOGIN", "MAY"], rows);
            Ok(())
        }
        AccessCommand::Whoami { json } => {
            let rota = database.open().await?;
            let whoami = rota.whoami().await?;
            if json {
                return print_json(&whoami);
            }
            println!("role: {}", whoami.role);
            if whoami.single_user {
                println!("may: everything (SQLite is single-user; roles need Postgres)");
            } else if whoami.admin {
                println!("may: everything (admin)");
            } else if whoami.grants.is_empty() {
                println!("may: nothing yet (no tenant is granted)");
            } else {
                println!("may: {}", grants_text(&whoami.grants));
            }
            Ok(())
        }
    }
}

/// `operate on acme, view on globex`.
fn grants_text(grants: &[TenantGrant]) -> String {
    if grants.is_empty() {
        return "-".to_owned();
    }
    let parts: Vec<String> =
        grants.iter().map(|grant| format!("{} on {}", grant.capability, grant.tenant)).collect();
    parts.join(", ")
}

/// The first line of standard input, without its line break.
fn read_password() -> anyhow::Result<Password> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    Password::new(line).map_err(|error| BadInput(format!("--password: {error}")).into())
}
