//! The `rota` binary: command-line interface and daemon. All behaviour lives in the library;
//! this file only parses arguments, sets up logging and maps errors to exit statuses.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
