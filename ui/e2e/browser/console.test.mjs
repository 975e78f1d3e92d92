// UI tests in headless Chromium against the mock build (`npm run build:mock`): forms, tables
// and the error paths, with the IPC answered by src/mock/backend.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { nav, useConsole } from "./support.mjs";

const withConsole = useConsole();

describe("first start", () => {
  it("offers Local with demo data and opens on the tenants", async () => {
    await withConsole({}, async (page) => {
      await page.getByRole("heading", { name: "Welcome to Rota" }).waitFor();
      await page.getByRole("button", { name: "Use a local database" }).click();
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      await nav(page, "Tenants").click();
      await page.getByRole("heading", { name: "Tenants" }).waitFor();
      await page.locator('tr[data-tenant="acme"]').waitFor();
      assert.equal(await page.locator('tr[data-tenant="globex"]').count(), 1);
      assert.match(await page.getByTestId("mode-badge").textContent(), /Local · executing jobs/);
    });
  });

  it("shows a bad database URL next to the field", async () => {
    await withConsole({}, async (page) => {
      await page.getByLabel("Database URL").fill("mysql://db/rota");
      await page.getByRole("button", { name: "Connect" }).click();
      const error = page.locator("#connect-url-error");
      await error.waitFor();
      assert.match(await error.textContent(), /not a Postgres URL/);
      assert.equal(await page.getByLabel("Database URL").getAttribute("aria-invalid"), "true");
    });
  });
});

describe("tenants", () => {
  it("creates a tenant, refusing a bad limit next to its field", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Tenants").click();
      await page.getByRole("button", { name: "New tenant" }).click();
      await page.getByLabel("Name", { exact: true }).fill("initech");
      await page.getByLabel("Max concurrent runs").fill("0");
      await page.getByRole("button", { name: "Create tenant" }).click();
      const error = page.locator("#tenant-max-error");
      await error.waitFor();
      assert.match(await error.textContent(), /allowed 1-100000/);
      await page.getByLabel("Max concurrent runs").fill("4");
      await page.getByRole("button", { name: "Create tenant" }).click();
      await page.locator('tr[data-tenant="initech"]').waitFor();
      assert.equal(await page.getByRole("form", { name: "New tenant" }).count(), 0);
      assert.equal(await page.getByTestId("tenant-saved").textContent(), "Created tenant initech.");
    });
  });

  it("pauses and resumes a tenant", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Tenants").click();
      const row = page.locator('tr[data-tenant="acme"]');
      await row.getByRole("button", { name: "Pause acme" }).click();
      await row.getByText("paused").waitFor();
      await row.getByRole("button", { name: "Resume acme" }).click();
      await row.getByText("active").waitFor();
    });
  });
});

describe("jobs table", () => {
  it("pages, sorts, searches and filters through the backend", async () => {
    await withConsole({ open: true, jobs: 120 }, async (page) => {
      await nav(page, "Jobs").click();
      const range = page.getByTestId("jobs-range");
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "1–50 of 122");
      await page.getByRole("button", { name: "Next", exact: true }).click();
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "51–100 of 122");
      assert.equal(await page.locator("tbody tr").first().getAttribute("data-job"), "job-00049");

      // Sorting goes back to the first page, descending.
      await page.getByTestId("jobs-table").getByRole("button", { name: /^Job/ }).click();
      await page.waitForFunction(() => document.querySelector("tbody tr")?.getAttribute("data-job") === "nightly-report");
      assert.equal(await range.textContent(), "1–50 of 122");

      await page.getByRole("searchbox", { name: "Search jobs" }).fill("job-0011");
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "1–10 of 10");

      await page.getByRole("searchbox", { name: "Search jobs" }).fill("");
      await page.getByRole("combobox", { name: "Handler" }).selectOption("named");
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "1–40 of 40");
      const calls = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "list_jobs").at(-1).args.query);
      assert.deepEqual({ handler: calls.handler, cursor: calls.cursor, limit: calls.limit }, { handler: "named", cursor: null, limit: 50 });
    });
  });
});

describe("jobs table paging", () => {
  it("hands the page's cursor over for Next and goes back along the way for Previous", async () => {
    await withConsole({ open: true, jobs: 120 }, async (page) => {
      await nav(page, "Jobs").click();
      const rangeIs = (text) => page.waitForFunction((expected) => document.querySelector('[data-testid="jobs-range"]')?.textContent === expected, text);
      await rangeIs("1–50 of 122");
      const lastCall = () => page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "list_jobs").at(-1).args.query);
      await page.getByRole("button", { name: "Next", exact: true }).click();
      await rangeIs("51–100 of 122");
      assert.equal((await lastCall()).cursor, "50");
      await page.getByRole("button", { name: "Next", exact: true }).click();
      await rangeIs("101–122 of 122");
      assert.equal(await page.getByRole("button", { name: "Next", exact: true }).isDisabled(), true, "the last page has no next cursor");
      await page.getByRole("button", { name: "Previous", exact: true }).click();
      await rangeIs("51–100 of 122");
      assert.equal(await page.locator("tbody tr").first().getAttribute("data-job"), "job-00049");
    });
  });
});

