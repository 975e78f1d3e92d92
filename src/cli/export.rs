//! `rota export [--tenant NAME]` and `rota apply FILE [--dry-run] [--prune]`: schedules as
//! YAML files.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use rota::import::schedules;

use super::db::DatabaseArgs;
use super::import::into_anyhow;
use super::BadInput;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    rota export > rota.yaml\n  \
    rota export --tenant acme > acme.yaml\n\n\
    Secrets are never written: the tenant's webhook secret and secret-looking headers and\n\
    variables appear as {env: NAME} references that `rota apply` reads from the environment.")]
pub struct ExportArgs {
    /// Only this tenant (and the named handlers its jobs use).
    #[arg(long)]
    tenant: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    rota apply rota.yaml --dry-run\n  \
    ROTA_SECRET_ACME_WEBHOOK=whsec_... rota apply rota.yaml --prune\n\n\
    Prints what changes (+ create, ~ update with each field, - delete), then applies it.\n\
    Everything is validated before anything is written.")]
pub struct ApplyArgs {
    /// The schedules file (`-` for standard input).
    file: PathBuf,
    /// Print the changes without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Also delete the jobs of the file's tenants that the file does not list.
    #[arg(long)]
    prune: bool,
}

pub async fn export(args: ExportArgs, database: &DatabaseArgs) -> anyhow::Result<()> {
    let rota = database.open().await?;
    let document = schedules::export(&rota, args.tenant.as_deref()).await?;
    let mut out = std::io::stdout().lock();
    out.write_all(schedules::to_yaml(&document).as_bytes())?;
    Ok(())
}

pub async fn apply(args: ApplyArgs, database: &DatabaseArgs) -> anyhow::Result<()> {
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|error| BadInput(format!("cannot read standard input: {error}")))?
    } else {
        std::fs::read_to_string(&args.file)
            .map_err(|error| BadInput(format!("cannot read {}: {error}", args.file.display())))?
    };
    let document = schedules::from_yaml(&text).map_err(into_anyhow)?;
    let rota = database.open().await?;
    let lookup = |name: &str| std::env::var(name).ok();
    let plan =
        schedules::plan_apply(&rota, &document, args.prune, &lookup).await.map_err(into_anyhow)?;
    println!("{plan}");
    if plan.is_empty() {
        println!("nothing to change");
    } else if args.dry_run {
        println!("dry run: nothing was written");
    } else {
        schedules::execute(&rota, &plan).await.map_err(into_anyhow)?;
        println!("applied");
    }
    Ok(())
}
