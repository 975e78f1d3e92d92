//! The `rota` binary: command-line interface and daemon. All behaviour lives in the library;
//! this file only parses arguments, sets up logging and maps errors to exit statuses.

mod cli;

use std::process::ExitCode;

use rota::handler::isolation::exec_main_if_requested;

fn main() -> ExitCode {
    // `rota __exec ...` is the wrapper the executor starts to apply a command's resource limits
    // and run-as user before becoming the job's program. It is handled before anything else
    // (no argument parsing, no logging): it must stay small and quiet.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(status) = exec_main_if_requested(&args) {
        return ExitCode::from(status);
    }
    cli::main()
}