describe("jobs table bulk actions (issue 15 item 10)", () => {
  it("pauses every job that matches the filters in one action, and resumes ticked rows", async () => {
    await withConsole({ open: true, jobs: 120 }, async (page) => {
      await nav(page, "Jobs").click();
      const rangeIs = (text) => page.waitForFunction((expected) => document.querySelector('[data-testid="jobs-range"]')?.textContent === expected, text);
      await rangeIs("1–50 of 122");
      await page.getByRole("combobox", { name: "Tenant" }).selectOption("acme");
      await rangeIs("1–50 of 61");
      await page.getByRole("button", { name: "Select all 61 jobs that match" }).click();
      assert.equal(await page.getByTestId("bulk-selected").textContent(), "All 61 jobs that match selected");
      await page.getByRole("button", { name: "Pause 61 jobs" }).click();
      await page.getByRole("status").filter({ hasText: "Paused 61 jobs." }).waitFor();
      const call = await page.evaluate(() => window.__rotaMock.calls.filter((entry) => entry.cmd === "bulk_jobs").at(-1).args);
      assert.deepEqual(call, {
        selection: { type: "matching", filters: { search: null, tenant: "acme", state: null, handler: null } },
        action: "pause",
        probation: false,
      }, "one command for all of them, by filter");

      // The paused filter lists them; two ticked rows are resumed.
      await page.getByRole("combobox", { name: "State" }).selectOption("paused");
      await rangeIs("1–50 of 61");
      await page.getByRole("checkbox", { name: "Select acme/job-00000" }).check();
      await page.getByRole("checkbox", { name: "Select acme/job-00002" }).check();
      assert.equal(await page.getByTestId("bulk-selected").textContent(), "2 jobs selected");
      await page.getByRole("button", { name: "Resume 2 jobs" }).click();
      await page.getByRole("status").filter({ hasText: "Resumed 2 jobs." }).waitFor();
      await rangeIs("1–50 of 59");
    });
  });

  it("shows a refusal naming the tenant, and changes nothing", async () => {
    const whoami = { role: "support_ana", admin: false, singleUser: false, grants: [{ tenant: "acme", capability: "operate" }, { tenant: "globex", capability: "view" }] };
    await withConsole({ open: true, jobs: 4, whoami }, async (page) => {
      await nav(page, "Jobs").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "1–6 of 6");
      await page.getByRole("button", { name: "Select all 6 jobs that match" }).click();
      await page.getByRole("button", { name: "Disable 6 jobs" }).click();
      const error = page.getByTestId("bulk-error");
      await error.waitFor();
      assert.match(await error.textContent(), /this needs operate on tenant globex/);
      await page.getByRole("combobox", { name: "State" }).selectOption("disabled");
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "0–0 of 0");
    });
  });
});

describe("job policies and handlers", () => {
  it("shows a policy error next to its field, then saves the policies", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "New job" }).click();
      await page.getByLabel("Name", { exact: true }).fill("retrying");
      await page.getByLabel("URL").fill("ftp://files.internal/x");
      await page.getByLabel("Retries", { exact: true }).fill("4");
      await page.getByLabel("Multiplier").fill("20");
      await page.getByRole("button", { name: "Create job" }).click();
      // The handler's error is on the URL, not on the handler as a whole.
      const urlError = page.locator("#job-http-url-error");
      await urlError.waitFor();
      assert.match(await urlError.textContent(), /handler\.url: "ftp:\/\/files.internal\/x"/);
      await page.getByLabel("URL").fill("https://files.internal/x");
      await page.getByRole("button", { name: "Create job" }).click();
      const error = page.locator("#job-policy-backoffMultiplier-error");
      await error.waitFor();
      assert.match(await error.textContent(), /backoff_multiplier: "20" is invalid: allowed 1-10/);
      assert.equal(await page.getByLabel("Multiplier").getAttribute("aria-invalid"), "true");
      assert.equal(await urlError.count(), 0);

      // A shape the core would not understand is refused in the form, next to the field.
      await page.getByLabel("Multiplier").fill("3");
      await page.getByLabel("Retries", { exact: true }).fill("many");
      await page.getByRole("button", { name: "Create job" }).click();
      await page.locator("#job-policy-maxRetries-error").filter({ hasText: "a whole number" }).waitFor();
      await page.getByLabel("Retries", { exact: true }).fill("4");

      await page.getByLabel("When the previous run is still going").selectOption("queue_one");
      await page.getByLabel("Missed runs (downtime, pause)").selectOption("run_all");
      await page.getByLabel("At most (runs per gap)").fill("12");
      await page.getByLabel("Start jitter window (seconds)").fill("90");
      await page.getByRole("button", { name: "Create job" }).click();
      await page.getByRole("heading", { name: "acme / retrying" }).waitFor();
      const created = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "create_job").at(-1).args.input.policy);
      assert.deepEqual(
        { maxRetries: created.maxRetries, backoffMultiplier: created.backoffMultiplier, overlap: created.overlap, missed: created.missed, missedMaxRuns: created.missedMaxRuns, jitterWindowSeconds: created.jitterWindowSeconds, catchUpWindowSeconds: created.catchUpWindowSeconds },
        { maxRetries: 4, backoffMultiplier: 3, overlap: "queue_one", missed: "run_all", missedMaxRuns: 12, jitterWindowSeconds: 90, catchUpWindowSeconds: null },
      );
      assert.equal(await page.getByLabel("Retries", { exact: true }).inputValue(), "4");
    });
  });

  it("refuses a program with spaces next to it and offers the split", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "New job" }).click();
      await page.getByLabel("Name", { exact: true }).fill("echo");
      await page.getByRole("radio", { name: "Command" }).check();
      await page.locator("#job-program").fill("/bin/echo hello");
      await page.getByRole("button", { name: "Create job" }).click();
      const error = page.locator("#job-program-error");
      await error.getByText("did you mean program `/bin/echo` with argument `hello`?", { exact: false }).waitFor();
      assert.equal(await page.locator("#job-program").getAttribute("aria-invalid"), "true");
      assert.equal(await page.getByRole("heading", { name: "acme / echo" }).count(), 0, "nothing was created");
    });
  });

  it("test-runs the unsaved definition and shows its outcome and output, saving nothing (issue 15 item 4)", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "New job" }).click();
      await page.getByLabel("Name", { exact: true }).fill("draft");
      await page.getByRole("radio", { name: "Command" }).check();
      // Refused as a save would be, next to the field, and nothing runs.
      await page.locator("#job-program").fill("/bin/echo hello");
      await page.getByRole("button", { name: "Test run" }).click();
      await page.locator("#job-program-error").getByText("did you mean program `/bin/echo` with argument `hello`?", { exact: false }).waitFor();
      assert.equal(await page.getByTestId("test-run").count(), 0);
      // Run as typed, followed from queued to its end, with what it printed.
      await page.locator("#job-program").fill("/bin/echo");
      await page.getByRole("button", { name: "Test run" }).click();
      const panel = page.getByTestId("test-run");
      await panel.getByText("Test run succeeded", { exact: false }).waitFor();
      assert.match(await page.getByTestId("test-run-output").textContent(), /test run of draft: \/bin\/echo/);
      // A failing definition shows its error.
      await page.locator("#job-program").fill("/bin/false");
      await page.getByRole("button", { name: "Test run" }).click();
      await panel.getByText("Test run failed", { exact: false }).waitFor();
      assert.equal(await page.getByTestId("test-run-error").textContent(), "exit status 1");
      assert.match(await panel.getByRole("status").textContent(), /Test run failed in .*: exit status 1\./);
      // Nothing was saved: still a new job, still guarded as unsaved.
      const calls = await page.evaluate(() => window.__rotaMock.calls.map((call) => call.cmd));
      assert.equal(calls.filter((cmd) => cmd === "test_run").length, 3);
      assert.ok(!calls.includes("create_job"), "no job was created");
      assert.equal(await page.getByRole("button", { name: "Create job" }).count(), 1);
    });
  });

  it("picks a named handler from the core's list", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "New job" }).click();
      await page.getByLabel("Name", { exact: true }).fill("cleanup");
      await page.getByRole("radio", { name: "Named handler" }).check();
      const picker = page.getByLabel("Named handler", { exact: true }).and(page.getByRole("combobox"));
      await picker.locator("option", { hasText: "reports.daily" }).waitFor({ state: "attached" });
      const options = await picker.locator("option").allTextContents();
      assert.deepEqual(options, ["Choose a handler…", "cleanup.tmp — /usr/local/bin/cleanup", "reports.daily — POST https://reports.internal/run"]);
      await picker.selectOption("cleanup.tmp");
      await page.getByRole("button", { name: "Create job" }).click();
      await page.getByRole("heading", { name: "acme / cleanup" }).waitFor();
      const created = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "create_job").at(-1).args.input.handler);
      assert.deepEqual(created, { type: "named", name: "cleanup.tmp" });
    });
  });
});

