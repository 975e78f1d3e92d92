//! Secrets stay secret, searched for from the outside: distinct secret strings are planted
//! through the CLI (a URL password containing `@`, `?password=`, `?api_key=`, `Authorization`
//! and `X-Api-Key` values, a tenant webhook URL's password and token, the tenant's signing
//! secret), a run fails against a closed port of 127.0.0.1 under `rota serve` (its webhook
//! notification fails too), and then every output a person or a script reads is searched for
//! each secret: `job show` (text and JSON), `job list` (text and JSON), `tenant list`, `runs
//! list`, `audit list`, `notifications list`, `export`, an `apply` plan, an error message, and
//! the daemon's log at debug level. Also: the files the CLI creates are private (0600 in 0700
//! folders), and a loose existing database file is tightened with a warning.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const ROTA: &str = env!("CARGO_BIN_EXE_rota");

/// Each secret planted, by where it was planted. A password with `@` is searched for in halves
/// too (the old redactor cut at the first `@` and printed the rest).
const HANDLER_PASSWORD: &str = "Hpw1Half@Hpw2Half";
const QUERY_PASSWORD: &str = "QueryPassword3x9";
const QUERY_API_KEY: &str = "QueryApiKey7k2";
const AUTHORIZATION: &str = "AuthzBearer5m1";
const API_KEY_HEADER: &str = "XApiKeyHeader8q4";
const WEBHOOK_PASSWORD: &str = "WebhookPassword6d3";
const WEBHOOK_TOKEN: &str = "WebhookToken2v8";
const SIGNING_SECRET: &str = "SigningSecret4w7";
const INVALID_URL_PASSWORD: &str = "InvalidUrlPassword1z5";

fn planted() -> Vec<&'static str> {
    vec![
        HANDLER_PASSWORD,
        "Hpw1Half",
        "Hpw2Half",
        QUERY_PASSWORD,
        QUERY_API_KEY,
        AUTHORIZATION,
        API_KEY_HEADER,
        WEBHOOK_PASSWORD,
        WEBHOOK_TOKEN,
        SIGNING_SECRET,
        INVALID_URL_PASSWORD,
    ]
}

fn rota(url: &str, args: &[&str]) -> Output {
    Command::new(ROTA)
        .arg("--database")
        .arg(url)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run rota")
}

/// Runs `rota` and returns what it printed (stdout and stderr), failing the test if it failed.
fn ok(url: &str, args: &[&str]) -> String {
    let output = rota(url, args);
    let text = printed(&output);
    assert!(output.status.success(), "rota {args:?} failed: {text}");
    text
}

