//! Generates the Tauri context and one permission per command (`allow-<command>`), so that
//! `capabilities/console.json` can grant the window exactly the commands the UI uses.

/// Every command of `rota_desktop::specta_builder`; a test keeps the three lists in step.
const COMMANDS: &[&str] = &[
    "open_saved_connection",
    "connection_status",
    "open_local",
    "connect_postgres",
    "set_execution",
    "switch_mode",
    "list_tenants",
    "create_tenant",
    "update_tenant",
    "list_jobs",
    "get_job",
    "create_job",
    "update_job",
    "list_named_handlers",
    "test_run",
    "preview_schedule",
    "list_time_zones",
    "list_job_runs",
    "get_occurrence",
    "run_job_now",
    "get_run",
    "timeline",
    "list_auto_disabled",
    "operator_name",
    "set_operator_name",
    "pause_job",
    "resume_job",
    "enable_job",
    "disable_job",
    "preview_backfill",
    "backfill_default_range",
    "backfill_job",
    "bulk_jobs",
    "list_calendars",
    "import_calendar",
    "calendar_year",
    "what_if",
    "overview",
    "list_audit",
    "whoami",
    "list_access",
    "grant_access",
    "revoke_access",
    "list_profiles",
    "save_profile",
    "delete_profile",
    "open_profile",
    "background_status",
    "run_in_background",
    "stop_service",
    "restart_service",
    "remove_service",
    "quit_app",
    "keep_in_tray",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
