// End to end on the real app, the half of the console people open when something went wrong
// (issue 7): a local HTTP receiver makes a job fail five times, Rota disables it, it shows in
// the auto-disabled list with its last error, Re-enable brings it back with its next run
// computed from now; a manual run with an edited payload appears and its details show the
// payload the receiver got; the timeline draws a seeded month of 50,000 runs, and the time it
// took is printed. Every screen is saved as a screenshot (artifacts/screenshots/).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";

import { localDatabase, screenshot, sqlite, startApp, startReceiver } from "./support.mjs";

let app;
let browser;
let receiver;

before(async () => {
  receiver = await startReceiver();
  app = await startApp();
  browser = app.browser;
});

after(async () => {
  await app?.stop();
  await receiver?.close();
});

const byText = (tag, text) => browser.$(`${tag}=${text}`);
const nav = async (name) => (await browser.$('nav[aria-label="Screens"]')).$(`button=${name}`);

async function typeInto(selector, text) {
  const input = await browser.$(selector);
  await input.waitForDisplayed();
  await input.clearValue();
  await input.setValue(text);
}

/** Clicks "Run now" and waits until the job's runs list shows `count` runs. */
async function runNowAndWait(count) {
  await (await browser.$('[data-testid="run-now"]')).waitForEnabled();
  await (await browser.$('[data-testid="run-now"]')).click();
  await browser.waitUntil(
    async () => (await browser.$$('[data-testid="job-runs"] tbody tr[data-run]')).length >= count,
    { timeout: 20_000, timeoutMsg: `the job's runs list never showed ${count} runs` },
  );
}

it("opens Local mode on the overview", async () => {
  await (await byText("h1", "Welcome to Rota")).waitForDisplayed({ timeout: 20_000 });
  await (await byText("button", "Use a local database")).click();
  await (await byText("h1", "Overview")).waitForDisplayed({ timeout: 20_000 });
  await (await browser.$('[data-testid="overview-tenants"] tr[data-tenant="acme"]')).waitForDisplayed();
  // The app's own scheduler node shows with its heartbeat.
  await browser.waitUntil(async () => /console-/.test(await (await browser.$('[data-testid="overview-nodes"]')).getText()), { timeout: 20_000 });
});

it("auto-disables a job after five failures, lists it, and re-enables it from now", async () => {
  await (await nav("Jobs")).click();
  await (await byText("button", "New job")).click();
  await (await browser.$("#job-tenant")).selectByVisibleText("acme");
  await typeInto("#job-name", "receiver-hook");
  await typeInto("#job-schedule", "0 0 1 1 *");
  await (await browser.$('input[value="http"]')).click();
  await typeInto("#job-http-url", receiver.url);
  await typeInto("#job-payload", '{"report": "daily"}');
  await (await byText("button", "Create job")).click();
  await (await byText("h1", "acme / receiver-hook")).waitForDisplayed();
  await (await browser.$('nav[aria-label="Job"]')).$("button=Runs").click();

  // Five failed runs in a row: the receiver answers 500.
  for (let count = 1; count <= 5; count++) {
    await runNowAndWait(count);
    await browser.waitUntil(
      async () => (await browser.$$('[data-testid="job-runs"] tbody tr[data-status="failed"]')).length >= count,
      { timeout: 20_000, timeoutMsg: `run ${count} never failed` },
    );
  }
  assert.equal(receiver.received.length, 5);
  await screenshot(browser, "job-runs");
  await browser.waitUntil(async () => /auto-disabled/.test(await (await browser.$('[data-testid="job-status"]')).getText()), { timeout: 20_000 });

  await (await nav("Auto-disabled")).click();
  const row = await browser.$('[data-testid="auto-disabled-table"] tr[data-job="receiver-hook"]');
  await row.waitForDisplayed({ timeout: 20_000 });
  assert.match(await (await row.$('[data-testid="last-error"]')).getText(), /500/);
  assert.equal(await (await row.$("td.num")).getText(), "5");
  await screenshot(browser, "auto-disabled");

  const reenabledAt = Date.now();
  await (await row.$("button=Re-enable…")).click();
  await typeInto("#reenable-operator", "e2e-operator");
  await screenshot(browser, "re-enable");
  await (await browser.$('form[aria-label="Re-enable job"]')).$("button=Re-enable").click();
  await (await browser.$('[data-testid="auto-disabled-table"] tr[data-job="receiver-hook"]')).waitForDisplayed({ reverse: true });

  // Back on the job: enabled, by the operator, next run computed from now (the yearly schedule's
  // next 1 January, not an occurrence from the time it was off).
  await (await nav("Jobs")).click();
  await typeInto('input[type="search"]', "receiver-hook");
  const listed = await browser.$('tr[data-job="receiver-hook"]');
  await listed.waitForDisplayed();
  await (await listed.$("button=receiver-hook")).click();
  const status = await browser.$('[data-testid="job-status"]');
  await browser.waitUntil(async () => /enabled by e2e-operator/.test(await status.getText()), { timeout: 20_000 });
  const database = localDatabase(app.home);
  const [enabled, nextRun, by] = sqlite(database, "SELECT enabled, next_run_at, enabled_by FROM jobs WHERE name = 'receiver-hook'").trim().split("|");
  assert.equal(enabled, "1");
  assert.equal(by, "e2e-operator");
  const next = new Date(Number(nextRun));
  assert.ok(Number(nextRun) > reenabledAt, "the next run is after the re-enable");
  assert.equal(next.toISOString().slice(5, 16), "01-01T00:00", `next run ${next.toISOString()}`);
});

