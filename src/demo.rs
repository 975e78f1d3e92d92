//! Demo data for a first start: a few tenants and jobs with different schedules, zones and
//! handlers, so a new standalone instance has something to show. Every demo job runs a local
//! program, so the demo works without network access.

use std::time::Duration;

use serde_json::json;

use crate::api::Rota;
use crate::error::Result;
use crate::handler::{CommandSpec, HandlerSpec};
use crate::job::JobDefinition;
use crate::policy::{JobPolicy, TenantPolicy};
use crate::store::{JobFilter, Store};
use crate::tenant::NewTenant;

/// What [`seed`] created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemoReport {
    pub tenants: usize,
    pub jobs: usize,
}

fn shell(script: &str) -> HandlerSpec {
    HandlerSpec::Command(CommandSpec::shell(script))
}

fn program(program: &str, args: &[&str]) -> HandlerSpec {
    HandlerSpec::Command(CommandSpec::new(program, args.iter().map(|arg| (*arg).to_owned())))
}

/// Creates the demo tenants and jobs.
pub async fn seed<S: Store>(rota: &Rota<S>) -> Result<DemoReport> {
    let tenants = [
        NewTenant { name: "acme".into(), max_concurrent: 3, weight: 2 },
        NewTenant { name: "globex".into(), max_concurrent: 2, weight: 1 },
        NewTenant { name: "initech".into(), max_concurrent: 1, weight: 1 },
    ];
    for tenant in &tenants {
        rota.add_tenant(tenant, &TenantPolicy::default()).await?;
    }
    let jobs = [
        ("acme", "heartbeat", "* * * * *", "UTC", program("/bin/true", &[]), json!({})),
        (
            "acme",
            "nightly-report",
            "30 2 * * *",
            "Europe/Berlin",
            shell("echo \"building report for $ROTA_SCHEDULED_FOR\"; sleep 2; echo done"),
            json!({"report": "daily-sales", "format": "pdf"}),
        ),
        (
            "acme",
            "invoice-sync",
            "*/5 * * * *",
            "America/New_York",
            shell("echo syncing invoices; sleep 1"),
            json!({"since": "last-run"}),
        ),
        (
            "globex",
            "cache-warmup",
            "*/2 * * * *",
            "Asia/Kolkata",
            program("/bin/echo", &["warming", "caches"]),
            json!({}),
        ),
        (
            "globex",
            "flaky-export",
            "*/3 * * * *",
            "UTC",
            shell("echo exporting; echo 'upstream returned 503' >&2; exit 3"),
            json!({"destination": "s3://exports"}),
        ),
        (
            "initech",
            "tps-reports",
            "0 9 * * MON-FRI",
            "America/Chicago",
            shell("echo 'TPS report with the new cover sheet'"),
            json!({"cover_sheet": true}),
        ),
        (
            "initech",
            "month-end",
            "0 0 L * *",
            "Australia/Lord_Howe",
            program("/bin/date", &["-u"]),
            json!({}),
        ),
    ];
    for (tenant, name, schedule, timezone, handler, payload) in &jobs {
        let definition = JobDefinition {
            name: (*name).into(),
            schedule: (*schedule).into(),
            timezone: (*timezone).into(),
            handler: handler.clone(),
            payload: payload.clone(),
            timeout: Duration::from_secs(60),
        };
        rota.add_job(tenant, &definition, &JobPolicy::default()).await?;
    }
    Ok(DemoReport { tenants: tenants.len(), jobs: jobs.len() })
}

/// Seeds only a database without tenants or jobs; returns `None` when it already had data.
pub async fn seed_if_empty<S: Store>(rota: &Rota<S>) -> Result<Option<DemoReport>> {
    let has_tenants = !rota.list_tenants().await?.is_empty();
    let has_jobs =
        !rota.list_jobs(&JobFilter { limit: Some(1), ..JobFilter::default() }).await?.is_empty();
    if has_tenants || has_jobs {
        return Ok(None);
    }
    seed(rota).await.map(Some)
}
