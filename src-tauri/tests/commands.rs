//! The console's commands through Tauri's real IPC (a mock runtime instead of a window, the
//! app's own capabilities), over a real SQLite file and a real Postgres database.
//!
//! Each test drives the commands as the UI does, with JSON arguments, and checks the JSON that
//! comes back, so the transport types and the typed errors are tested as the UI sees them.
//! Postgres is the server at `ROTA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test makes and drops its own database.
//! Without a server the Postgres test skips with a notice, unless `CI` or
//! `ROTA_REQUIRE_POSTGRES` is set.

use std::sync::Arc;

use rota::clock::SystemClock;
use rota_desktop::console::Console;
use rota_desktop::settings::{PasswordVault, Paths};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

struct Harness {
    app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let console =
            Console::new(test_paths(dir.path()), PasswordVault::SessionOnly, Arc::new(SystemClock));
        let builder = rota_desktop::specta_builder::<MockRuntime>();
        // The app's real context: its capabilities decide which commands the window may call.
        let app = mock_builder()
            .invoke_handler(builder.invoke_handler())
            .manage(console)
            .build(tauri::generate_context!())
            .expect("app");
        let window =
            WebviewWindowBuilder::new(&app, "main", Default::default()).build().expect("window");
        Harness { app, window, dir }
    }

    /// Invokes `cmd` with `args` as the UI does; `Err` holds the command's error value.
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_owned(),
        };
        get_ipc_response(&self.window, request)
            .map(|body| body.deserialize::<Value>().expect("json body"))
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args).unwrap_or_else(|error| panic!("{cmd} failed: {error}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(value) => panic!("{cmd} succeeded but should fail: {value}"),
            Err(error) => error,
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let console = self.app.state::<Console>();
        tauri::async_runtime::block_on(console.shutdown());
    }
}

/// The console's files in `dir`, and the app's own binary as the commands' `__exec` wrapper,
/// as [`Paths::for_user`] finds it in the running app.
fn test_paths(dir: &std::path::Path) -> Paths {
    Paths {
        settings: dir.join("config").join("console.json"),
        local_database: dir.join("data").join("rota.sqlite"),
        work_root: dir.join("work"),
        exec_wrapper: env!("CARGO_BIN_EXE_rota-desktop").into(),
    }
}

fn job_input(name: &str, schedule: &str, timezone: &str) -> Value {
    json!({
        "name": name,
        "schedule": schedule,
        "timezone": timezone,
        "handler": { "type": "command", "program": "/bin/true", "args": [], "env": [], "workingDir": null, "shell": false, "runAs": null, "limits": no_limits(), "stdin": null },
        "payload": "{\"kind\": \"daily\"}",
        "timeoutSeconds": 60,
        "policy": default_policy(),
    })
}

/// A command's limits, none set (the tenant's defaults apply).
fn no_limits() -> Value {
    json!({ "cpuSeconds": null, "addressSpace": null, "openFiles": null, "processes": null })
}

/// The policies a new job gets (what the editor starts from).
fn default_policy() -> Value {
    json!({
        "maxRetries": null, "backoff": "exponential", "backoffInitialSeconds": 10.0,
        "backoffMultiplier": 2.0, "backoffMaxSeconds": 3600.0, "retryJitter": 0.1,
        "overlap": "skip", "missed": "run_once", "missedMaxRuns": 100,
        "catchUpWindowSeconds": null, "autoDisableAfter": null, "probation": false,
        "jitterWindowSeconds": null,
        "calendars": { "excludeCalendars": [], "onlyCalendar": null, "onExcluded": "skip" },
    })
}

fn no_tenant_policy() -> Value {
    json!({ "rateLimit": null, "defaultMaxRetries": null, "defaultAutoDisableAfter": null })
}

fn query(overrides: Value) -> Value {
    let mut query = json!({
        "search": null, "tenant": null, "state": null, "handler": null,
        "sort": "name", "descending": false, "cursor": null, "limit": 50,
    });
    for (key, value) in overrides.as_object().expect("object") {
        query[key] = value.clone();
    }
    json!({ "query": query })
}