describe("tenant policies and the operator", () => {
  it("refuses a bad rate limit next to it and saves the defaults", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Tenants").click();
      await page.locator('tr[data-tenant="acme"]').getByRole("button", { name: /Edit/ }).click();
      const form = page.getByRole("form", { name: "Edit acme" });
      assert.equal(await form.getByLabel("Rate limit: runs").inputValue(), "60");
      await form.getByLabel("Rate limit: runs").fill("0");
      await form.getByRole("button", { name: "Save limits" }).click();
      const error = page.locator("#tenant-rate-error");
      await error.waitFor();
      assert.match(await error.textContent(), /the count must be 1-1000000/);
      await form.getByLabel("Rate limit: runs").fill("30");
      await form.getByLabel("Default retries").fill("3");
      await form.getByRole("button", { name: "Save limits" }).click();
      await form.waitFor({ state: "detached" });
      const changes = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "update_tenant").at(-1).args.changes.policy);
      assert.deepEqual(changes, { rateLimit: { count: 30, windowSeconds: 60 }, defaultMaxRetries: 3, defaultAutoDisableAfter: null });
    });
  });

  it("saves the operator name and shows it", async () => {
    await withConsole({ open: true }, async (page) => {
      // The operator name arrives by its own command after the first render.
      await page.getByTestId("operator-badge").filter({ hasText: "as dana" }).waitFor();
      await nav(page, "Connection").click();
      const name = page.getByLabel("Operator name");
      await page.waitForFunction(() => document.querySelector("#operator-setting")?.value === "dana");
      await name.fill(" robin");
      await page.getByRole("button", { name: "Save name" }).click();
      await page.locator("#operator-setting-error").waitFor();
      await name.fill("robin");
      await page.getByRole("button", { name: "Save name" }).click();
      await page.getByRole("status").filter({ hasText: "recorded as robin" }).waitFor();
      await page.getByTestId("operator-badge").filter({ hasText: "as robin" }).waitFor();
    });
  });
});