it("runs the job now with an edited payload; its details show what the receiver got", async () => {
  receiver.setFailing(false);
  const before = receiver.received.length;
  const edit = await browser.$("label*=with an edited payload");
  await (await edit.$("input")).click();
  await typeInto("#run-payload", '{"report": "qa-edited", "rows": 3}');
  await runNowAndWait(6);
  const newest = await browser.$('[data-testid="job-runs"] tbody tr[data-run]');
  await browser.waitUntil(async () => (await newest.getAttribute("data-status")) === "succeeded", { timeout: 20_000 });
  assert.equal(receiver.received.length, before + 1);
  const got = JSON.parse(receiver.received.at(-1).body);
  assert.deepEqual(got.payload, { report: "qa-edited", rows: 3 });
  assert.equal(got.trigger, "manual");
  assert.match(receiver.received.at(-1).headers["idempotency-key"], new RegExp(`^${got.job_id}:`));

  // A row opens its run; WebKitWebDriver clicks cells, not table rows.
  await (await newest.$("td")).click();
  await (await browser.$('[data-testid="attempt"]')).waitForDisplayed();
  const payload = await (await browser.$('[data-testid="attempt-payload"]')).getText();
  assert.deepEqual(JSON.parse(payload), { report: "qa-edited", rows: 3 });
  // The output is the receiver's answer: the envelope it got, with the edited payload.
  const output = JSON.parse(await (await browser.$('[data-testid="attempt-output"]')).getText());
  assert.deepEqual(output.payload, { report: "qa-edited", rows: 3 });
  assert.equal(await (await browser.$('[data-testid="idempotency-key"]')).getText(), receiver.received.at(-1).headers["idempotency-key"]);
  assert.match(await (await browser.$('[data-testid="attempt-node"]')).getText(), /^console-/);
  await screenshot(browser, "run-details");
});

