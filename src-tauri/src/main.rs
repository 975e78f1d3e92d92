// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::process::ExitCode;

fn main() -> ExitCode {
    // The console runs its jobs' commands through itself (`rota-desktop __exec ...`) to apply
    // their resource limits and run-as user, as `rota serve` does through `rota __exec`: there
    // is no `rota` binary next to the app. Handled before anything else, as in `rota`.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(status) = rota::handler::isolation::exec_main_if_requested(&args) {
        return ExitCode::from(status);
    }
    rota_desktop::run();
    ExitCode::SUCCESS
}