describe("schedule editor", () => {
  it("points at the bad field, warns about daylight saving, validates the payload and saves", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "New job" }).click();
      await page.getByLabel("Name", { exact: true }).fill("backup");
      const expression = page.getByLabel("Cron expression");

      await expression.fill("30 25 * * *");
      const error = page.locator("#job-schedule-error");
      await error.waitFor();
      assert.match(await error.textContent(), /hour field: "25" is out of range/);
      assert.equal(await page.getByTestId("expression-marker").locator("mark").textContent(), "25");
      assert.equal(await expression.getAttribute("aria-invalid"), "true");

      await expression.fill("30 2 * * *");
      const zone = page.getByRole("combobox", { name: "Time zone" });
      await zone.click();
      await zone.fill("berlin");
      await page.getByRole("option", { name: "Europe/Berlin" }).click();
      const warnings = page.getByTestId("dst-warnings");
      await warnings.waitFor();
      assert.match(await warnings.textContent(), /02:30 does not exist/);
      assert.equal(await page.getByTestId("next-runs").locator("tbody tr").count(), 10);
      assert.equal(await error.count(), 0);

      await page.getByRole("button", { name: "Weekdays at 09:00" }).click();
      assert.equal(await expression.inputValue(), "0 9 * * MON-FRI");
      await page.waitForFunction(() => document.querySelector('[data-testid="dst-warnings"]') === null);
      await expression.fill("30 2 * * *");

      await page.getByLabel("URL").fill("https://backup.internal/run");
      const payload = page.getByLabel(/JSON sent with every run/);
      await payload.fill('{"full": ');
      await page.locator("#job-payload-error").waitFor();
      assert.equal(await page.getByRole("button", { name: "Create job" }).isDisabled(), true);
      await payload.fill('{"full": true}');

      await page.getByRole("button", { name: "Create job" }).click();
      await page.getByRole("heading", { name: "acme / backup" }).waitFor();
      assert.match(await page.getByTestId("job-meta").textContent(), /version 1/);
      assert.equal(await expression.inputValue(), "30 2 * * *");
    });
  });

  it("refuses a stale save and shows the other version", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "nightly-report" }).click();
      await page.getByRole("heading", { name: "acme / nightly-report" }).waitFor();
      await page.getByRole("navigation", { name: "Job" }).getByRole("button", { name: "Definition" }).click();
      const expression = page.getByLabel("Cron expression");
      await expression.fill("0 4 * * *");
      // Someone else saves meanwhile.
      await page.evaluate(() => window.__rotaMock.touchJob("nightly-report", "45 2 * * *"));
      await page.getByRole("button", { name: "Save", exact: true }).click();
      const conflict = page.getByTestId("conflict");
      await conflict.waitFor();
      assert.match(await conflict.textContent(), /version 2/);
      assert.match(await conflict.locator("tr.differs").textContent(), /0 4 \* \* \*.*45 2 \* \* \*/s);
      await page.getByRole("button", { name: "Discard my edit, load theirs" }).click();
      assert.equal(await expression.inputValue(), "45 2 * * *");
      assert.match(await page.getByTestId("job-meta").textContent(), /version 2/);
      await expression.fill("15 3 * * *");
      await page.getByRole("button", { name: "Save", exact: true }).click();
      await page.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      assert.match(await page.getByTestId("job-meta").textContent(), /version 3/);
    });
  });
});

