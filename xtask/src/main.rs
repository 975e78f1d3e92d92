//! Project automation: the README's two commands and the benchmarks.
//!
//! - `cargo xtask app`: set up what is missing and open the desktop console on a local SQLite
//!   database (demo data on a first start).
//! - `cargo xtask test`: set up what is missing, start Postgres, run every check and test,
//!   including the console's UI tests and its end-to-end suite.
//! - `cargo xtask serve`: the scheduler alone (the `rota` CLI) on the local SQLite database.
//! - `cargo xtask deb [--check] [--skip-build]`: the Debian package (console, CLI, daemon,
//!   systemd units, completions), and its check (files, lintian, systemd-analyze, install,
//!   upgrade, remove and purge in a clean Debian root).
//! - `cargo xtask soak [--minutes N]`: nodes, jobs and faults for N minutes; memory, logs and
//!   table sizes over time.
//!
//! They install what a fresh Debian machine lacks (apt packages) themselves, so a new clone needs
//! nothing but Rust.

mod desktop;
mod package;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("app") => desktop::app(),
        Some("serve") => app(&args[1..]),
        Some("deb") => package::deb(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("soak") => soak(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <app|test|serve|deb|bench>\n  app    open the Rota console on a local SQLite database (with demo data)\n  test   run every check and test (starts Postgres)\n  serve  run the scheduler alone (CLI) on the local SQLite database\n  deb    build the Debian package (--check: check it, --skip-build: check the last one)\n  bench  run the cron and engine benchmarks (--quick for a short engine run)\n  soak   run two nodes with jobs and periodic faults for --minutes N (default 30), printing memory, logs and table sizes");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = ()> = std::result::Result<T, String>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn step(title: &str) {
    eprintln!("\n==> {title}");
}

/// Runs a command in the workspace root, streaming its output; fails if it fails.
fn run(program: &str, args: &[&str]) -> Result {
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|error| format!("cannot start {program}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed ({status})", args.join(" ")))
    }
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Installs Debian packages that are missing. Uses sudo when not root.
fn apt_install(packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| {
            !Command::new("dpkg-query").args(["-W", "-f=${Status}", package]).output().is_ok_and(
                |out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"),
            )
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!("installing Debian packages: {}", missing.join(" ")));
    let sudo = if is_root() { vec![] } else { vec!["sudo"] };
    let mut update: Vec<&str> = sudo.clone();
    update.extend(["apt-get", "update", "-q"]);
    run(update[0], &update[1..])?;
    let mut install: Vec<&str> = sudo;
    install.extend(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q"]);
    install.extend(&missing);
    run(install[0], &install[1..])
}

/// Makes sure a Postgres server answers on 127.0.0.1:5432, installing and starting it if needed.
fn ensure_postgres() -> Result {
    if succeeds("pg_isready", &["-h", "127.0.0.1", "-p", "5432"]) {
        return Ok(());
    }
    if !Path::new("/etc/postgresql").exists() {
        apt_install(&["postgresql"])?;
    }
    step("starting Postgres");
    let versions = std::fs::read_dir("/etc/postgresql")
        .map_err(|error| format!("no Postgres cluster in /etc/postgresql: {error}"))?;
    for version in versions.flatten() {
        let version = version.file_name().to_string_lossy().into_owned();
        let _ = run("pg_ctlcluster", &["--skip-systemctl-redirect", &version, "main", "start"]);
    }
    for _ in 0..60 {
        if succeeds("pg_isready", &["-h", "127.0.0.1", "-p", "5432"]) {
            // Fresh installs allow only peer authentication on the socket; the tests connect over
            // TCP as `postgres` without a password, as on the CI machines.
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    Err("Postgres did not start on 127.0.0.1:5432".into())
}

fn test() -> Result {
    apt_install(&["build-essential", "pkg-config", "postgresql-client"])?;
    ensure_postgres()?;
    // The console's packages and ui/dist, which the app crate embeds.
    desktop::prepare()?;
    step("format (cargo fmt --check)");
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    step("lints (cargo clippy -D warnings)");
    run("cargo", &["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    step("tests (unit, integration, cron vectors, both databases)");
    // Postgres tests fail instead of skipping when the server is expected.
    std::env::set_var("ROTA_REQUIRE_POSTGRES", "1");
    run("cargo", &["test", "--workspace", "--all-targets"])?;
    run("cargo", &["test", "--workspace", "--doc"])?;
    desktop::checks()?;
    eprintln!("\nall checks passed");
    Ok(())
}

/// The benchmarks, side by side in one run each: the cron engine against croner, cron and a
/// minute scan (criterion), then the scheduler engine on SQLite and Postgres.
fn bench(args: &[String]) -> Result {
    ensure_postgres()?;
    let quick = args.iter().any(|arg| arg == "--quick");
    step("cron benchmark (cargo bench --bench cron)");
    run("cargo", &["bench", "--bench", "cron"])?;
    step("engine benchmark (cargo bench --bench engine)");
    let mut engine = vec!["bench", "--bench", "engine", "--"];
    if quick {
        engine.push("--quick");
    }
    run("cargo", &engine)
}

/// The soak (`tests/soak.rs`): two `rota serve` nodes on Postgres with jobs and a fault every
/// two minutes for `--minutes N` (default 30); prints a line a minute and the table at the end
/// (also written to `target/soak.md`). `--release` builds optimised binaries first.
fn soak(args: &[String]) -> Result {
    apt_install(&["build-essential", "pkg-config", "postgresql-client"])?;
    ensure_postgres()?;
    let mut minutes = "30".to_owned();
    let mut release = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--minutes" => {
                minutes = rest.next().ok_or("--minutes needs a number")?.clone();
                if !minutes.parse::<u64>().is_ok_and(|m| (1..=24 * 60).contains(&m)) {
                    return Err(format!(
                        "--minutes: {minutes:?} is not a number of minutes 1-1440"
                    ));
                }
            }
            "--release" => release = true,
            other => {
                return Err(format!(
                    "soak: unknown argument {other:?}; allowed: --minutes N, --release"
                ))
            }
        }
    }
    step(&format!("soak for {minutes} minutes (cargo test --test soak -- --ignored)"));
    std::env::set_var("ROTA_SOAK_MINUTES", &minutes);
    std::env::set_var("ROTA_REQUIRE_POSTGRES", "1");
    let table = target_dir().join("soak.md");
    std::env::set_var("ROTA_SOAK_TABLE", &table);
    let mut command = vec!["test", "--package", "rota", "--test", "soak"];
    if release {
        command.push("--release");
    }
    command.extend(["--", "--ignored", "--nocapture"]);
    run("cargo", &command)?;
    eprintln!("\nthe table: {}", table.display());
    Ok(())
}

fn app(args: &[String]) -> Result {
    apt_install(&["build-essential", "pkg-config"])?;
    step("building rota");
    run("cargo", &["build", "--release", "--bin", "rota"])?;
    let binary = target_dir().join("release").join("rota");
    let binary = binary.to_string_lossy().into_owned();
    step("preparing the local SQLite database (migrated, with demo data when it is empty)");
    let mut migrate = vec!["migrate"];
    migrate.extend(args.iter().map(String::as_str));
    run(&binary, &migrate)?;
    let mut demo = vec!["demo", "seed", "--if-empty"];
    demo.extend(args.iter().map(String::as_str));
    run(&binary, &demo)?;
    step("starting the scheduler on the local database (Ctrl-C stops it)");
    eprintln!("    in another terminal: {binary} runs list   |   {binary} job list");
    run(&binary, &["serve", "--workers", "4"])
}

fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(root())
        .output();
    if let Ok(output) = output {
        let text = String::from_utf8_lossy(&output.stdout);
        if let Some(start) = text.find("\"target_directory\":\"") {
            let rest = &text[start + 20..];
            if let Some(end) = rest.find('"') {
                return PathBuf::from(&rest[..end]);
            }
        }
    }
    root().join("target")
}
