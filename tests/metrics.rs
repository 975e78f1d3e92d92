//! `/metrics` of a real `rota serve`: besides the node's own metrics, what an operator alerts on
//! across the deployment, read from the database: runs queued and running per tenant,
//! auto-disabled jobs per tenant, and the notification backlog.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rota::api::{JobPolicy, JobRef, Rota, TenantPolicy};
use rota::clock::SystemClock;
use rota::handler::HandlerSpec;
use rota::job::JobDefinition;
use rota::store::TenantUpdate;
use rota::tenant::NewTenant;
use support::serve_node::ServeNode;
use support::{Backend, TestDatabase};

fn job(name: &str) -> JobDefinition {
    JobDefinition {
        name: name.to_owned(),
        schedule: "0 0 1 1 *".to_owned(),
        timezone: "UTC".to_owned(),
        // Never called: the tenant stays paused.
        handler: serde_json::from_value::<HandlerSpec>(
            serde_json::json!({"type": "http", "url": "http://127.0.0.1:9/"}),
        )
        .unwrap(),
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(10),
    }
}

async fn metrics_show_each_tenants_runs_and_the_backlog(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await else { return };
    let store = db.store().await;
    let rota = Rota::new(store.clone(), Arc::new(SystemClock));
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    rota.add_tenant(&NewTenant::named("globex"), &TenantPolicy::default()).await.unwrap();
    // A paused tenant's runs stay queued while the node serves.
    let paused = TenantUpdate { paused: Some(true), ..TenantUpdate::default() };
    rota.update_tenant("acme", &paused, None).await.unwrap();
    for name in ["one", "two"] {
        rota.add_job("acme", &job(name), &JobPolicy::default()).await.unwrap();
        rota.trigger(JobRef::named("acme", name), None).await.unwrap();
    }

    let logs = tempfile::tempdir().unwrap();
    let node = ServeNode::start(&db.url, "metrics-node", logs.path(), &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    while Instant::now() < deadline {
        text = node.metrics().await;
        if text.contains("rota_outbox_backlog") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for line in [
        "rota_tenant_runs{tenant=\"acme\",status=\"queued\"} 2",
        "rota_tenant_runs{tenant=\"acme\",status=\"running\"} 0",
        "rota_tenant_runs{tenant=\"globex\",status=\"queued\"} 0",
        "rota_tenant_auto_disabled_jobs{tenant=\"acme\"} 0",
        "rota_outbox_backlog 0",
        "# TYPE rota_tenant_runs gauge",
    ] {
        assert!(text.lines().any(|got| got == line), "missing {line:?} in:\n{text}");
    }
    node.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_each_tenants_runs_and_the_backlog_sqlite() {
    metrics_show_each_tenants_runs_and_the_backlog(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_each_tenants_runs_and_the_backlog_postgres() {
    metrics_show_each_tenants_runs_and_the_backlog(Backend::Postgres).await;
}