describe("runs and operations", () => {
  it("lists a job's runs and shows every attempt of an occurrence", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "nightly-report" }).click();
      const runs = page.getByTestId("job-runs");
      await runs.locator("tbody tr").nth(2).waitFor();
      assert.equal(await runs.locator("tbody tr").count(), 3);
      // The retried occurrence: two attempts, the second waited for the tenant's limit.
      await runs.locator('tr[data-status="failed"]').click();
      await page.getByRole("heading", { name: /Run of acme \/ nightly-report/ }).waitFor();
      const attempts = page.getByTestId("attempt");
      assert.equal(await attempts.count(), 2);
      assert.match(await attempts.nth(0).textContent(), /Attempt 1.*failed/s);
      assert.match(await attempts.nth(1).textContent(), /Attempt 2.*succeeded.*retry/s);
      assert.match(await attempts.nth(1).textContent(), /concurrency limit/);
      assert.match(await page.getByTestId("idempotency-key").textContent(), /^00000000-0000-7000-8000-\d{12}:\d{4}-\d{2}-\d{2}T/);
    });
  });

  it("runs a job now with an edited payload, once per click, and follows it live", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "nightly-report" }).click();
      await page.getByLabel(/with an edited payload/).check();
      const payload = page.getByLabel("Payload for this run (JSON)");
      await payload.fill('{"report": ');
      await page.locator("#run-payload-error").waitFor();
      assert.equal(await page.getByTestId("run-now").isDisabled(), true);
      await payload.fill('{"report": "qa"}');
      // A double click queues one run.
      await page.getByTestId("run-now").dblclick();
      await page.getByTestId("run-queued").waitFor();
      const calls = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "run_job_now"));
      assert.equal(calls.length, 1);
      assert.equal(calls[0].args.payload, '{"report": "qa"}');
      // The new run appears, then turns running and succeeded through live updates alone.
      const runs = page.getByTestId("job-runs");
      await runs.locator('tr[data-status="succeeded"]').nth(2).waitFor({ timeout: 5_000 });
      const listed = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "list_job_runs").length);
      await runs.locator("tbody tr").first().click();
      await page.getByTestId("attempt-payload").waitFor();
      assert.equal(await page.getByTestId("attempt-payload").textContent(), '{"report": "qa"}');
      assert.match(await page.getByTestId("attempt-output").textContent(), /received \{"report": "qa"\}/);
      assert.ok(listed <= 3, `the list was patched, not reloaded on every change (${listed} reads)`);
    });
  });

  it("re-enables an auto-disabled job under the operator's name", async () => {
    await withConsole({ open: true }, async (page) => {
      await page.getByTestId("stat-auto-disabled").waitFor();
      assert.match(await page.getByTestId("stat-auto-disabled").textContent(), /1\s*auto-disabled/);
      await page.getByTestId("stat-auto-disabled").click();
      const row = page.locator('[data-testid="auto-disabled-table"] tr[data-job="flaky-export"]');
      await row.waitFor();
      assert.match(await row.getByTestId("last-error").textContent(), /upstream returned 503/);
      assert.match(await row.textContent(), /5/);
      await row.getByRole("button", { name: "Re-enable flaky-export" }).click();
      const form = page.getByRole("form", { name: "Re-enable job" });
      await page.getByTestId("operator-badge").filter({ hasText: "as dana" }).waitFor();
      assert.equal(await form.getByLabel("Operator (recorded)").inputValue(), "dana");
      await form.getByLabel("Operator (recorded)").fill("");
      assert.equal(await form.getByRole("button", { name: "Re-enable" }).isDisabled(), true);
      await form.getByLabel("Operator (recorded)").fill("qa-lead");
      await form.getByRole("button", { name: "Re-enable" }).click();
      await page.getByText("No job is auto-disabled.").waitFor();
      const call = await page.evaluate(() => window.__rotaMock.calls.filter((entry) => entry.cmd === "enable_job").at(-1).args);
      assert.deepEqual({ operator: call.operator, probation: call.probation }, { operator: "qa-lead", probation: true });
      // The audit log has it, under the operator's name, with what changed.
      await nav(page, "Audit").click();
      const entry = page.locator('[data-testid="audit-table"] tr[data-action="job.enabled"]');
      await entry.waitFor();
      assert.match(await entry.textContent(), /qa-lead.*globex \/ flaky-export.*state: auto_disabled → enabled/s);
      await nav(page, "Auto-disabled").click();
      // A job disabled meanwhile shows up without a reload (live update).
      await page.evaluate(() => window.__rotaMock.autoDisable("nightly-report", "HTTP 500: boom"));
      await page.locator('[data-testid="auto-disabled-table"] tr[data-job="nightly-report"]').waitFor();
    });
  });

  it("starts a backfill on the last ten occurrences and counts in words", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "nightly-report" }).click();
      const preview = page.getByTestId("backfill-preview");
      await page.waitForFunction(() => /occurrences? in the range/.test(document.querySelector('[data-testid="backfill-preview"]')?.textContent ?? ""));
      // The default range is the schedule's last ten occurrences: nothing to refuse yet.
      assert.match(await preview.textContent(), /^10 occurrences in the range/);
      assert.equal(await preview.locator(".field-error").count(), 0);
      await page.getByRole("button", { name: "Backfill 10 runs" }).click();
      await page.getByText("Queued 10 runs;").waitFor();
      // Any 59 minutes hold one hourly occurrence: one run, in the singular.
      await page.locator("#backfill-from").fill("2026-01-05T10:00");
      await page.locator("#backfill-to").fill("2026-01-05T10:59");
      await page.waitForFunction(() => /^1 occurrence in the range/.test(document.querySelector('[data-testid="backfill-preview"]')?.textContent ?? ""));
      await page.getByRole("button", { name: "Backfill 1 run", exact: true }).click();
      await page.getByText("Queued 1 run;").waitFor();
    });
  });

  it("shows the overview with its chart and nodes", async () => {
    await withConsole({ open: true }, async (page) => {
      await page.getByTestId("throughput-chart").locator("canvas").first().waitFor();
      assert.match(await page.getByTestId("overview-nodes").textContent(), /console-1234/);
      assert.match(await page.getByTestId("overview-tenants").textContent(), /acme/);
    });
  });
});

describe("timeline", () => {
  it("draws 50,000 runs of a month on a canvas, quickly", async () => {
    await withConsole({ open: true, timelineRuns: 50_000 }, async (page) => {
      await nav(page, "Timeline").click();
      // A lane per tenant: every run of the month is in view at once.
      await page.getByRole("combobox", { name: "Lanes" }).selectOption("tenant");
      await page.getByRole("button", { name: "30 days" }).click();
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="timeline-canvas"]')?.dataset.runs ?? 0) >= 50_000, null, { timeout: 60_000 });
      const summary = await page.getByTestId("timeline-summary").textContent();
      assert.match(summary, /50,00\d runs/);
      // Redraws (zooming, filtering) measured in the page.
      const times = [];
      for (const zoom of ["7 days", "30 days", "24 h + next 6 h", "30 days"]) {
        await page.getByRole("button", { name: zoom, exact: true }).click();
        await page.waitForTimeout(50);
        times.push(Number(await page.getByTestId("timeline-canvas").getAttribute("data-render-ms")));
      }
      const full = Number(await page.getByTestId("timeline-canvas").getAttribute("data-render-ms"));
      console.log(`timeline (headless Chromium, mock IPC): 50,000 runs of a month drawn in ${full.toFixed(1)} ms; redraws ${times.map((time) => time.toFixed(1)).join(", ")} ms`);
      assert.ok(full < 250, `drawing 50,000 runs took ${full} ms`);
      // Filtering a status redraws without the hidden runs.
      await page.getByRole("group", { name: "Statuses" }).getByLabel("succeeded").uncheck();
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="timeline-canvas"]')?.dataset.runs ?? 0) < 30_000);
    });
  });

  it("opens the run under the pointer", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Timeline").click();
      await page.getByTestId("timeline-canvas").waitFor();
      const canvas = page.getByTestId("timeline-canvas");
      // The first lane is acme / nightly-report; find a bar along its row.
      const box = await canvas.boundingBox();
      const found = await page.evaluate(() => document.querySelector('[data-testid="timeline-canvas"]')?.dataset.runs);
      assert.ok(Number(found) >= 1);
      for (let x = box.x + 215; x < box.x + box.width; x += 2) {
        await page.mouse.move(x, box.y + 26 + 9);
        if (await page.locator(".timeline-tip").count()) {
          await page.mouse.down();
          await page.mouse.up();
          break;
        }
      }
      await page.getByRole("heading", { name: /Run of acme \/ nightly-report/ }).waitFor();
    });
  });
});

