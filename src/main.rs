//! The `rota` binary: command-line interface and daemon. All behaviour lives in the library;
//! this file only parses arguments, sets up logging and maps errors to exit statuses.

mod cli;

use std::process::ExitCode;

use rota::handler::isolation::{exec_main, EXEC_SUBCOMMAND};

fn main() -> ExitCode {
    // `rota __exec ...` is the wrapper the executor starts to apply a command's resource limits
    // and run-as user before becoming the job's program. It is handled before anything else
    // (no argument parsing, no logging): it must stay small and quiet.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == EXEC_SUBCOMMAND) {
        return ExitCode::from(exec_main(&args[2..]));
    }
    cli::main()
}
