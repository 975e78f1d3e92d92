//! The tray icon that keeps Local mode's jobs running while the window is hidden ("keep
//! running in the tray", one answer to the close question): the engine stays in this app as
//! long as the user is logged in, and the icon's menu opens the window again or stops the
//! scheduler and quits.

use std::path::Path;

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};

const TRAY_ID: &str = "rota";

/// The AppIndicator libraries Tauri's tray loads on Linux, and where Debian keeps them.
const LIBRARIES: [&str; 2] = ["libayatana-appindicator3.so.1", "libappindicator3.so.1"];
const LIBRARY_DIRS: [&str; 4] =
    ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"];

/// Whether this desktop can show the tray icon: an AppIndicator library is installed (Tauri
/// loads it when the icon is made; without one the app would end there).
pub fn available() -> bool {
    LIBRARIES
        .iter()
        .any(|library| LIBRARY_DIRS.iter().any(|dir| Path::new(dir).join(library).exists()))
}

/// Shows the tray icon (made on first use) and hides the window. Runs on the main thread.
pub fn hide_to_tray<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    if app.tray_by_id(TRAY_ID).is_none() {
        let open = MenuItem::with_id(app, "open", "Open Rota", true, None::<&str>)?;
        let quit =
            MenuItem::with_id(app, "quit", "Stop the scheduler and quit", true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&open, &quit])?;
        let mut tray = TrayIconBuilder::with_id(TRAY_ID)
            .menu(&menu)
            .tooltip("Rota: executing the local database's jobs")
            .on_menu_event(|app, event| match event.id().as_ref() {
                "open" => show_window(app),
                "quit" => app.exit(0),
                _ => {}
            });
        if let Some(icon) = app.default_window_icon() {
            tray = tray.icon(icon.clone());
        }
        tray.build(app)?;
    }
    if let Some(window) = app.get_webview_window("main") {
        window.hide()?;
    }
    Ok(())
}

fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.set_focus();
    }
}