describe("times, jobs that will not run, and forms (issue 15)", () => {
  it("shows a Berlin job's next run in its zone with the viewer's beside it", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      // The table names its zone (the viewer's) in every time header.
      const headers = await page.getByTestId("jobs-table").locator("thead").textContent();
      assert.match(headers, /Next run \(America\/New_York\).*Last run \(America\/New_York\).*Updated \(America\/New_York\)/s);
      // The auto-disabled job says why it will not run instead of a next run.
      assert.match(await page.locator('tr[data-job="flaky-export"]').textContent(), /won't run: auto-disabled after 5 failures in a row/);
      await page.getByRole("button", { name: "nightly-report" }).click();
      // 2026-03-21T02:30Z is 03:30 in Berlin and 22:30 the day before in New York.
      assert.equal(await page.getByTestId("job-next-run").textContent().then((text) => text.replace(/, [^,]*$/, "")), "next run 2026-03-21 03:30 Europe/Berlin (2026-03-20 22:30 America/New_York)");
      assert.match(await page.getByTestId("job-runs").locator("thead").textContent(), /Scheduled \(Europe\/Berlin\).*Started \(Europe\/Berlin\)/s);
      await page.getByRole("button", { name: "Back to jobs" }).click();
      await page.getByRole("button", { name: "flaky-export" }).click();
      assert.equal(await page.getByTestId("job-next-run").textContent(), "won't run: auto-disabled after 5 failures in a row");
    });
  });

  it("says a job of a paused tenant will not run, in the jobs table and on its page", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Tenants").click();
      const acme = page.locator('tr[data-tenant="acme"]');
      await acme.getByRole("button", { name: "Pause acme" }).click();
      await acme.getByText("paused").waitFor();
      await nav(page, "Jobs").click();
      const row = page.locator('tr[data-job="nightly-report"]');
      await row.getByText("won't run: tenant paused").waitFor();
      await page.getByRole("button", { name: "nightly-report" }).click();
      assert.equal(await page.getByTestId("job-next-run").textContent(), "won't run: tenant paused");
    });
  });

  it("follows a Run now to its end without moving the controls, and opens runs from the whole row", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "nightly-report" }).click();
      const pause = page.getByRole("button", { name: "Pause", exact: true });
      const before = await pause.boundingBox();
      await page.getByTestId("run-now").click();
      const line = page.getByTestId("run-queued");
      await page.waitForFunction(() => document.querySelector('[data-testid="run-queued"]')?.dataset.status === "succeeded", null, { timeout: 10_000 });
      assert.match(await line.textContent(), /^Run succeeded: exit 0\./);
      assert.deepEqual(await pause.boundingBox(), before, "the controls beside Run now did not move");
      // The newest row opens its details from the keyboard.
      const newest = page.getByTestId("job-runs").locator("tbody tr").first();
      await newest.focus();
      await page.keyboard.press("Enter");
      await page.getByTestId("attempt").first().waitFor();
    });
  });

  it("clears Run now's line once the run has ended, without moving the controls", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "nightly-report" }).click();
      const pause = page.getByRole("button", { name: "Pause", exact: true });
      const before = await pause.boundingBox();
      await page.getByTestId("run-now").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="run-queued"]')?.dataset.status === "succeeded", null, { timeout: 10_000 });
      // The outcome stays a while (RUN_NOW_OUTCOME_MS, 10 s), then the line is empty again.
      await page.waitForFunction(() => {
        const line = document.querySelector('[data-testid="run-queued"]');
        return line !== null && line.dataset.status === undefined && line.textContent === "";
      }, null, { timeout: 20_000 });
      assert.deepEqual(await pause.boundingBox(), before, "clearing the line moved nothing");
    });
  });

  it("draws a run that starts elsewhere on the open timeline, as it happens", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Timeline").click();
      const summary = page.getByTestId("timeline-summary");
      await summary.waitFor();
      const runs = async () => Number((await summary.textContent()).match(/^([\d,]+) runs/)?.[1].replace(",", ""));
      const shown = await runs();
      const fetches = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "timeline").length);
      // Another console runs the job now: the engine's live updates reach this screen.
      await page.evaluate(() => { window.__rotaMock.runNow("nightly-report"); });
      await page.waitForFunction((expected) => document.querySelector('[data-testid="timeline-summary"]')?.textContent?.startsWith(`${expected} runs`), shown + 1, { timeout: 10_000 });
      const after = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "timeline").length);
      assert.equal(after, fetches, "patched from the live update, not reloaded");
    });
  });

  it("reads out the hovered bucket of the overview chart, and the latest one otherwise", async () => {
    await withConsole({ open: true }, async (page) => {
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      const readout = page.getByTestId("chart-readout");
      await page.waitForFunction(() => (document.querySelector('[data-testid="chart-readout"]')?.textContent ?? "") !== "");
      const latest = await readout.textContent();
      const format = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2})–\d{2}:\d{2} America\/New_York: \d+ started, \d+ failed, /;
      assert.match(latest, format);
      const over = page.locator(".u-over");
      const box = await over.boundingBox();
      await page.mouse.move(box.x + 3, box.y + box.height / 2);
      await page.waitForFunction((text) => document.querySelector('[data-testid="chart-readout"]')?.textContent !== text, latest);
      const hovered = await readout.textContent();
      assert.match(hovered, format);
      assert.ok(hovered.match(format)[1] < latest.match(format)[1], `the first bucket (${hovered}) is before the latest (${latest})`);
    });
  });

  it("asks before leaving a form with unsaved changes", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "New job" }).click();
      await page.locator("#job-name").fill("half-typed");
      const messages = [];
      page.once("dialog", (dialog) => { messages.push(dialog.message()); void dialog.dismiss(); });
      await nav(page, "Tenants").click();
      assert.match(messages[0] ?? "", /unsaved changes \(new job\)/);
      assert.equal(await page.locator("#job-name").inputValue(), "half-typed", "the form stayed");
      page.once("dialog", (dialog) => { void dialog.accept(); });
      await nav(page, "Tenants").click();
      await page.getByRole("heading", { name: "Tenants" }).waitFor();
    });
  });

  it("draws projected runs as outlines, shows hover details, follows now, and prints no debug text", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Timeline").click();
      const canvas = page.getByTestId("timeline-canvas");
      await canvas.waitFor();
      assert.match(await page.getByRole("button", { name: "24 h + next 6 h" }).getAttribute("class"), /active/);
      const summary = await page.getByTestId("timeline-summary").textContent();
      assert.match(summary, /times in America\/New_York · following now/);
      assert.doesNotMatch(summary, /drew|\d ms\b/);
      await page.getByRole("group", { name: "Statuses" }).getByText("projected (not run yet)").waitFor();
      const box = await canvas.boundingBox();
      let tip = "";
      for (let x = box.x + 215; x < box.x + box.width && tip === ""; x += 2) {
        await page.mouse.move(x, box.y + 26 + 9);
        if (await page.getByTestId("timeline-tip").count()) tip = await page.getByTestId("timeline-tip").textContent();
      }
      assert.match(tip, /acme \/ nightly-report.*Scheduled.*America\/New_York.*Started.*Duration.*Late by/s);
      // Panning by hand stops following; Now follows again.
      await page.mouse.move(box.x + 600, box.y + 60);
      await page.mouse.down();
      await page.mouse.move(box.x + 400, box.y + 60, { steps: 5 });
      await page.mouse.up();
      await page.getByTestId("timeline-following").filter({ hasText: "not following" }).waitFor();
      await page.getByRole("button", { name: "Now", exact: true }).click();
      await page.getByTestId("timeline-following").filter({ hasText: /^following now$/ }).waitFor();
    });
  });
});

