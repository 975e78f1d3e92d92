//! Rota's desktop console: a Tauri shell over [`rota::api`].
//!
//! Map of the crate:
//! - [`commands`]: the commands the UI calls, one module per screen, each with its transport
//!   types. They translate and call the core; validation and every rule live in `rota`.
//! - [`console`]: the open database (Local or Connected mode) and the engine running in the app
//!   (a `rota::runtime::Runtime`, configured as `rota serve` is).
//! - [`settings`]: the saved mode (a JSON file) and the Connected mode password (OS keyring).
//! - [`error`]: [`error::CommandError`], the typed error every command returns.
//! - [`live`]: the live updates: the core's change feed, read every second, emitted as the
//!   typed event [`live::ConsoleChanged`].
//! - [`background`]: Local mode's systemd user service (`rota serve` on the same file), which
//!   the console installs, attaches to as a client, stops, restarts and removes; [`tray`]: the
//!   tray icon that keeps the app's own engine running with the window hidden.
//!
//! The TypeScript bindings (`ui/src/bindings.ts`) are generated from [`specta_builder`] by the
//! `export_bindings` test and committed; `cargo xtask test` fails when they are stale.
//!
//! Architecture invariant: this crate calls the core only through `rota::api` (and the types it
//! returns), and starts the engine only through `rota::runtime`; it never touches the store or
//! SQL.

pub mod background;
pub mod commands;
pub mod console;
pub mod error;
pub mod live;
pub mod settings;
pub mod tray;

use std::sync::Arc;

use rota::clock::SystemClock;
use tauri::{Manager, RunEvent, Runtime, WindowEvent};
use tauri_specta::{collect_commands, collect_events, Builder, ErrorHandlingMode};

use crate::console::{Console, FirstStart};
use crate::settings::{PasswordVault, Paths};

/// The keyring service name Connected mode passwords are saved under.
pub const KEYRING_SERVICE: &str = "rota-console";

/// Every command, for the invoke handler and the bindings. Keep in step with `build.rs` (the
/// permission list) and `capabilities/console.json`; a test checks all three.
pub fn specta_builder<R: Runtime>() -> Builder<R> {
    Builder::<R>::new()
        .error_handling(ErrorHandlingMode::Result)
        // Every transport type goes one way only; one TypeScript type per Rust type.
        .disable_serde_phases()
        .commands(collect_commands![
            commands::connection::open_saved_connection,
            commands::connection::connection_status,
            commands::connection::open_local,
            commands::connection::connect_postgres,
            commands::connection::set_execution,
            commands::connection::switch_mode,
            commands::tenants::list_tenants,
            commands::tenants::create_tenant,
            commands::tenants::update_tenant,
            commands::jobs::list_jobs,
            commands::jobs::get_job,
            commands::jobs::create_job,
            commands::jobs::update_job,
            commands::jobs::list_named_handlers,
            commands::jobs::test_run,
            commands::schedule::preview_schedule,
            commands::schedule::list_time_zones,
            commands::runs::list_job_runs,
            commands::runs::get_occurrence,
            commands::runs::run_job_now,
            commands::runs::get_run,
            commands::runs::timeline,
            commands::operations::list_auto_disabled,
            commands::operations::operator_name,
            commands::operations::set_operator_name,
            commands::operations::pause_job,
            commands::operations::resume_job,
            commands::operations::enable_job,
            commands::operations::disable_job,
            commands::operations::preview_backfill,
            commands::operations::backfill_default_range,
            commands::operations::backfill_job,
            commands::bulk::bulk_jobs,
            commands::calendars::list_calendars,
            commands::calendars::import_calendar,
            commands::calendars::calendar_year,
            commands::calendars::what_if,
            commands::overview::overview,
            commands::audit::list_audit,
            commands::access::whoami,
            commands::access::list_access,
            commands::access::grant_access,
            commands::access::revoke_access,
            commands::profiles::list_profiles,
            commands::profiles::save_profile,
            commands::profiles::delete_profile,
            commands::profiles::open_profile,
            commands::background::background_status,
            commands::background::run_in_background,
            commands::background::stop_service,
            commands::background::restart_service,
            commands::background::remove_service,
            commands::background::quit_app,
            commands::background::keep_in_tray,
        ])
        .events(collect_events![live::ConsoleChanged, commands::background::CloseRequested])
}

/// Starts the app: one window on the UI in `../ui/dist`, the console state managed for the
/// commands, and a graceful engine shutdown when the app exits.
///
/// `--local-demo`: on a first start, open Local mode with the demo data instead of asking.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        // Every line through the one redaction (a URL in an error field loses its password).
        .with_writer(rota::redact::Redacting(std::io::stdout))
        .init();
    let builder = specta_builder::<tauri::Wry>();
    let paths = Paths::for_user()
        .expect("the user has no home or data directory, or this executable cannot be found");
    let user_service = background::UserService {
        unit_file: dirs::config_dir()
            .map(|dir| dir.join("systemd").join("user").join(background::UNIT))
            .unwrap_or_else(|| paths.settings.with_file_name(background::UNIT)),
        rota: background::rota_beside(&paths.exec_wrapper),
        database: paths.local_database.clone(),
        work_root: paths.work_root.clone(),
    };
    let console = Console::new(
        paths,
        PasswordVault::Keyring { service: KEYRING_SERVICE.to_owned() },
        Arc::new(SystemClock),
    )
    .with_first_start(if std::env::args().any(|arg| arg == "--local-demo") {
        FirstStart::LocalWithDemo
    } else {
        FirstStart::Ask
    })
    .with_user_service(user_service);
    let app = tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            live::start(app.handle().clone());
            // `quit_app` (the close question's answer) ends the app from here.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                handle.state::<Console>().quit_requested().await;
                handle.exit(0);
            });
            // `keep_in_tray`: the icon is made, and the window hidden, on the main thread.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                loop {
                    handle.state::<Console>().tray_requested().await;
                    let app = handle.clone();
                    let shown = handle.run_on_main_thread(move || {
                        if let Err(error) = tray::hide_to_tray(&app) {
                            tracing::error!(%error, "cannot show the tray icon");
                        }
                    });
                    if let Err(error) = shown {
                        tracing::error!(%error, "cannot show the tray icon");
                    }
                }
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window would stop the jobs the app executes: ask first (the UI
            // offers the user service, or stopping; its answer ends in `quit_app`).
            if let WindowEvent::CloseRequested { api, .. } = event {
                let console = window.state::<Console>();
                if tauri::async_runtime::block_on(console.executes_local_jobs()) {
                    api.prevent_close();
                    commands::background::ask_before_closing(window.app_handle());
                }
            }
        })
        .manage(console)
        .build(tauri::generate_context!())
        .expect("cannot start the Rota console");
    app.run(|handle, event| {
        if let RunEvent::Exit = event {
            let console = handle.state::<Console>();
            tauri::async_runtime::block_on(console.shutdown());
        }
    });
}

#[cfg(test)]
mod tests {
    /// Writes `ui/src/bindings.ts` from the builder. `cargo xtask test` runs it and then fails
    /// if the committed file changed (stale bindings).
    #[test]
    fn export_bindings() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts");
        super::specta_builder::<tauri::Wry>()
            .export(specta_typescript::Typescript::default(), path)
            .expect("cannot write the TypeScript bindings");
    }
}