fn printed(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn closed_port() -> u16 {
    support::serve_node::free_local_port()
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in planted() {
        assert!(!text.contains(secret), "{what} shows {secret:?}:\n{text}");
        let encoded = secret.replace('@', "%40");
        assert!(!text.contains(&encoded), "{what} shows {encoded:?}:\n{text}");
    }
}

/// Polls `rota ... --json` until `done` holds for its answer.
fn wait_for(url: &str, args: &[&str], done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let output = rota(url, args);
        if let Ok(value) = serde_json::from_slice::<Value>(&output.stdout) {
            if done(&value) {
                return value;
            }
        }
        assert!(Instant::now() < deadline, "rota {args:?} never reached the state waited for");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
}

#[test]
fn no_planted_secret_reaches_any_cli_output_export_or_log() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data").join("rota");
    let file = data.join("rota.sqlite");
    let url = format!("sqlite://{}", file.display());
    ok(&url, &["migrate"]);
    ok(&url, &["tenant", "add", "acme"]);
    let port = closed_port();
    let webhook = format!(
        "http://hooks:{WEBHOOK_PASSWORD}@127.0.0.1:{port}/events?token={WEBHOOK_TOKEN}&v=1"
    );
    ok(
        &url,
        &[
            "tenant",
            "set",
            "acme",
            "--webhook-url",
            &webhook,
            "--webhook-secret",
            SIGNING_SECRET,
            "--notify-run-failed",
            "true",
        ],
    );
    let target = format!(
        "http://bot:{HANDLER_PASSWORD}@127.0.0.1:{port}/hook?password={QUERY_PASSWORD}&api_key={QUERY_API_KEY}&page=1"
    );
    let authorization = format!("Authorization: Bearer {AUTHORIZATION}");
    let api_key = format!("X-Api-Key: {API_KEY_HEADER}");
    ok(
        &url,
        &[
            "job",
            "add",
            "--tenant",
            "acme",
            "--name",
            "leaky",
            "--schedule",
            "0 0 1 1 *",
            "--http-url",
            &target,
            "--header",
            &authorization,
            "--header",
            &api_key,
            "--header",
            "X-Visible: shown-header",
        ],
    );
    ok(&url, &["job", "trigger", "--tenant", "acme", "--name", "leaky"]);

    // The run fails against the closed port under a real daemon logging at debug level; its
    // `run.failed` notification fails against the same port.
    let log_path = dir.path().join("serve.log");
    let mut serve = Command::new(ROTA)
        .args(["--database", &url, "serve", "--node-id", "secrets", "--shutdown-grace", "5"])
        .args(["--work-root", &dir.path().join("work").display().to_string()])
        .env("ROTA_LOG", "debug,sqlx=warn")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).expect("log"))
        .spawn()
        .expect("rota serve");
    let runs = wait_for(&url, &["runs", "list", "--json"], |runs| {
        runs.as_array().is_some_and(|runs| runs.iter().any(|run| run["status"] == "failed"))
    });
    wait_for(&url, &["notifications", "list", "--json"], |deliveries| {
        deliveries.as_array().is_some_and(|list| !list.is_empty())
    });
    let _ = Command::new("kill").arg("-TERM").arg(serve.id().to_string()).status();
    serve.wait().expect("rota serve exits");
    let log = std::fs::read_to_string(&log_path).expect("log");
    // The failure was logged, with its (redacted) target.
    assert!(log.contains("run did not succeed"), "{log}");
    assert!(log.contains(&format!("127.0.0.1:{port}")), "{log}");
    assert_no_secret("rota serve's log", &log);
    assert_no_secret("runs list --json (while waiting)", &runs.to_string());

    let mut outputs = Vec::new();
    for args in [
        &["job", "show", "--tenant", "acme", "--name", "leaky"][..],
        &["job", "show", "--tenant", "acme", "--name", "leaky", "--json"],
        &["job", "list"],
        &["job", "list", "--json"],
        &["tenant", "list"],
        &["tenant", "list", "--json"],
        &["runs", "list"],
        &["runs", "list", "--json"],
        &["audit", "list"],
        &["audit", "list", "--json"],
        &["notifications", "list"],
        &["notifications", "list", "--json"],
        &["export"],
        &["export", "--tenant", "acme"],
    ] {
        let text = ok(&url, args);
        assert_no_secret(&format!("rota {}", args.join(" ")), &text);
        outputs.push((args.join(" "), text));
    }
    let shown = |command: &str| &outputs.iter().find(|(args, _)| args == command).unwrap().1;
    // What is not secret stays visible: the target, the plain parameter and header, and that
    // the secrets are set.
    let job = shown("job show --tenant acme --name leaky");
    assert!(job.contains(&format!("http://bot:***@127.0.0.1:{port}/hook?password=***")), "{job}");
    assert!(job.contains("page=1") && job.contains("shown-header"), "{job}");
    assert!(job.contains("connection refused"), "{job}");
    assert!(shown("tenant list").contains("secret: set"), "{}", shown("tenant list"));

    // The export writes references, and applying it with the variables set changes nothing:
    // the references stand for exactly the stored values.
    let export = String::from_utf8(rota(&url, &["export"]).stdout).expect("UTF-8");
    assert!(export.contains("env: ROTA_SECRET_ACME_LEAKY_URL"), "{export}");
    assert!(export.contains("env: ROTA_SECRET_ACME_WEBHOOK_URL"), "{export}");
    let exported = dir.path().join("rota.yaml");
    std::fs::write(&exported, &export).expect("write the export");
    let exported = exported.display().to_string();
    let missing = rota(&url, &["apply", &exported, "--dry-run"]);
    assert!(!missing.status.success(), "{}", printed(&missing));
    assert!(
        printed(&missing).contains("ROTA_SECRET_ACME_WEBHOOK_URL is not set"),
        "{}",
        printed(&missing)
    );
    let variables = [
        ("ROTA_SECRET_ACME_LEAKY_URL", target.as_str()),
        ("ROTA_SECRET_ACME_LEAKY_AUTHORIZATION", &format!("Bearer {AUTHORIZATION}")),
        ("ROTA_SECRET_ACME_LEAKY_X_API_KEY", API_KEY_HEADER),
        ("ROTA_SECRET_ACME_WEBHOOK_URL", &webhook),
        ("ROTA_SECRET_ACME_WEBHOOK", SIGNING_SECRET),
    ];
    let apply = |file: &str, extra: &[&str]| {
        let output = Command::new(ROTA)
            .args(["--database", &url, "apply", file])
            .args(extra)
            .envs(variables.iter().map(|(name, value)| (name, value)))
            .output()
            .expect("rota apply");
        let text = printed(&output);
        assert!(output.status.success(), "{text}");
        text
    };
    let unchanged = apply(&exported, &[]);
    assert!(unchanged.contains("nothing to change"), "{unchanged}");
    // A changed file: its plan names the fields, never their secret values.
    let changed = std::fs::read_to_string(&exported).unwrap().replace("0 0 1 1 *", "0 0 2 1 *");
    let changed_path = dir.path().join("changed.yaml");
    std::fs::write(&changed_path, changed).unwrap();
    let plan = apply(&changed_path.display().to_string(), &["--dry-run"]);
    assert!(plan.contains("~ job acme/leaky"), "{plan}");
    assert_no_secret("rota apply --dry-run", &plan);

    // An error message quoting a URL the user gave.
    let bad = format!("http://user:{INVALID_URL_PASSWORD}@[::1/x");
    let output = rota(
        &url,
        &[
            "job",
            "add",
            "--tenant",
            "acme",
            "--name",
            "bad",
            "--schedule",
            "@daily",
            "--http-url",
            &bad,
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", printed(&output));
    assert!(printed(&output).contains("url"), "{}", printed(&output));
    assert_no_secret("rota job add's error", &printed(&output));

    // The database and its folder are private; so are SQLite's companions.
    assert_eq!(mode(&data), 0o700, "the folder rota created");
    assert_eq!(mode(data.parent().unwrap()), 0o700, "its parent rota created");
    for name in ["rota.sqlite", "rota.sqlite-wal", "rota.sqlite-shm"] {
        let path = data.join(name);
        if name == "rota.sqlite" || path.exists() {
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }
}

#[test]
fn database_files_are_created_private_and_loose_ones_tightened_with_a_warning() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let data_home = dir.path().join("xdg-data");
    // The default database, in the user's data folder, under a umask that would open it up.
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("umask 000 && exec {ROTA} migrate"))
        .env("HOME", &home)
        .env("XDG_DATA_HOME", &data_home)
        .env("NO_COLOR", "1")
        .output()
        .expect("rota migrate");
    assert!(output.status.success(), "{}", printed(&output));
    let folder = data_home.join("rota");
    let file = folder.join("rota.sqlite");
    assert_eq!(mode(&folder), 0o700, "the default folder");
    assert_eq!(mode(&file), 0o600, "the database");
    for companion in ["rota.sqlite-wal", "rota.sqlite-shm"] {
        let path = folder.join(companion);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{companion}");
        }
    }

    // Files and the default folder an older version left open are tightened, with a warning.
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let wal = folder.join("rota.sqlite-wal");
    let shm = folder.join("rota.sqlite-shm");
    for companion in [&wal, &shm] {
        if !companion.exists() {
            std::fs::write(companion, b"").unwrap();
        }
        std::fs::set_permissions(companion, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let output = Command::new(ROTA)
        .args(["tenant", "list"])
        .env("HOME", &home)
        .env("XDG_DATA_HOME", &data_home)
        .env("ROTA_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .expect("rota tenant list");
    let text = printed(&output);
    assert!(output.status.success(), "{text}");
    assert_eq!(mode(&folder), 0o700, "{text}");
    assert_eq!(mode(&file), 0o600, "{text}");
    for companion in [&wal, &shm] {
        if companion.exists() {
            assert_eq!(mode(companion), 0o600, "{} {text}", companion.display());
        }
    }
    let warnings = text.lines().filter(|line| line.contains("WARN") && line.contains("tightened"));
    assert!(warnings.count() >= 2, "a warning per loosened file and folder: {text}");
    assert!(text.contains("was=0644") || text.contains("was=\"0644\""), "{text}");
}