describe("environments and roles", () => {
  const PROFILES = [
    { name: "staging", url: "postgres://ana@staging.db/rota", colour: "#16a34a", production: false, active: false },
    { name: "prod-eu", url: "postgres://ana@prod-eu.db/rota", colour: "#dc2626", production: true, active: false },
  ];

  it("switches profiles from the header and confirms pausing a tenant on production", async () => {
    await withConsole({ open: true, profiles: PROFILES }, async (page) => {
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      assert.equal(await page.getByTestId("environment-badge").count(), 0, "Local mode is no saved environment");
      await page.getByLabel("Environment").selectOption("staging");
      const badge = page.getByTestId("environment-badge");
      await badge.filter({ hasText: "staging" }).waitFor();
      assert.equal(await badge.evaluate((element) => getComputedStyle(element).backgroundColor), "rgb(22, 163, 74)");
      assert.match(await page.getByTestId("mode-badge").textContent(), /Connected · console only/);

      // Staging: pausing a tenant happens at once.
      await nav(page, "Tenants").click();
      const acme = page.locator('tr[data-tenant="acme"]');
      await acme.getByRole("button", { name: "Pause acme" }).click();
      await acme.getByText("paused").waitFor();
      assert.equal(await page.getByRole("alertdialog").count(), 0);
      await acme.getByRole("button", { name: "Resume acme" }).click();
      await acme.getByText("active").waitFor();

      // Production: the name and colour stay in the header, and pausing asks, naming it.
      await page.getByLabel("Environment").selectOption("prod-eu");
      await badge.filter({ hasText: "prod-eu · PRODUCTION" }).waitFor();
      assert.equal(await badge.evaluate((element) => getComputedStyle(element).backgroundColor), "rgb(220, 38, 38)");
      await nav(page, "Tenants").click();
      await acme.getByRole("button", { name: "Pause acme" }).click();
      const dialog = page.getByRole("alertdialog");
      await dialog.waitFor();
      assert.match(await dialog.textContent(), /Pause tenant acme \(all of its jobs\) in the production environment prod-eu\?/);
      await dialog.getByRole("button", { name: "Cancel" }).click();
      assert.equal(await acme.getByText("active").count(), 1, "cancelled: still active");
      await acme.getByRole("button", { name: "Pause acme" }).click();
      await page.getByRole("button", { name: "Yes, in prod-eu" }).click();
      await acme.getByText("paused").waitFor();
      const calls = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "update_tenant").map((call) => call.args.changes.paused));
      assert.deepEqual(calls, [true, false, true], "the cancelled pause never reached the backend");
    });
  });

  it("saves a profile without its password and lists it", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Connection").click();
      await page.getByLabel("Name", { exact: true }).fill("prod-us");
      await page.getByLabel("Database URL").fill("postgres://ana:hunter2@prod-us.db/rota");
      await page.getByLabel("Production").check();
      await page.getByRole("button", { name: "Save environment" }).click();
      const row = page.locator('tr[data-profile="prod-us"]');
      await row.waitFor();
      assert.match(await row.textContent(), /postgres:\/\/ana@prod-us\.db\/rota/);
      assert.doesNotMatch(await row.textContent(), /hunter2/);
    });
  });

  it("lets an admin grant and revoke on the access screen, never showing the password again", async () => {
    const whoami = { role: "ana", admin: true, singleUser: false, grants: [] };
    await withConsole({ open: true, whoami }, async (page) => {
      await nav(page, "Access").click();
      await page.getByRole("heading", { name: "Access" }).waitFor();
      await page.getByLabel("Role", { exact: true }).fill("ben");
      await page.getByLabel("Capability").selectOption("operate");
      await page.getByLabel("Tenants").selectOption(["acme", "globex"]);
      await page.getByLabel("New password (optional)").fill("hunter2-planted");
      await page.getByRole("button", { name: "Grant", exact: true }).click();
      await page.getByTestId("access-status").filter({ hasText: "Granted operate to ben in acme, globex." }).waitFor();
      const row = page.locator('tr[data-role="ben"]');
      assert.match(await row.textContent(), /acme: operate.*globex: operate/);
      assert.equal(await page.getByLabel("New password (optional)").inputValue(), "", "the password left the form");
      assert.doesNotMatch(await page.content(), /hunter2-planted/);
      await row.getByRole("button", { name: "Revoke ben in globex" }).click();
      await page.getByTestId("access-status").filter({ hasText: "Revoked ben's grant in globex." }).waitFor();
      assert.doesNotMatch(await row.textContent(), /globex/);
    });
  });

  it("shows no access screen to a limited role or on SQLite", async () => {
    await withConsole({ open: true }, async (page) => {
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      assert.equal(await nav(page, "Access").count(), 0, "SQLite has no roles");
    });
  });

  it("disables what a limited role may not do, per tenant", async () => {
    const whoami = { role: "support_ana", admin: false, singleUser: false, grants: [{ tenant: "acme", capability: "operate" }, { tenant: "globex", capability: "view" }] };
    await withConsole({ open: true, whoami }, async (page) => {
      await page.getByTestId("operator-badge").filter({ hasText: "as support_ana" }).waitFor();
      await nav(page, "Tenants").click();
      const pause = page.locator('tr[data-tenant="acme"]').getByRole("button", { name: "Pause acme" });
      await pause.waitFor();
      assert.equal(await pause.isDisabled(), true, "tenant settings are for admins");
      assert.equal(await page.getByRole("button", { name: "New tenant" }).isDisabled(), true);
    });
  });
});