/// Everything the first screens do, on whichever database is open.
fn editing_scenario(harness: &Harness) {
    // Tenants: create, refuse a duplicate and a bad limit (naming the field), pause.
    let created = harness.ok(
        "create_tenant",
        json!({ "input": { "name": "acme", "maxConcurrent": 3, "weight": 2, "policy": no_tenant_policy() } }),
    );
    assert_eq!(created["name"], "acme");
    assert_eq!(created["running"], 0);
    let duplicate = harness.err(
        "create_tenant",
        json!({ "input": { "name": "acme", "maxConcurrent": 3, "weight": 2, "policy": no_tenant_policy() } }),
    );
    assert_eq!(duplicate["code"], "already_exists");
    let invalid = harness.err(
        "create_tenant",
        json!({ "input": { "name": "zeta", "maxConcurrent": 0, "weight": 1, "policy": no_tenant_policy() } }),
    );
    assert_eq!(invalid["code"], "invalid");
    assert_eq!(invalid["field"], "maxConcurrent");
    let paused = harness.ok("update_tenant", json!({ "name": "acme", "changes": { "maxConcurrent": 5, "weight": null, "paused": true } }));
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["maxConcurrent"], 5);
    assert_eq!(paused["weight"], 2);

    // The schedule editor: a daylight-saving schedule is explained, a bad field is pointed at.
    let preview = harness.ok(
        "preview_schedule",
        json!({ "expression": "30 2 * * *", "timezone": "Europe/Berlin", "viewerTimezone": "America/New_York" }),
    );
    assert_eq!(preview["runs"].as_array().expect("runs").len(), 10);
    assert_eq!(preview["kind"], "fixed_time");
    assert!(preview["description"].as_str().expect("text").contains("Europe/Berlin"), "{preview}");
    let warnings = preview["dstWarnings"].as_array().expect("warnings");
    assert!(!warnings.is_empty(), "a 02:30 job in Berlin meets daylight saving within a year");
    assert!(warnings.iter().any(|warning| warning["kind"] == "moved_to_transition"), "{preview}");
    let bad = harness.err(
        "preview_schedule",
        json!({ "expression": "30 25 * * *", "timezone": "Europe/Berlin", "viewerTimezone": "UTC" }),
    );
    assert_eq!(bad["code"], "invalid");
    assert_eq!(bad["field"], "schedule");
    assert_eq!(bad["cronField"], "hour");
    assert_eq!(bad["span"], json!({ "start": 3, "end": 5 }));
    let bad_zone = harness.err(
        "preview_schedule",
        json!({ "expression": "30 2 * * *", "timezone": "Mars/Olympus", "viewerTimezone": "UTC" }),
    );
    assert_eq!(bad_zone["field"], "timezone");
    // With the form's tenant and calendars, each run says what they make of it: excluded (by
    // which calendar and event), or moved (to where).
    let today = rota::clock::Clock::now(&SystemClock).date_naive();
    let closed = today + chrono::Duration::days(3);
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:c\r\n\
         DTSTART;VALUE=DATE:{}\r\nSUMMARY:Closed\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        closed.format("%Y%m%d")
    );
    harness.ok(
        "import_calendar",
        json!({ "tenant": "acme", "name": "office", "ics": ics, "replace": false }),
    );
    let day_of = |run: &Value| run["at"].as_str().expect("at")[..10].to_owned();
    let closed_day = closed.format("%Y-%m-%d").to_string();
    for (on_excluded, expected) in [("skip", "excluded"), ("next", "moved")] {
        let preview = harness.ok(
            "preview_schedule",
            json!({ "expression": "0 12 * * *", "timezone": "UTC", "viewerTimezone": "UTC",
                    "tenant": "acme",
                    "calendars": { "excludeCalendars": ["office"], "onlyCalendar": null,
                                   "onExcluded": on_excluded } }),
        );
        let runs = preview["runs"].as_array().expect("runs");
        for run in runs {
            if day_of(run) == closed_day {
                assert_eq!(run["calendar"]["type"], expected, "{run}");
                assert_eq!(run["calendar"]["calendar"], "office");
                assert_eq!(run["calendar"]["event"], "Closed");
                assert_eq!(run["calendar"]["reason"], "calendar office: Closed");
            } else {
                assert!(run["calendar"].is_null(), "{run}");
            }
        }
        if expected == "moved" {
            let moved = runs.iter().find(|run| day_of(run) == closed_day).expect("the day");
            let next = (closed + chrono::Duration::days(1)).format("%Y-%m-%dT12:00:00Z");
            assert_eq!(moved["calendar"]["to"], next.to_string());
        }
    }
    let unknown = harness.err(
        "preview_schedule",
        json!({ "expression": "0 12 * * *", "timezone": "UTC", "viewerTimezone": "UTC",
                "tenant": "acme",
                "calendars": { "excludeCalendars": ["nowhere"], "onlyCalendar": null,
                               "onExcluded": "skip" } }),
    );
    assert_eq!(unknown["code"], "not_found");
    let zones = harness.ok("list_time_zones", json!({}));
    assert!(zones.as_array().expect("zones").iter().any(|zone| zone == "Europe/Berlin"));

    // Jobs: create, reject bad input next to its field, read back.
    let job = harness.ok(
        "create_job",
        json!({ "tenant": "acme", "input": job_input("nightly", "30 2 * * *", "Europe/Berlin") }),
    );
    assert_eq!(job["version"], "1");
    assert_eq!(job["definition"]["schedule"], "30 2 * * *");
    assert_eq!(job["state"], "enabled");
    assert!(job["nextRunAt"].is_string());
    let mut broken = job_input("broken", "30 2 * * *", "UTC");
    broken["payload"] = json!("{\"kind\": ");
    let payload_error = harness.err("create_job", json!({ "tenant": "acme", "input": broken }));
    assert_eq!(payload_error["field"], "payload");
    let schedule_error = harness.err(
        "create_job",
        json!({ "tenant": "acme", "input": job_input("broken", "61 * * * *", "UTC") }),
    );
    assert_eq!(schedule_error["field"], "schedule");
    assert_eq!(schedule_error["cronField"], "minute");
    let missing_tenant = harness.err(
        "create_job",
        json!({ "tenant": "nobody", "input": job_input("x", "* * * * *", "UTC") }),
    );
    assert_eq!(missing_tenant["code"], "not_found");
    let id = job["id"].as_str().expect("id").to_owned();
    let read = harness.ok("get_job", json!({ "id": id }));
    assert_eq!(read["definition"], job["definition"]);

    // Optimistic concurrency: two editors start from version 1; the second save is refused and
    // says which version is stored now; nothing is overwritten.
    let first = harness.ok(
        "update_job",
        json!({ "id": id, "expectedVersion": "1", "input": job_input("nightly", "45 2 * * *", "Europe/Berlin") }),
    );
    assert_eq!(first["version"], "2");
    let stale = harness.err(
        "update_job",
        json!({ "id": id, "expectedVersion": "1", "input": job_input("nightly", "0 3 * * *", "Europe/Berlin") }),
    );
    assert_eq!(stale["code"], "stale_version");
    assert_eq!(stale["currentVersion"], "2");
    assert_eq!(harness.ok("get_job", json!({ "id": id }))["definition"]["schedule"], "45 2 * * *");

    // The jobs table: paged, sorted, filtered and counted by the database.
    harness.ok(
        "create_tenant",
        json!({ "input": { "name": "globex", "maxConcurrent": 2, "weight": 1, "policy": no_tenant_policy() } }),
    );
    for index in 0..12 {
        let tenant = if index % 2 == 0 { "acme" } else { "globex" };
        let mut input = job_input(&format!("batch-{index:02}"), "*/5 * * * *", "UTC");
        if index % 3 == 0 {
            input["handler"] = json!({ "type": "http", "method": "POST", "url": "https://example.test/hook", "headers": [] });
        }
        harness.ok("create_job", json!({ "tenant": tenant, "input": input }));
    }
    let page = harness.ok("list_jobs", query(json!({ "limit": 5 })));
    assert_eq!(page["total"], 13);
    let names: Vec<&str> = page["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["batch-00", "batch-01", "batch-02", "batch-03", "batch-04"]);
    // Keyset paging: each page hands over the cursor of the next; the last has none.
    let second =
        harness.ok("list_jobs", query(json!({ "limit": 5, "cursor": page["nextCursor"] })));
    assert_eq!(second["rows"][0]["name"], "batch-05");
    let last =
        harness.ok("list_jobs", query(json!({ "limit": 5, "cursor": second["nextCursor"] })));
    assert_eq!(last["rows"].as_array().expect("rows").len(), 3);
    assert_eq!(last["rows"][2]["name"], "nightly");
    assert_eq!(last["total"], 13);
    assert!(last["nextCursor"].is_null(), "{last}");
    let other_sort = harness.err(
        "list_jobs",
        query(json!({ "limit": 5, "sort": "tenant", "cursor": page["nextCursor"] })),
    );
    assert_eq!(
        (other_sort["code"].as_str(), other_sort["field"].as_str()),
        (Some("invalid"), Some("cursor"))
    );
    let garbage = harness.err("list_jobs", query(json!({ "cursor": "not a cursor" })));
    assert_eq!(garbage["field"], "cursor");
    let mut by_tenant = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = harness.ok(
            "list_jobs",
            query(json!({ "limit": 4, "sort": "tenant", "descending": true, "cursor": cursor })),
        );
        for row in page["rows"].as_array().expect("rows") {
            by_tenant.push(format!(
                "{}/{}",
                row["tenant"].as_str().expect("tenant"),
                row["name"].as_str().expect("name")
            ));
        }
        cursor = page["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let mut expected = by_tenant.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(by_tenant.len(), 13);
    assert_eq!(by_tenant, expected, "tenant, then name, both descending");
    let descending = harness.ok("list_jobs", query(json!({ "limit": 1, "descending": true })));
    assert_eq!(descending["rows"][0]["name"], "nightly");
    let globex = harness.ok("list_jobs", query(json!({ "tenant": "globex" })));
    assert_eq!(globex["total"], 6);
    let http = harness.ok("list_jobs", query(json!({ "handler": "http" })));
    assert_eq!(http["total"], 4);
    let searched = harness.ok("list_jobs", query(json!({ "search": "NIGHT" })));
    assert_eq!(searched["total"], 1);
    let wildcard = harness.ok("list_jobs", query(json!({ "search": "%" })));
    assert_eq!(wildcard["total"], 0, "LIKE wildcards in a search are literal");
    let disabled = harness.ok("list_jobs", query(json!({ "state": "auto_disabled" })));
    assert_eq!(disabled["total"], 0);
    let too_big = harness.err("list_jobs", query(json!({ "limit": 100_000 })));
    assert_eq!(too_big["field"], "limit");

    // Live counts.
    let tenants = harness.ok("list_tenants", json!({}));
    let acme = tenants
        .as_array()
        .expect("tenants")
        .iter()
        .find(|row| row["name"] == "acme")
        .expect("acme")
        .clone();
    assert_eq!(acme["jobs"], 7);
    assert_eq!(acme["autoDisabledJobs"], 0);

    policies_handlers_and_operator(harness);
}

/// The editor's policy fields, handler errors on their sub-field, the named-handler picker,
/// tenants' rate limits and defaults, and the operator setting.
fn policies_handlers_and_operator(harness: &Harness) {
    // Policies round-trip, and each range error names its input.
    let mut input = job_input("guarded", "*/5 * * * *", "UTC");
    input["policy"] = json!({
        "maxRetries": 3, "backoff": "fixed", "backoffInitialSeconds": 30.0,
        "backoffMultiplier": 1.0, "backoffMaxSeconds": 30.0, "retryJitter": 0.0,
        "overlap": "queue_one", "missed": "run_all", "missedMaxRuns": 5,
        "catchUpWindowSeconds": 7200, "autoDisableAfter": 2, "probation": true,
        "jitterWindowSeconds": 60,
        "calendars": { "excludeCalendars": [], "onlyCalendar": null, "onExcluded": "skip" },
    });
    let job = harness.ok("create_job", json!({ "tenant": "acme", "input": input }));
    assert_eq!(job["definition"]["policy"], input["policy"]);
    let id = job["id"].as_str().expect("id").to_owned();
    let mut bad = input.clone();
    bad["policy"]["backoff"] = json!("exponential");
    bad["policy"]["backoffMultiplier"] = json!(20.0);
    let error =
        harness.err("update_job", json!({ "id": id, "expectedVersion": "1", "input": bad }));
    assert_eq!(
        (error["code"].as_str(), error["field"].as_str()),
        (Some("invalid"), Some("policy.backoffMultiplier"))
    );
    assert!(
        error["message"].as_str().expect("text").contains("\"20\" is invalid: allowed 1-10"),
        "{error}"
    );
    let mut bad = input.clone();
    bad["policy"]["jitterWindowSeconds"] = json!(3600);
    let error =
        harness.err("update_job", json!({ "id": id, "expectedVersion": "1", "input": bad }));
    assert_eq!(error["field"], "policy.jitterWindowSeconds");
    assert!(
        error["message"].as_str().expect("text").contains("at most the schedule's period"),
        "{error}"
    );
    let mut bad = input.clone();
    bad["policy"]["backoffInitialSeconds"] = json!(-1.0);
    let error =
        harness.err("update_job", json!({ "id": id, "expectedVersion": "1", "input": bad }));
    assert_eq!(error["field"], "policy.backoffInitialSeconds");
    // Only the policy changed: one new version, the definition as it was.
    let mut changed = input.clone();
    changed["policy"]["overlap"] = json!("cancel_previous");
    let saved =
        harness.ok("update_job", json!({ "id": id, "expectedVersion": "1", "input": changed }));
    assert_eq!(saved["version"], "2");
    assert_eq!(saved["definition"]["policy"]["overlap"], "cancel_previous");
    assert_eq!(saved["definition"]["schedule"], "*/5 * * * *");
    let stale =
        harness.err("update_job", json!({ "id": id, "expectedVersion": "1", "input": input }));
    assert_eq!(stale["code"], "stale_version");

    // Handler errors land on the handler's own input.
    let mut http = job_input("hook", "@hourly", "UTC");
    http["handler"] =
        json!({ "type": "http", "method": "POST", "url": "ftp://files.test/x", "headers": [] });
    let error = harness.err("create_job", json!({ "tenant": "acme", "input": http }));
    assert_eq!(error["field"], "handler.url");
    let mut command = job_input("cmd", "@hourly", "UTC");
    command["handler"]["program"] = json!("  ");
    assert_eq!(
        harness.err("create_job", json!({ "tenant": "acme", "input": command }))["field"],
        "handler.program"
    );
    command["handler"]["program"] = json!("/bin/true");
    command["handler"]["workingDir"] = json!("relative/dir");
    assert_eq!(
        harness.err("create_job", json!({ "tenant": "acme", "input": command }))["field"],
        "handler.workingDir"
    );

    // An edit keeps the redirect rule the console does not show (set with the CLI or a file).
    let mut hook = job_input("follows", "@hourly", "UTC");
    hook["handler"] =
        json!({ "type": "http", "method": "POST", "url": "https://a.test/x", "headers": [] });
    let created = harness.ok("create_job", json!({ "tenant": "acme", "input": hook }));
    let id = created["id"].as_str().expect("id").to_owned();
    let console = harness.app.state::<Console>();
    tauri::async_runtime::block_on(async {
        let rota = console.rota().await.expect("rota");
        let job = rota.job(id.parse::<uuid::Uuid>().expect("uuid")).await.expect("job");
        let mut definition = job.definition();
        let rota::handler::HandlerSpec::Http(spec) = &mut definition.handler else {
            panic!("{definition:?}")
        };
        spec.follow_redirects = rota::handler::FollowRedirects::SameOrigin;
        rota.update_job(job.id, job.version, &definition, None).await.expect("update");
    });
    hook["handler"]["url"] = json!("https://a.test/y");
    harness.ok("update_job", json!({ "id": id, "expectedVersion": "2", "input": hook }));
    tauri::async_runtime::block_on(async {
        let rota = console.rota().await.expect("rota");
        let job = rota.job(id.parse::<uuid::Uuid>().expect("uuid")).await.expect("job");
        let rota::handler::HandlerSpec::Http(spec) = job.handler else { panic!("{job:?}") };
        assert_eq!(spec.url, "https://a.test/y");
        assert_eq!(spec.follow_redirects, rota::handler::FollowRedirects::SameOrigin);
    });

    // The named-handler picker lists stored definitions (passwords hidden).
    assert_eq!(harness.ok("list_named_handlers", json!({})), json!([]));
    tauri::async_runtime::block_on(async {
        let rota = console.rota().await.expect("rota");
        let spec = rota::handler::HandlerSpec::Http(rota::handler::HttpSpec::post(
            "https://user:hunter2@reports.test/run",
        ));
        rota.set_named_handler("reports.daily", &spec).await.expect("named handler");
    });
    let named = harness.ok("list_named_handlers", json!({}));
    assert_eq!(
        named,
        json!([{ "name": "reports.daily", "kind": "http", "target": "POST https://user:***@reports.test/run" }])
    );
    let mut uses = job_input("uses-named", "@hourly", "UTC");
    uses["handler"] = json!({ "type": "named", "name": "reports.daily" });
    harness.ok("create_job", json!({ "tenant": "acme", "input": uses.clone() }));
    uses["name"] = json!("uses-missing");
    uses["handler"]["name"] = json!("reports.weekly");
    let error = harness.err("create_job", json!({ "tenant": "acme", "input": uses }));
    assert_eq!(
        (error["code"].as_str(), error["field"].as_str()),
        (Some("invalid"), Some("handler.name"))
    );

    // Tenants: a rate limit and job defaults, checked by the core.
    let limited = json!({ "rateLimit": { "count": 60, "windowSeconds": 60 }, "defaultMaxRetries": 2, "defaultAutoDisableAfter": 0 });
    let created = harness.ok(
        "create_tenant",
        json!({ "input": { "name": "limited", "maxConcurrent": 2, "weight": 1, "policy": limited } }),
    );
    assert_eq!(created["policy"], limited);
    let zero = json!({ "rateLimit": { "count": 0, "windowSeconds": 60 }, "defaultMaxRetries": null, "defaultAutoDisableAfter": null });
    let error = harness.err(
        "create_tenant",
        json!({ "input": { "name": "unlimited", "maxConcurrent": 2, "weight": 1, "policy": zero } }),
    );
    assert_eq!(error["field"], "policy.rateLimit");
    assert!(
        harness
            .ok("list_tenants", json!({}))
            .as_array()
            .expect("rows")
            .iter()
            .all(|row| row["name"] != "unlimited"),
        "nothing is half-created"
    );
    let too_many =
        json!({ "rateLimit": null, "defaultMaxRetries": 101, "defaultAutoDisableAfter": null });
    let error = harness.err("update_tenant", json!({ "name": "limited", "changes": { "maxConcurrent": null, "weight": null, "paused": null, "policy": too_many } }));
    assert_eq!(error["field"], "policy.defaultMaxRetries");
    let cleared = harness.ok("update_tenant", json!({ "name": "limited", "changes": { "maxConcurrent": 4, "weight": null, "paused": null, "policy": no_tenant_policy() } }));
    assert_eq!(
        (cleared["maxConcurrent"].clone(), cleared["policy"].clone()),
        (json!(4), no_tenant_policy())
    );

    // The operator: the OS user by default, then the saved setting, recorded with edits.
    assert_eq!(harness.ok("operator_name", json!({})), json!(rota::audit::resolve_operator(None)));
    let bad = harness.err("set_operator_name", json!({ "name": " dana" }));
    assert_eq!((bad["code"].as_str(), bad["field"].as_str()), (Some("invalid"), Some("operator")));
    assert_eq!(harness.ok("set_operator_name", json!({ "name": "dana" })), "dana");
    assert_eq!(harness.ok("operator_name", json!({})), "dana");
    let settings = std::fs::read_to_string(harness.dir.path().join("config").join("console.json"))
        .expect("settings");
    assert!(settings.contains("\"operator\": \"dana\""), "{settings}");
    harness.ok("update_tenant", json!({ "name": "limited", "changes": { "maxConcurrent": 5, "weight": null, "paused": null } }));
    let audit = harness.ok(
        "list_audit",
        json!({ "query": { "tenant": "limited", "job": null, "since": null, "limit": 1 } }),
    );
    // On Postgres the entry names the database role, with the console's name beside it.
    let operator = audit[0]["operator"].as_str().expect("operator");
    assert!(operator == "dana" || operator == "postgres (dana)", "{audit}");
    assert_eq!(
        harness.ok("set_operator_name", json!({ "name": null })),
        json!(rota::audit::resolve_operator(None))
    );
}

#[test]
fn local_mode_opens_sqlite_seeds_demo_data_and_edits() {
    let harness = Harness::new();
    let status = harness.ok("open_saved_connection", json!({}));
    assert_eq!(status["state"], "setup", "a first start asks for a mode");
    assert_eq!(harness.err("list_tenants", json!({}))["code"], "not_connected");

    let status = harness.ok("open_local", json!({ "demo": true }));
    assert_eq!(status["state"], "open");
    assert_eq!(status["mode"], "local");
    assert_eq!(status["executing"], true);
    let tenants = harness.ok("list_tenants", json!({}));
    assert_eq!(tenants.as_array().expect("tenants").len(), 3, "demo data: {tenants}");
    let demo_jobs = harness.ok("list_jobs", query(json!({})));
    assert!(demo_jobs["total"].as_u64().expect("total") >= 5, "{demo_jobs}");
    // SQLite is single-user: whoever opens the file is its admin.
    let whoami = harness.ok("whoami", json!({}));
    assert_eq!((whoami["admin"].clone(), whoami["singleUser"].clone()), (json!(true), json!(true)));
    assert_eq!(whoami["grants"], json!([]));

    // Switching mode closes the database and forgets the choice.
    assert_eq!(harness.ok("switch_mode", json!({}))["state"], "setup");
    // Opening again does not seed twice (the database is not empty).
    harness.ok("open_local", json!({ "demo": true }));
    assert_eq!(harness.ok("list_tenants", json!({})).as_array().expect("tenants").len(), 3);
}

#[test]
fn local_mode_edits_tenants_and_jobs() {
    let harness = Harness::new();
    harness.ok("open_local", json!({ "demo": false }));
    editing_scenario(&harness);
}

#[test]
fn local_mode_is_reopened_from_the_saved_settings() {
    let dir = tempfile::tempdir().expect("dir");
    let paths = test_paths(dir.path());
    let console = Console::new(paths.clone(), PasswordVault::SessionOnly, Arc::new(SystemClock));
    tauri::async_runtime::block_on(async {
        console.open_local(false).await.expect("open");
        console.shutdown().await;
        let again = Console::new(paths, PasswordVault::SessionOnly, Arc::new(SystemClock));
        let status = again.open_saved().await.expect("reopen");
        assert!(matches!(status, rota_desktop::console::Status::Open { .. }), "{status:?}");
        again.shutdown().await;
    });
}

#[test]
fn a_first_start_can_open_local_mode_with_demo_data() {
    // What `cargo xtask app` asks for (`--local-demo`).
    let dir = tempfile::tempdir().expect("dir");
    let paths = test_paths(dir.path());
    let console = Console::new(paths, PasswordVault::SessionOnly, Arc::new(SystemClock))
        .with_first_start(rota_desktop::console::FirstStart::LocalWithDemo);
    tauri::async_runtime::block_on(async {
        let status = console.open_saved().await.expect("open");
        assert!(
            matches!(status, rota_desktop::console::Status::Open { executing: true, .. }),
            "{status:?}"
        );
        let tenants = console.rota().await.expect("rota").list_tenants().await.expect("tenants");
        assert_eq!(tenants.len(), 3);
        console.shutdown().await;
    });
}

#[test]
fn commands_and_capabilities_agree() {
    // build.rs, the builder and capabilities/console.json list the same commands.
    let build = include_str!("../build.rs");
    let capability: Value = serde_json::from_str(include_str!("../capabilities/console.json"))
        .expect("capability json");
    let permissions: Vec<&str> = capability["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|permission| permission.as_str().expect("text"))
        .collect();
    // Of Tauri's own permissions, only listening to events (the live updates).
    let core: Vec<&str> =
        permissions.iter().copied().filter(|permission| permission.starts_with("core:")).collect();
    assert_eq!(core, ["core:event:allow-listen", "core:event:allow-unlisten"]);
    let granted: Vec<String> = permissions
        .iter()
        .filter(|permission| !permission.starts_with("core:"))
        .map(|permission| permission.trim_start_matches("allow-").replace('-', "_"))
        .collect();
    let bindings =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/bindings.ts"))
            .expect("ui/src/bindings.ts (cargo test -p rota-desktop export_bindings writes it)");
    for command in &granted {
        assert!(
            build.contains(&format!("\"{command}\"")),
            "{command} is granted but not in build.rs"
        );
        assert!(
            bindings.contains(&format!("(\"{command}\"")),
            "{command} is granted but not in the bindings"
        );
    }
    let invoked =
        bindings.matches("__TAURI_INVOKE(\"").count() + bindings.matches("__TAURI_INVOKE<").count();
    assert_eq!(invoked, granted.len(), "every command in the bindings is granted, and only those");
}

#[test]
fn connected_mode_over_postgres() {
    let Some(database) = PostgresDatabase::create() else { return };
    let harness = Harness::new();
    // The team's database is migrated by `rota migrate`, not by a console: until then,
    // connecting says so.
    let behind = harness.err(
        "connect_postgres",
        json!({ "request": { "url": database.url, "password": null, "rememberPassword": false, "executeJobs": false } }),
    );
    assert!(behind["message"].as_str().expect("text").contains("rota migrate"), "{behind}");
    database.migrate();
    let status = harness.ok(
        "connect_postgres",
        json!({ "request": { "url": database.url, "password": null, "rememberPassword": false, "executeJobs": false } }),
    );
    assert_eq!(status["state"], "open");
    assert_eq!(status["mode"], "connected");
    assert_eq!(status["executing"], false, "a console unless asked to execute");
    editing_scenario(&harness);
    assert_eq!(harness.ok("set_execution", json!({ "enabled": true }))["executing"], true);
    operations_scenario(&harness);
    assert_eq!(harness.ok("set_execution", json!({ "enabled": false }))["executing"], false);
    let wrong = harness.err(
        "connect_postgres",
        json!({ "request": { "url": "mysql://root:hunter2@db/x", "password": null, "rememberPassword": false, "executeJobs": false } }),
    );
    assert_eq!(wrong["field"], "url");
    assert!(!wrong["message"].as_str().expect("text").contains("hunter2"));
    drop(harness);
}

/// The console connected as a limited Postgres role (operate in acme, view in globex, nothing
/// in initech): `whoami` says so, listings hold only the granted tenants, and what the role may
/// not do comes back as the typed `forbidden` error naming the capability and the tenant.
#[test]
fn a_limited_role_sees_its_grants_and_typed_refusals() {
    let Some(database) = PostgresDatabase::create() else { return };
    database.migrate();
    let harness = Harness::new();
    let connect = |url: &str| {
        harness.ok(
            "connect_postgres",
            json!({ "request": { "url": url, "password": null, "rememberPassword": false, "executeJobs": false } }),
        )
    };
    connect(&database.url);
    let whoami = harness.ok("whoami", json!({}));
    assert_eq!(
        (whoami["admin"].clone(), whoami["singleUser"].clone()),
        (json!(true), json!(false))
    );
    let mut jobs = std::collections::HashMap::new();
    for tenant in ["acme", "globex", "initech"] {
        harness.ok(
            "create_tenant",
            json!({ "input": { "name": tenant, "maxConcurrent": 3, "weight": 1, "policy": no_tenant_policy() } }),
        );
        let job = harness.ok(
            "create_job",
            json!({ "tenant": tenant, "input": job_input("nightly", "30 2 * * *", "UTC") }),
        );
        jobs.insert(tenant, job);
    }
    let role = format!("support_{}", database.name);
    tauri::async_runtime::block_on(async {
        let rota = harness.app.state::<Console>().rota().await.expect("rota");
        for (tenant, capability) in [
            ("acme", rota::access::Capability::Operate),
            ("globex", rota::access::Capability::View),
        ] {
            let request = rota::access::GrantRequest {
                role: role.clone(),
                tenants: vec![tenant.to_owned()],
                capability,
                password: None,
            };
            rota.grant_access(&request).await.expect("grant");
        }
    });
    // The access screen's commands, as an admin: a grant with a password answers with the
    // roles and never the password; a revoke takes effect in the list.
    let other = format!("helper_{}", database.name);
    let planted = "planted-console-password-31c";
    let listed = harness.ok(
        "grant_access",
        json!({ "input": { "role": other, "tenants": ["acme", "initech"], "capability": "edit", "password": planted } }),
    );
    assert!(!listed.to_string().contains(planted), "{listed}");
    let entry =
        listed.as_array().expect("roles").iter().find(|row| row["role"] == other.as_str()).cloned();
    let grants = entry.expect("the new role is listed")["grants"].clone();
    assert_eq!(grants.as_array().map(Vec::len), Some(2), "{grants}");
    let listed = harness.ok("revoke_access", json!({ "role": other, "tenant": "initech" }));
    let entry =
        listed.as_array().expect("roles").iter().find(|row| row["role"] == other.as_str()).cloned();
    assert_eq!(
        entry.expect("still listed")["grants"],
        json!([{ "tenant": "acme", "capability": "edit" }])
    );
    let refused = harness.err(
        "grant_access",
        json!({ "input": { "role": other, "tenants": [], "capability": "view", "password": null } }),
    );
    assert_eq!(refused["code"], "invalid", "{refused}");
    harness.ok("revoke_access", json!({ "role": other, "tenant": null }));
    let (_, rest) = database.url.split_once('@').expect("the URL names a user");
    let status = connect(&format!("postgres://{role}@{rest}"));
    assert_eq!(status["state"], "open");

    let whoami = harness.ok("whoami", json!({}));
    assert_eq!(whoami["role"], role.as_str());
    assert_eq!(whoami["admin"], false);
    assert_eq!(whoami["singleUser"], false);
    let mut grants = whoami["grants"].as_array().expect("grants").clone();
    grants.sort_by_key(|grant| grant["tenant"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        grants,
        [
            json!({ "tenant": "acme", "capability": "operate" }),
            json!({ "tenant": "globex", "capability": "view" }),
        ]
    );
    let tenants: Vec<Value> = harness
        .ok("list_tenants", json!({}))
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["name"].clone())
        .collect();
    assert_eq!(tenants, [json!("acme"), json!("globex")]);

    // Operate in acme: run now works; editing the job is refused, naming edit and acme.
    let acme = jobs["acme"]["id"].clone();
    harness.ok("run_job_now", json!({ "jobId": acme, "payload": null }));
    let mut changed = job_input("nightly", "45 2 * * *", "UTC");
    changed["timeoutSeconds"] = json!(30);
    let refused = harness.err(
        "update_job",
        json!({ "id": acme, "expectedVersion": jobs["acme"]["version"], "input": changed }),
    );
    assert_eq!(refused["code"], "forbidden", "{refused}");
    assert_eq!(refused["forbidden"], json!({ "capability": "edit", "tenant": "acme" }));
    assert_eq!(refused["message"], "not allowed: edit on tenant acme");
    // View in globex: reading works, pausing is refused, naming operate and globex.
    let globex = jobs["globex"]["id"].clone();
    harness.ok("get_job", json!({ "id": globex }));
    let refused = harness.err("pause_job", json!({ "id": globex }));
    assert_eq!(refused["code"], "forbidden", "{refused}");
    assert_eq!(refused["forbidden"], json!({ "capability": "operate", "tenant": "globex" }));
    // A bulk pause over every job the role sees needs operate in globex too: refused by name,
    // and acme's job is not paused either (all or nothing).
    let everything = json!({ "type": "matching", "filters": { "search": null, "tenant": null, "state": null, "handler": null } });
    let refused = harness.err(
        "bulk_jobs",
        json!({ "selection": everything, "action": "pause", "probation": false }),
    );
    assert_eq!(refused["forbidden"], json!({ "capability": "operate", "tenant": "globex" }));
    assert_eq!(harness.ok("get_job", json!({ "id": acme }))["paused"], false);
    // The access screen is for admins only.
    let refused = harness.err("list_access", json!({}));
    assert_eq!(refused["forbidden"], json!({ "capability": "admin", "tenant": null }));
    // Tenants' settings are for admins only: no tenant in the refusal.
    let refused = harness.err(
        "update_tenant",
        json!({ "name": "acme", "changes": { "maxConcurrent": 5, "weight": null, "paused": true } }),
    );
    assert_eq!(refused["code"], "forbidden", "{refused}");
    assert_eq!(refused["forbidden"], json!({ "capability": "admin", "tenant": null }));
    drop(harness);
}

/// Environments: a saved profile keeps its URL without the password (the settings file never
/// holds it), a bad colour is refused next to its field, opening a profile shows its name,
/// colour and production flag in the status, and connecting elsewhere by hand leaves it.
#[test]
fn profiles_are_saved_without_passwords_and_name_the_environment() {
    let Some(database) = PostgresDatabase::create() else { return };
    database.migrate();
    let harness = Harness::new();
    let (_, rest) = database.url.split_once('@').expect("the URL names a user");
    let with_password = format!("postgres://postgres:hunter2@{rest}");
    let bad = harness.err(
        "save_profile",
        json!({ "input": { "name": "prod-eu", "url": with_password, "colour": "red", "production": true, "password": null } }),
    );
    assert_eq!(
        (bad["code"].clone(), bad["field"].clone()),
        (json!("invalid"), json!("colour")),
        "{bad}"
    );
    let saved = harness.ok(
        "save_profile",
        json!({ "input": { "name": " prod-eu ", "url": with_password, "colour": "#DC2626", "production": true, "password": null } }),
    );
    let bare = format!("postgres://postgres@{rest}");
    assert_eq!(
        saved,
        json!([{ "name": "prod-eu", "url": bare, "colour": "#dc2626", "production": true, "active": false }])
    );
    let settings = std::fs::read_to_string(harness.dir.path().join("config").join("console.json"))
        .expect("settings");
    assert!(!settings.contains("hunter2"), "{settings}");

    let status = harness.ok("open_profile", json!({ "name": "prod-eu" }));
    assert_eq!(status["state"], "open", "{status}");
    assert_eq!(status["executing"], false, "a profile opens a console");
    assert_eq!(
        status["environment"],
        json!({ "name": "prod-eu", "colour": "#dc2626", "production": true })
    );
    assert_eq!(harness.ok("list_profiles", json!({}))[0]["active"], true);
    assert_eq!(harness.ok("connection_status", json!({}))["environment"]["name"], "prod-eu");
    let missing = harness.err("open_profile", json!({ "name": "staging" }));
    assert_eq!(missing["code"], "not_found");

    // Local mode is no saved environment.
    assert_eq!(harness.ok("open_local", json!({ "demo": false }))["environment"], Value::Null);
    assert_eq!(harness.ok("list_profiles", json!({}))[0]["active"], false);
    assert_eq!(harness.ok("delete_profile", json!({ "name": "prod-eu" })), json!([]));
    drop(harness);
}

/// Polls `probe` until it returns `Some` (the engine in the app works on the wall clock), failing
/// after `seconds`.
fn wait_for<T>(seconds: u64, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn now_plus(minutes: i64) -> String {
    use rota::clock::Clock;
    (SystemClock.now() + chrono::TimeDelta::minutes(minutes))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Half a minute past the minute `minutes` from now (between two minutely occurrences).
fn half_past_minute(minutes: i64) -> String {
    use chrono::{DurationRound, TimeDelta};
    use rota::clock::Clock;
    let minute = SystemClock.now().duration_trunc(TimeDelta::minutes(1)).expect("truncate");
    (minute + TimeDelta::minutes(minutes) + TimeDelta::seconds(30))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The run views and operations (issue 7), with the engine executing jobs in the app: a manual
/// run with an edited payload followed to its result and its details, the timeline and the
/// overview, the live feed, pausing, disabling and re-enabling, a backfill with its preview,
/// and a job auto-disabled after five failures.
fn operations_scenario(harness: &Harness) {
    harness.ok(
        "create_tenant",
        json!({ "input": { "name": "ops", "maxConcurrent": 5, "weight": 1, "policy": no_tenant_policy() } }),
    );
    let mut input = job_input("failing", "0 0 1 1 *", "UTC");
    input["handler"] = json!({ "type": "command", "program": "/bin/sh", "args": ["-c", "cat; echo broken >&2; exit 3"], "env": [], "workingDir": null, "shell": false, "runAs": null, "limits": no_limits(), "stdin": null });
    let job = harness.ok("create_job", json!({ "tenant": "ops", "input": input }));
    let id = job["id"].as_str().expect("id").to_owned();
    let console = harness.app.state::<Console>();
    let mut feed = rota_desktop::live::LiveFeed::default();
    assert!(tauri::async_runtime::block_on(feed.poll(&console)).expect("first look").is_none());

    // A bad payload is refused next to its field; a good one is used for this run only.
    let bad = harness.err("run_job_now", json!({ "jobId": id, "payload": "{\"edited\": " }));
    assert_eq!((bad["code"].as_str(), bad["field"].as_str()), (Some("invalid"), Some("payload")));
    let run = harness.ok("run_job_now", json!({ "jobId": id, "payload": "{\"edited\": true}" }));
    assert_eq!((run["trigger"].as_str(), run["status"].as_str()), (Some("manual"), Some("queued")));
    let run_id = run["id"].as_str().expect("run id").to_owned();
    let live = wait_for(20, "the live feed to report the manual run", || {
        tauri::async_runtime::block_on(feed.poll(&console))
            .expect("look")
            .filter(|changed| changed.runs.iter().any(|change| change.id == run_id))
    });
    assert_eq!(live.runs.iter().find(|change| change.id == run_id).expect("run").job, "failing");
    let detail = wait_for(20, "the manual run to finish", || {
        let detail = harness.ok("get_occurrence", json!({ "runId": run_id }));
        (detail["attempts"][0]["run"]["status"] == "failed").then_some(detail)
    });
    let attempt = &detail["attempts"][0];
    assert_eq!(detail["idempotencyKey"].as_str().expect("key").split_once(':').expect("key").0, id);
    assert_eq!(attempt["run"]["exitCode"], 3);
    assert!(attempt["run"]["node"].as_str().expect("node").starts_with("console-"), "{attempt}");
    assert!(attempt["run"]["latenessMs"].as_f64().expect("lateness") >= 0.0);
    assert!(attempt["payloadOverride"].as_str().expect("override").contains("\"edited\": true"));
    // The command read the envelope on its standard input: the edited payload is what it got.
    assert!(
        attempt["output"].as_str().expect("output").contains("\"payload\":{\"edited\":true}"),
        "{attempt}"
    );
    assert!(attempt["output"].as_str().expect("output").contains("[stderr] broken"), "{attempt}");
    assert_eq!(attempt["error"], "exit status 3");
    let runs = harness.ok("list_job_runs", json!({ "jobId": id, "limit": 10 }));
    assert_eq!(runs[0]["id"], run_id.as_str());
    assert_eq!(harness.err("list_job_runs", json!({ "jobId": id, "limit": 0 }))["field"], "limit");

    // The timeline: the run in its lane; the ghosts of a minutely job of another tenant.
    harness.ok(
        "create_job",
        json!({ "tenant": "ops", "input": job_input("minutely", "* * * * *", "UTC") }),
    );
    let window = json!({ "query": { "from": now_plus(-60), "to": now_plus(60), "tenant": "ops", "jobId": null, "limit": 50000 } });
    let timeline = harness.ok("timeline", window);
    let index = timeline["spans"]["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .position(|span| span == run_id.as_str())
        .expect("the run is drawn");
    let lane = timeline["spans"]["lane"][index].as_u64().expect("lane") as usize;
    assert_eq!(timeline["lanes"][lane]["job"], "failing");
    assert_eq!(timeline["spans"]["status"][index], "failed");
    assert!(
        timeline["ghosts"]["atMs"].as_array().expect("ghosts").len() >= 59,
        "{}",
        timeline["ghosts"]
    );
    let backwards = json!({ "query": { "from": now_plus(60), "to": now_plus(-60), "tenant": null, "jobId": null, "limit": 10 } });
    assert_eq!(harness.err("timeline", backwards)["field"], "from");

    // The overview: the app's own node, the failure.
    let overview = harness.ok("overview", json!({}));
    assert!(
        overview["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .any(|node| node["id"].as_str().expect("id").starts_with("console-")),
        "{overview}"
    );
    assert!(overview["recentFailures"]
        .as_array()
        .expect("failures")
        .iter()
        .any(|run| run["id"] == run_id.as_str()));
    assert!(overview["throughput"]["started"]
        .as_array()
        .expect("buckets")
        .iter()
        .any(|count| count.as_u64() > Some(0)));

    // Pause, resume, disable, re-enable on probation (recorded under the operator's name).
    assert_eq!(harness.ok("pause_job", json!({ "id": id }))["paused"], true);
    assert_eq!(harness.ok("resume_job", json!({ "id": id }))["paused"], false);
    let disabled =
        harness.ok("disable_job", json!({ "id": id, "operator": "dana", "reason": "maintenance" }));
    assert_eq!(
        (disabled["state"].as_str(), disabled["disabledReason"].as_str()),
        (Some("disabled"), Some("maintenance (by dana)"))
    );
    let enabled =
        harness.ok("enable_job", json!({ "id": id, "operator": "dana", "probation": true }));
    assert_eq!(
        (enabled["state"].as_str(), enabled["onProbation"].as_bool()),
        (Some("enabled"), Some(true))
    );
    // On Postgres the database role (the test server's user) enabled it, not the console's name.
    let by = enabled["enabledBy"].as_str().expect("enabled by");
    assert!(by == "dana" || by == "postgres", "{enabled}");
    assert_eq!(
        harness.err("enable_job", json!({ "id": id, "operator": " ", "probation": false }))
            ["field"],
        "operator"
    );
    assert!(!harness.ok("operator_name", json!({})).as_str().expect("name").is_empty());

    // On probation, the next failure disables it again; it shows in the list with its error.
    harness.ok("run_job_now", json!({ "jobId": id, "payload": null }));
    let listed = wait_for(20, "the job to be auto-disabled", || {
        let list = harness.ok("list_auto_disabled", json!({}));
        list.as_array().expect("list").iter().find(|row| row["id"] == id.as_str()).cloned()
    });
    assert_eq!(listed["lastError"], "exit status 3", "{listed}");
    assert_eq!(listed["onProbation"], true);
    let enabled =
        harness.ok("enable_job", json!({ "id": id, "operator": "dana", "probation": false }));
    assert_eq!(enabled["state"], "enabled");
    assert!(harness.ok("list_auto_disabled", json!({})).as_array().expect("list").is_empty());

    // A backfill: previewed (a minutely job over ten past minutes), then queued once.
    let minutely = harness.ok("list_jobs", query(json!({ "search": "minutely" })))["rows"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let range =
        json!({ "id": minutely, "from": half_past_minute(-12), "to": half_past_minute(-3) });
    let preview = harness.ok("preview_backfill", range.clone());
    assert_eq!(preview["occurrences"], 9, "{preview}");
    assert_eq!(preview["first"].as_array().expect("first").len(), 5);
    let report = harness.ok("backfill_job", range.clone());
    assert_eq!((report["occurrences"].as_u64(), report["queued"].as_u64()), (Some(9), Some(9)));
    let again = harness.ok("backfill_job", range);
    assert_eq!((again["queued"].as_u64(), again["alreadyPresent"].as_u64()), (Some(0), Some(9)));
    let future = json!({ "id": minutely, "from": now_plus(-1), "to": now_plus(10) });
    assert_eq!(harness.err("preview_backfill", future)["field"], "to");

    // The audit log: the re-enable under the operator's name, the manual runs, the backfill.
    let audit =
        json!({ "query": { "tenant": "ops", "job": "failing", "since": null, "limit": 100 } });
    let entries = harness.ok("list_audit", audit);
    let entries = entries.as_array().expect("entries");
    let enabled = entries.iter().find(|entry| entry["action"] == "job.enabled").expect("enabled");
    // On Postgres the database names the role that made the change; the console's name for the
    // person stands beside it.
    let operator = enabled["operator"].as_str().expect("operator");
    assert!(operator == "dana" || operator == "postgres (dana)", "{enabled}");
    assert!(entries.iter().any(|entry| entry["action"] == "job.triggered"), "{entries:?}");
    assert!(entries.iter().any(|entry| entry["action"] == "job.auto_disabled"), "{entries:?}");
    let bad =
        json!({ "query": { "tenant": null, "job": null, "since": "yesterday", "limit": 10 } });
    assert_eq!(harness.err("list_audit", bad)["field"], "since");
}

#[test]
fn local_mode_runs_views_and_operations() {
    let harness = Harness::new();
    harness.ok("open_local", json!({ "demo": false }));
    operations_scenario(&harness);
}

/// Bulk actions from the jobs table: the state filters, "all that match" and ticked rows, one
/// command each, with what it changed; a bad selection is refused naming its field.
#[test]
fn bulk_actions_pause_filtered_jobs_and_enable_ticked_ones() {
    let harness = Harness::new();
    harness.ok("open_local", json!({ "demo": false }));
    for tenant in ["acme", "globex"] {
        harness.ok(
            "create_tenant",
            json!({ "input": { "name": tenant, "maxConcurrent": 3, "weight": 1, "policy": no_tenant_policy() } }),
        );
        for name in ["a", "b", "c"] {
            harness.ok(
                "create_job",
                json!({ "tenant": tenant, "input": job_input(name, "30 2 * * *", "UTC") }),
            );
        }
    }
    let matching = |tenant: Value, state: Value| json!({ "type": "matching", "filters": { "search": null, "tenant": tenant, "state": state, "handler": null } });
    let paused = harness.ok(
        "bulk_jobs",
        json!({ "selection": matching(json!("acme"), Value::Null), "action": "pause", "probation": false }),
    );
    assert_eq!(paused, json!({ "action": "pause", "selected": 3, "changed": 3 }));
    let listed = harness.ok("list_jobs", query(json!({ "state": "paused" })));
    assert_eq!(listed["total"], 3);
    let ids: Vec<Value> =
        listed["rows"].as_array().expect("rows")[..2].iter().map(|row| row["id"].clone()).collect();
    let disabled = harness.ok(
        "bulk_jobs",
        json!({ "selection": { "type": "ids", "ids": ids }, "action": "disable", "probation": false }),
    );
    assert_eq!(disabled["changed"], 2);
    let enabled = harness.ok(
        "bulk_jobs",
        json!({ "selection": matching(Value::Null, json!("disabled")), "action": "enable", "probation": true }),
    );
    assert_eq!(enabled, json!({ "action": "enable", "selected": 2, "changed": 2 }));
    let refused = harness.err(
        "bulk_jobs",
        json!({ "selection": { "type": "ids", "ids": ["nope"] }, "action": "pause", "probation": false }),
    );
    assert_eq!(
        (refused["code"].clone(), refused["field"].clone()),
        (json!("invalid"), json!("id"))
    );
    let refused = harness.err(
        "bulk_jobs",
        json!({ "selection": { "type": "ids", "ids": [] }, "action": "pause", "probation": false }),
    );
    assert_eq!(
        (refused["code"].clone(), refused["field"].clone()),
        (json!("invalid"), json!("jobs"))
    );
}

/// Local mode runs commands as `rota serve` does: in `<work root>/<tenant>`, through the app's
/// own `__exec` wrapper, so a job with a resource limit succeeds. (The console once ran them
/// with neither: in the app's working directory, and a limit failed the run for want of the
/// wrapper.) `tests/runtime.rs` runs the same job under `rota serve`.
#[test]
fn local_mode_runs_limited_commands_in_the_work_root_through_its_own_wrapper() {
    let harness = Harness::new();
    harness.ok("open_local", json!({ "demo": false }));
    harness.ok(
        "create_tenant",
        json!({ "input": { "name": "limited", "maxConcurrent": 2, "weight": 1, "policy": no_tenant_policy() } }),
    );
    let mut input = job_input("open-files", "0 0 1 1 *", "UTC");
    input["handler"] = json!({ "type": "command", "program": "/bin/sh", "args": ["-c", "ulimit -n; pwd"], "env": [], "workingDir": null, "shell": false, "runAs": null, "limits": no_limits(), "stdin": null });
    let job = harness.ok("create_job", json!({ "tenant": "limited", "input": input }));
    // The job sets no limit: the tenant's default applies to it.
    let console = harness.app.state::<Console>();
    let update = rota::api::TenantSettingsUpdate {
        command_limits: Some(rota::handler::CommandLimits {
            open_files: Some(64),
            ..Default::default()
        }),
        ..Default::default()
    };
    tauri::async_runtime::block_on(async {
        console.rota().await.expect("rota").update_tenant_settings("limited", &update).await
    })
    .expect("limits");

    let run = harness.ok("run_job_now", json!({ "jobId": job["id"], "payload": null }));
    let run_id = run["id"].as_str().expect("run id").to_owned();
    let attempt = wait_for(30, "the limited run to finish", || {
        let detail = harness.ok("get_occurrence", json!({ "runId": run_id }));
        let attempt = detail["attempts"][0].clone();
        let status = attempt["run"]["status"].as_str().unwrap_or_default().to_owned();
        (status != "queued" && status != "running").then_some(attempt)
    });
    assert_eq!(attempt["run"]["status"], "succeeded", "{attempt}");
    let output = attempt["output"].as_str().expect("output");
    let lines: Vec<&str> = output.lines().collect();
    let work_dir = harness.dir.path().join("work").join("limited");
    let work_dir = work_dir.canonicalize().expect("the tenant's directory was created");
    assert_eq!(lines, ["64", work_dir.to_str().expect("utf-8")], "{attempt}");
}

/// A job imported with a run-as user, limits and stdin text (`rota import crontab --system`,
/// `rota apply`), edited in the console: the editor shows them and a schedule change keeps
/// them. (The console once rebuilt the handler without them, and the job then ran as the
/// daemon's user.)
#[test]
fn a_console_edit_keeps_the_run_as_user_limits_and_stdin() {
    let harness = Harness::new();
    harness.ok("open_local", json!({ "demo": false }));
    harness.ok(
        "create_tenant",
        json!({ "input": { "name": "ops", "maxConcurrent": 2, "weight": 1, "policy": no_tenant_policy() } }),
    );
    let mut spec = rota::handler::CommandSpec::new("/usr/bin/find", ["/var/log", "-name", "*.gz"]);
    spec.run_as = Some("www-data".into());
    spec.limits = Some(rota::handler::CommandLimits {
        cpu_seconds: Some(30),
        open_files: Some(256),
        ..Default::default()
    });
    spec.stdin = Some("from the crontab's % input\n".into());
    let definition = rota::job::JobDefinition {
        name: "rotate".into(),
        schedule: "0 4 * * *".into(),
        timezone: "UTC".into(),
        handler: rota::handler::HandlerSpec::Command(spec.clone()),
        payload: json!({}),
        timeout: std::time::Duration::from_secs(60),
    };
    let console = harness.app.state::<Console>();
    let job = tauri::async_runtime::block_on(async {
        let rota = console.rota().await.expect("rota");
        rota.add_job("ops", &definition, &rota::policy::JobPolicy::default()).await
    })
    .expect("job");

    // The editor reads the job, the person changes the schedule and saves what the form holds.
    let detail = harness.ok("get_job", json!({ "id": job.id.to_string() }));
    let handler = &detail["definition"]["handler"];
    assert_eq!(handler["runAs"], "www-data", "{detail}");
    assert_eq!(handler["limits"]["cpuSeconds"], 30, "{detail}");
    assert_eq!(handler["limits"]["openFiles"], 256, "{detail}");
    assert_eq!(handler["stdin"], "from the crontab's % input\n", "{detail}");
    let mut input = detail["definition"].clone();
    input["schedule"] = json!("30 4 * * *");
    harness.ok(
        "update_job",
        json!({ "id": detail["id"], "expectedVersion": detail["version"], "input": input }),
    );
    let saved = tauri::async_runtime::block_on(async {
        console.rota().await.expect("rota").job(job.id).await
    })
    .expect("job");
    assert_eq!(saved.schedule, "30 4 * * *");
    assert_eq!(saved.handler, rota::handler::HandlerSpec::Command(spec), "{saved:?}");
}

/// A database of its own on the test server, dropped afterwards.
struct PostgresDatabase {
    url: String,
    admin: String,
    name: String,
}

impl PostgresDatabase {
    fn create() -> Option<PostgresDatabase> {
        let admin = std::env::var("ROTA_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let name = format!("rota_desktop_test_{}", uuid::Uuid::new_v4().simple());
        let created = tauri::async_runtime::block_on(admin_statement(
            &admin,
            &format!("CREATE DATABASE {name}"),
        ));
        if let Err(error) = created {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("ROTA_REQUIRE_POSTGRES").is_some();
            assert!(!required, "Postgres at {admin} is required but unavailable: {error}");
            eprintln!("SKIPPED: Postgres at {admin} is unavailable ({error})");
            return None;
        }
        let (base, _) = admin.rsplit_once('/').expect("the admin URL names a database");
        Some(PostgresDatabase { url: format!("{base}/{name}"), admin, name })
    }
}

impl PostgresDatabase {
    /// Applies the migrations, as `rota migrate` does.
    fn migrate(&self) {
        use rota::store::prelude::*;
        tauri::async_runtime::block_on(async {
            let store = rota::store::AnyStore::connect(&self.url).await.expect("connect");
            store.migrate().await.expect("migrate");
            store.close().await;
        });
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = tauri::async_runtime::block_on(admin_statement(&self.admin, &statement));
        // The database's group roles (migration 0010) and the login roles a test made (named
        // with the database's name in them) are cluster-wide and outlive it.
        let roles = format!(
            "DO $$ DECLARE r record; BEGIN \
             FOR r IN SELECT rolname FROM pg_roles WHERE strpos(rolname, '{name}') > 0 LOOP \
             EXECUTE format('DROP ROLE IF EXISTS %I', r.rolname); END LOOP; END $$",
            name = self.name
        );
        let _ = tauri::async_runtime::block_on(admin_statement(&self.admin, &roles));
    }
}

/// Runs one statement on the admin database. Identifiers cannot be bound; the names here are
/// generated, never input.
async fn admin_statement(admin: &str, statement: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(statement).execute(&mut connection).await?;
    connection.close().await
}

/// The jobs table over 100,000 jobs: every page, sort and filter answers quickly. Ignored by
/// default (it inserts 100,000 rows); run with
/// `cargo test -p rota-desktop --release --test commands -- --ignored --nocapture`.
#[test]
#[ignore = "inserts 100,000 jobs; run on demand to measure"]
fn jobs_table_with_100k_jobs() {
    let harness = Harness::new();
    harness.ok("open_local", json!({ "demo": false }));
    for tenant in ["acme", "globex", "initech", "umbrella"] {
        harness.ok(
            "create_tenant",
            json!({ "input": { "name": tenant, "maxConcurrent": 3, "weight": 1, "policy": no_tenant_policy() } }),
        );
    }
    let started = std::time::Instant::now();
    let database = harness.dir.path().join("data").join("rota.sqlite");
    bulk_insert_jobs(&database, 100_000);
    eprintln!("inserted 100,000 jobs in {:?}", started.elapsed());
    // Deep pages start at a cursor (keyset paging): as cheap as the first page.
    let deep = |sort, descending, key, name: &str| {
        let cursor = rota::api::JobCursor {
            sort,
            descending,
            key,
            name: name.to_owned(),
            id: uuid::Uuid::nil(),
        };
        Value::String(cursor.encode())
    };
    let queries = [
        json!({}),
        json!({ "cursor": deep(rota::api::JobSort::Name, false, None, "job-099950") }),
        json!({ "sort": "next_run" }),
        json!({ "sort": "next_run", "descending": true, "cursor": deep(
            rota::api::JobSort::NextRun,
            true,
            Some(rota::api::CursorKey::Number(1_900_005_000_000)),
            "job-050000",
        ) }),
        json!({ "sort": "tenant" }),
        json!({ "sort": "updated", "descending": true }),
        json!({ "search": "job-0999" }),
        json!({ "tenant": "globex", "sort": "name" }),
        json!({ "handler": "http" }),
        json!({ "state": "auto_disabled" }),
    ];
    for overrides in queries {
        let started = std::time::Instant::now();
        let page = harness.ok("list_jobs", query(overrides.clone()));
        eprintln!(
            "{overrides}: {} of {} in {:?}",
            page["rows"].as_array().expect("rows").len(),
            page["total"],
            started.elapsed()
        );
    }
    let started = std::time::Instant::now();
    harness.ok("list_tenants", json!({}));
    eprintln!("tenant overview in {:?}", started.elapsed());
}

/// Inserts jobs straight into the SQLite file (the API would take minutes for 100,000).
fn bulk_insert_jobs(database: &std::path::Path, count: usize) {
    use sqlx::Connection;
    tauri::async_runtime::block_on(async {
        let mut connection =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display()))
                .await
                .expect("connect");
        let tenants: Vec<Vec<u8>> = sqlx::query_scalar("SELECT id FROM tenants ORDER BY name")
            .fetch_all(&mut connection)
            .await
            .expect("tenants");
        let mut transaction = connection.begin().await.expect("begin");
        for index in 0..count {
            let handler = if index % 3 == 0 {
                r#"{"type":"http","method":"POST","url":"https://example.test/hook"}"#
            } else {
                r#"{"type":"command","program":"/bin/true"}"#
            };
            let next = 1_900_000_000_000_i64 + (index as i64 * 7919) % 10_000_000;
            sqlx::query(
                "INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, payload, timeout_ms, \
                 enabled, next_run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, '*/5 * * * *', 'UTC', $4, '{}', 60000, 1, $5, $6, $6)",
            )
            .bind(uuid::Uuid::new_v4())
            .bind(&tenants[index % tenants.len()])
            .bind(format!("job-{index:06}"))
            .bind(handler)
            .bind(next)
            .bind(1_800_000_000_000_i64 + index as i64)
            .execute(&mut *transaction)
            .await
            .expect("insert");
        }
        transaction.commit().await.expect("commit");
    });
}

/// Secrets planted through the console's own commands (a URL password containing `@`,
/// `?password=`, `?api_key=`, `Authorization` and `X-Api-Key` values, a command's
/// `DB_PASSWORD`) never come back in any DTO: the job editor, the jobs table, the named-handler
/// picker, the runs of a failed HTTP call (against a closed port of 127.0.0.1), the audit view.
/// The editor sees that they are set (`(secret)`, `***`), and saving without touching them keeps
/// the stored values; a mask with nothing stored behind it is refused, naming the field.
#[test]
fn console_data_never_holds_a_secret_and_a_masked_edit_keeps_it() {
    const SECRETS: [&str; 8] = [
        "Cpw1Half@Cpw2Half",
        "Cpw1Half",
        "Cpw2Half",
        "ConsoleQueryPassword",
        "ConsoleQueryApiKey",
        "ConsoleAuthorization",
        "ConsoleXApiKey",
        "ConsoleEnvPassword",
    ];
    let assert_clean = |what: &str, value: &Value| {
        let text = value.to_string();
        for secret in SECRETS {
            assert!(!text.contains(secret), "{what} holds {secret:?}: {text}");
            assert!(!text.contains(&secret.replace('@', "%40")), "{what} holds {secret:?}: {text}");
        }
    };
    let harness = Harness::new();
    harness.ok("open_local", json!({ "demo": false }));
    harness.ok(
        "create_tenant",
        json!({ "input": { "name": "acme", "maxConcurrent": 3, "weight": 1, "policy": no_tenant_policy() } }),
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!(
        "http://bot:Cpw1Half@Cpw2Half@127.0.0.1:{port}/hook?password=ConsoleQueryPassword&api_key=ConsoleQueryApiKey&page=1"
    );
    let mut input = job_input("leaky", "0 0 1 1 *", "UTC");
    input["handler"] = json!({ "type": "http", "method": "POST", "url": url, "headers": [
        { "name": "Authorization", "value": "Bearer ConsoleAuthorization" },
        { "name": "X-Api-Key", "value": "ConsoleXApiKey" },
        { "name": "X-Visible", "value": "shown-header" },
    ] });
    let created = harness.ok("create_job", json!({ "tenant": "acme", "input": input }));
    assert_clean("create_job", &created);
    let id = created["id"].as_str().expect("id").to_owned();
    let mut command = job_input("env", "0 0 1 1 *", "UTC");
    command["handler"]["env"] = json!([
        { "name": "DB_PASSWORD", "value": "ConsoleEnvPassword" },
        { "name": "MODE", "value": "full" },
    ]);
    assert_clean(
        "create_job",
        &harness.ok("create_job", json!({ "tenant": "acme", "input": command })),
    );

    // The editor sees what is set, not its value.
    let detail = harness.ok("get_job", json!({ "id": id }));
    assert_clean("get_job", &detail);
    let handler = &detail["definition"]["handler"];
    assert_eq!(
        handler["url"],
        format!("http://bot:***@127.0.0.1:{port}/hook?password=***&api_key=***&page=1")
    );
    assert_eq!(
        handler["headers"],
        json!([
            { "name": "Authorization", "value": "(secret)" },
            { "name": "X-Api-Key", "value": "(secret)" },
            { "name": "X-Visible", "value": "shown-header" },
        ])
    );

    // Saved with the masks untouched (another field changed): the stored secrets stay.
    let mut edited = detail["definition"].clone();
    edited["schedule"] = json!("0 0 2 1 *");
    let saved = harness.ok(
        "update_job",
        json!({ "id": id, "expectedVersion": detail["version"], "input": edited.clone() }),
    );
    assert_clean("update_job", &saved);
    let console = harness.app.state::<Console>();
    let stored = tauri::async_runtime::block_on(async {
        let rota = console.rota().await.expect("rota");
        rota.job(id.parse::<uuid::Uuid>().expect("uuid")).await.expect("job").handler
    });
    let rota::handler::HandlerSpec::Http(stored) = stored else { panic!("{stored:?}") };
    assert_eq!(stored.url, url);
    assert_eq!(stored.headers["Authorization"], "Bearer ConsoleAuthorization");
    assert_eq!(stored.headers["X-Api-Key"], "ConsoleXApiKey");
    // A mask under a new name has nothing behind it: refused, naming the field.
    edited["handler"]["headers"][1]["name"] = json!("X-Other-Key");
    let refused = harness.err(
        "update_job",
        json!({ "id": id, "expectedVersion": saved["version"], "input": edited }),
    );
    assert_eq!(refused["field"], "handler.headers", "{refused}");
    assert_clean("update_job's error", &refused);

    // A run against the closed port fails; its error names the target, never the secrets.
    let run = harness.ok("run_job_now", json!({ "jobId": id, "payload": null }));
    let run_id = run["id"].as_str().expect("run id").to_owned();
    let occurrence = wait_for(30, "the HTTP run to fail", || {
        let detail = harness.ok("get_occurrence", json!({ "runId": run_id }));
        (detail["attempts"][0]["run"]["status"] == "failed").then_some(detail)
    });
    assert_clean("get_occurrence", &occurrence);
    assert!(
        occurrence["attempts"][0]["error"].as_str().expect("error").contains("127.0.0.1"),
        "{occurrence}"
    );
    for (command, args) in [
        ("list_jobs", query(json!({}))),
        ("list_job_runs", json!({ "jobId": id, "limit": 10 })),
        ("get_job", json!({ "id": id })),
        ("list_named_handlers", json!({})),
        ("list_auto_disabled", json!({})),
        (
            "list_audit",
            json!({ "query": { "tenant": null, "job": null, "since": null, "limit": 100 } }),
        ),
        ("overview", json!({})),
    ] {
        let answer = harness.call(command, args).unwrap_or_else(|error| error);
        assert_clean(command, &answer);
    }
}

/// The console's files are private: its settings `0600` in a `0700` folder, its Local mode
/// database (and SQLite's companions) `0600` in a `0700` folder; a settings file left open to
/// others is tightened when read.
#[test]
fn console_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path).expect("metadata").permissions().mode() & 0o7777
    };
    let harness = Harness::new();
    harness.ok("open_local", json!({ "demo": false }));
    let paths = test_paths(harness.dir.path());
    assert_eq!(mode(&paths.settings), 0o600);
    assert_eq!(mode(paths.settings.parent().unwrap()), 0o700);
    assert_eq!(mode(&paths.local_database), 0o600);
    assert_eq!(mode(paths.local_database.parent().unwrap()), 0o700);
    for companion in ["rota.sqlite-wal", "rota.sqlite-shm"] {
        let path = paths.local_database.with_file_name(companion);
        if path.exists() {
            assert_eq!(mode(&path), 0o600, "{companion}");
        }
    }
    std::fs::set_permissions(&paths.settings, std::fs::Permissions::from_mode(0o644)).unwrap();
    rota_desktop::settings::Settings::load(&paths.settings).expect("settings");
    assert_eq!(mode(&paths.settings), 0o600);
}

/// Local mode while another engine executes the same SQLite file (the user service, or a
/// `rota serve` opened by mistake): the console attaches as a client instead of starting a
/// second engine, each run executes once (by that engine), and when that engine stops the
/// console takes the jobs over while its window is open.
#[test]
fn local_mode_attaches_to_the_engine_that_executes_the_file_and_takes_over_when_it_stops() {
    use rota::runtime::{CommandSettings, DatabaseConfig, MigrationPolicy, Runtime, RuntimeConfig};

    let harness = Harness::new();
    let paths = test_paths(harness.dir.path());
    let url = format!("sqlite://{}", paths.local_database.display());
    let mut database = DatabaseConfig::new(url.clone());
    database.migration = MigrationPolicy::Apply;
    let mut commands = CommandSettings::new(paths.work_root.clone(), paths.exec_wrapper.clone());
    // As the console's own engine does: the tests run as root.
    commands.allow_root_jobs = true;
    let service_config = RuntimeConfig::new(database, "user-service", commands);
    let service =
        tauri::async_runtime::block_on(Runtime::open(service_config, Arc::new(SystemClock)))
            .expect("the service's engine starts");

    let status = harness.ok("open_local", json!({ "demo": false }));
    assert_eq!(status["executing"], false, "{status}");
    let background = harness.ok("background_status", json!({}));
    assert_eq!(background["executor"], "elsewhere", "{background}");
    let holder = background["holder"].as_str().expect("the holder is named");
    assert!(holder.contains("node user-service"), "{holder}");
    assert!(holder.contains(&format!("pid {}", std::process::id())), "{holder}");

    harness.ok(
        "create_tenant",
        json!({ "input": { "name": "acme", "maxConcurrent": 4, "weight": 1, "policy": no_tenant_policy() } }),
    );
    let marks = harness.dir.path().join("marks.txt");
    let mut input = job_input("mark", "0 0 1 1 *", "UTC");
    let script = format!("echo \"$ROTA_RUN_ID\" >> '{}'", marks.display());
    input["handler"] = json!({ "type": "command", "program": "/bin/sh", "args": ["-c", script], "env": [], "workingDir": null, "shell": false, "runAs": null, "limits": no_limits(), "stdin": null });
    let job = harness.ok("create_job", json!({ "tenant": "acme", "input": input }));
    let run_once = |expected_node: &str| {
        let run = harness.ok("run_job_now", json!({ "jobId": job["id"], "payload": null }));
        let run_id = run["id"].as_str().expect("run id").to_owned();
        let console = harness.app.state::<Console>();
        let finished = wait_for(30, "the run to finish", || {
            let run = tauri::async_runtime::block_on(async {
                let rota = console.rota().await.expect("rota");
                rota.run(run_id.parse().expect("uuid")).await
            })
            .expect("the run");
            run.status.is_final().then_some(run)
        });
        assert_eq!(finished.status, rota::run::RunStatus::Succeeded, "{finished:?}");
        assert_eq!(finished.lease_owner.as_deref(), Some(expected_node), "{finished:?}");
        run_id
    };
    let first = run_once("user-service");
    let marked = std::fs::read_to_string(&marks).expect("marks");
    assert_eq!(marked.lines().collect::<Vec<_>>(), [first.as_str()], "executed once");

    // The service stops: the console's engine takes over.
    tauri::async_runtime::block_on(service.shutdown()).expect("the service stops");
    let background = harness.ok("background_status", json!({}));
    assert_eq!(background["executor"], "app", "{background}");
    assert_eq!(background["service"], "unavailable", "{background}");
    let console = harness.app.state::<Console>();
    assert!(tauri::async_runtime::block_on(console.executes_local_jobs()));
    let run = harness.ok("run_job_now", json!({ "jobId": job["id"], "payload": null }));
    let run_id = run["id"].as_str().expect("run id").to_owned();
    wait_for(30, "the console to execute the run", || {
        let marked = std::fs::read_to_string(&marks).unwrap_or_default();
        marked.contains(&run_id).then_some(())
    });
    let marked = std::fs::read_to_string(&marks).expect("marks");
    assert_eq!(marked.lines().collect::<Vec<_>>(), [first.as_str(), run_id.as_str()]);
}