it("draws a seeded month of 50,000 runs on the timeline", async () => {
  // Run ids start with six zero bytes: older than any id the store makes (time-ordered), so the
  // live view does not take the seeded history for new runs.
  const database = localDatabase(app.home);
  const now = Date.now();
  const month = 28 * 24 * 3_600_000;
  const step = Math.floor(month / 50_000);
  const start = now - month;
  const seeded = Date.now();
  sqlite(
    database,
    `BEGIN;
     INSERT INTO tenants (id, name, max_concurrent, weight, paused, last_claimed_at, created_at, updated_at)
       VALUES (randomblob(16), 'history', 3, 1, 0, 0, ${now}, ${now});
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49)
     INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, payload, timeout_ms, enabled, next_run_at, created_at, updated_at)
       SELECT randomblob(16), (SELECT id FROM tenants WHERE name = 'history'), printf('hist-%02d', i), '0 * * * *', 'UTC',
              '{"type":"command","program":"/bin/true"}', '{}', 60000, 0, NULL, ${now}, ${now} FROM n;
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
     INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, attempt, status, queued_at, not_before, started_at, finished_at, duration_ms, exit_code)
       SELECT CAST(zeroblob(6) || randomblob(10) AS BLOB), j.id, j.tenant_id, ${start} + i * ${step}, 'schedule', 1,
              CASE WHEN i % 29 = 0 THEN 'failed' WHEN i % 31 = 0 THEN 'timed_out' WHEN i % 37 = 0 THEN 'missed' ELSE 'succeeded' END,
              ${start} + i * ${step}, ${start} + i * ${step},
              CASE WHEN i % 37 = 0 AND i % 29 <> 0 AND i % 31 <> 0 THEN NULL ELSE ${start} + i * ${step} + 400 END,
              ${start} + i * ${step} + 400 + (i % 13) * 20000, 400 + (i % 13) * 20000, 0
       FROM n JOIN jobs j ON j.name = printf('hist-%02d', i % 50);
     COMMIT;`,
  );
  console.log(`seeded 50,000 runs in ${Date.now() - seeded} ms`);

  await (await nav("Timeline")).click();
  await (await byText("h1", "Timeline")).waitForDisplayed();
  await (await browser.$('select[aria-label="Tenant"]')).selectByVisibleText("history");
  // A lane per tenant: the whole month's 50,000 runs are in view at once.
  await (await browser.$('select[aria-label="Lanes"]')).selectByVisibleText("A lane per tenant");
  const clicked = Date.now();
  await (await browser.$("button=30 days")).click();
  const canvas = await browser.$('[data-testid="timeline-canvas"]');
  await browser.waitUntil(async () => Number(await canvas.getAttribute("data-runs")) >= 50_000, {
    timeout: 60_000,
    timeoutMsg: "the timeline never drew the 50,000 runs",
  });
  const total = Date.now() - clicked;
  const draw = Number(await canvas.getAttribute("data-render-ms"));
  // A redraw without a new query: a lane per job (the rows in view are drawn).
  await (await browser.$('select[aria-label="Lanes"]')).selectByVisibleText("A lane per job");
  await browser.waitUntil(async () => Number(await canvas.getAttribute("data-runs")) < 50_000);
  const redraw = Number(await canvas.getAttribute("data-render-ms"));
  console.log(
    `timeline (real app, WebKitGTK under xvfb): 50,000 runs of a month: query, transfer and draw ${total} ms; the canvas draw ${draw.toFixed(1)} ms; a redraw with a lane per job ${redraw.toFixed(1)} ms`,
  );
  assert.match(await (await browser.$('[data-testid="timeline-summary"]')).getText(), /50,000 runs/);
  await screenshot(browser, "timeline-month");
  await (await browser.$('select[aria-label="Tenant"]')).selectByVisibleText("All tenants");
  await (await browser.$("button=24 h + next 6 h")).click();
  await browser.waitUntil(async () => Number(await canvas.getAttribute("data-runs")) > 0, { timeout: 20_000 });
  await screenshot(browser, "timeline");
});

it("shows the overview with throughput and lateness", async () => {
  await (await nav("Overview")).click();
  await (await browser.$('[data-testid="throughput-chart"] canvas')).waitForDisplayed({ timeout: 20_000 });
  await screenshot(browser, "overview");
});

it("shows the re-enable in the audit log under the operator's name", async () => {
  await (await nav("Audit")).click();
  const entry = await browser.$('[data-testid="audit-table"] tr[data-action="job.enabled"]');
  await entry.waitForDisplayed({ timeout: 20_000 });
  assert.match(await entry.getText(), /e2e-operator/);
  assert.match(await entry.getText(), /acme \/ receiver-hook/);
  await screenshot(browser, "audit");
});