describe("running in the background (issue 18)", () => {
  it("asks before closing the window, and keeps the jobs running as a user service", async () => {
    await withConsole({ open: true }, async (page) => {
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      await page.evaluate(() => { window.__rotaMock.requestClose(); });
      const dialog = page.getByTestId("close-dialog");
      await dialog.waitFor();
      assert.match(await dialog.textContent(), /Closing it stops them/);
      // Cancel keeps the window and asks nothing of the backend.
      await dialog.getByRole("button", { name: "Cancel" }).click();
      assert.equal(await page.getByTestId("close-dialog").count(), 0);
      assert.equal(await page.evaluate(() => window.__rotaMock.quit), false);

      await page.evaluate(() => { window.__rotaMock.requestClose(); });
      await dialog.getByRole("button", { name: "Keep running in the background" }).click();
      await page.waitForFunction(() => window.__rotaMock.quit);
      const calls = await page.evaluate(() => window.__rotaMock.calls.map((call) => call.cmd).filter((cmd) => cmd === "run_in_background" || cmd === "quit_app"));
      assert.deepEqual(calls, ["run_in_background", "quit_app"], "the service took over before the app quit");
    });
  });

  it("keeps the scheduler running in the tray with the window hidden", async () => {
    await withConsole({ open: true }, async (page) => {
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      await page.evaluate(() => { window.__rotaMock.requestClose(); });
      await page.getByTestId("close-dialog").getByRole("button", { name: "Keep running in the tray" }).click();
      await page.waitForFunction(() => window.__rotaMock.trayed);
      assert.equal(await page.getByTestId("close-dialog").count(), 0, "the question is answered");
      assert.equal(await page.evaluate(() => window.__rotaMock.quit), false, "the app keeps running");
    });
  });

  it("without systemd or a tray, closing offers only stopping the scheduler", async () => {
    await withConsole({ open: true, systemd: false, tray: false }, async (page) => {
      await page.getByRole("heading", { name: "Overview" }).waitFor();
      await page.evaluate(() => { window.__rotaMock.requestClose(); });
      const dialog = page.getByTestId("close-dialog");
      await dialog.getByText(/not available here/).waitFor();
      assert.equal(await dialog.getByRole("button", { name: "Keep running in the background" }).count(), 0);
      assert.equal(await dialog.getByRole("button", { name: "Keep running in the tray" }).count(), 0);
      await dialog.getByRole("button", { name: "Stop the scheduler and close" }).click();
      await page.waitForFunction(() => window.__rotaMock.quit);
    });
  });

  it("installs, stops and removes the user service from the Connection screen", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Connection").click();
      const section = page.getByTestId("background");
      await section.getByTestId("executor").filter({ hasText: "this app, while its window is open" }).waitFor();
      assert.match(await section.getByTestId("service-state").textContent(), /not installed/);
      await section.getByRole("button", { name: "Keep running when the window is closed and start at login" }).click();
      await section.getByTestId("executor").filter({ hasText: "the background service (pid 4242" }).waitFor();
      assert.match(await section.getByTestId("service-state").textContent(), /active, starts at login/);
      assert.match(await page.getByTestId("mode-badge").textContent(), /Local · jobs run in the background/);
      await section.getByRole("button", { name: "Stop service" }).click();
      await section.getByTestId("executor").filter({ hasText: "this app" }).waitFor();
      await section.getByRole("button", { name: "Remove service" }).click();
      await section.getByTestId("service-state").filter({ hasText: "not installed" }).waitFor();
    });
  });
});
