// End to end on the real app, what a support engineer meets on day one (issue 15): a Berlin
// job's header carries its zone (1), a disabled job says why it will not run (2), a run arriving
// on an open timeline (3), a program with a space refused with the split offered and the
// unsaved definition test-run by the app's engine (4), Run now followed to its end (6), and a
// bulk pause of every job that matches a filter (10). Screens are saved as screenshots
// (artifacts/screenshots/).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";

import { screenshot, startApp } from "./support.mjs";

let app;
let browser;

before(async () => {
  app = await startApp();
  browser = app.browser;
});

after(async () => {
  await app?.stop();
});

const byText = (tag, text) => browser.$(`${tag}=${text}`);
const nav = async (name) => (await browser.$('nav[aria-label="Screens"]')).$(`button=${name}`);
const textOf = async (selector) => (await browser.$(selector)).getText();

async function typeInto(selector, text) {
  const input = await browser.$(selector);
  await input.waitForDisplayed();
  await input.clearValue();
  // WebKitWebDriver refuses to send no text: clearing is enough for an empty value.
  if (text !== "") await input.setValue(text);
}

async function openJob(name) {
  await (await nav("Jobs")).click();
  await typeInto('input[type="search"]', name);
  const row = await browser.$(`tr[data-job="${name}"]`);
  await row.waitForDisplayed();
  // WebKitWebDriver does not click table rows: the name's button in its cell.
  await (await row.$(`button=${name}`)).click();
}

it("opens Local mode with the demo data", async () => {
  await (await byText("h1", "Welcome to Rota")).waitForDisplayed({ timeout: 20_000 });
  await (await byText("button", "Use a local database")).click();
  await (await byText("h1", "Overview")).waitForDisplayed({ timeout: 20_000 });
});

it("shows a Berlin job's next run in its zone (item 1)", async () => {
  await openJob("nightly-report");
  await (await byText("h1", "acme / nightly-report")).waitForDisplayed();
  const next = await textOf('[data-testid="job-next-run"]');
  assert.match(next, /^next run \d{4}-\d{2}-\d{2} \d{2}:30 Europe\/Berlin/);
  await screenshot(browser, "job-berlin");
});

it("follows Run now to the run's end (item 6)", async () => {
  await (await browser.$('[data-testid="run-now"]')).waitForEnabled();
  await (await browser.$('[data-testid="run-now"]')).click();
  await browser.waitUntil(
    async () => ["succeeded", "failed"].includes(await (await browser.$('[data-testid="run-queued"]')).getAttribute("data-status")),
    { timeout: 30_000, timeoutMsg: "Run now's line never showed the run's outcome" },
  );
  assert.match(await textOf('[data-testid="run-queued"]'), /^Run (succeeded|failed)/);
});

it("refuses a program with a space and offers the split (item 4)", async () => {
  await (await nav("Jobs")).click();
  await (await byText("button", "New job")).click();
  await (await browser.$("#job-tenant")).selectByVisibleText("acme");
  await typeInto("#job-name", "echo-hello");
  await typeInto("#job-schedule", "0 9 * * *");
  await (await browser.$('input[value="command"]')).click();
  await typeInto("#job-program", "/bin/echo hello");
  await (await byText("button", "Create job")).click();
  const error = await browser.$("#job-program-error");
  await error.waitForDisplayed();
  assert.match(await error.getText(), /did you mean program `\/bin\/echo` with argument `hello`\?/);
  await screenshot(browser, "program-split");
});

it("test-runs the unsaved definition through the app's engine and shows what it printed (item 4)", async () => {
  // The form from the test above, still unsaved: the split applied by hand.
  await typeInto("#job-program", "/bin/echo");
  await typeInto("#job-args", "hello from a test run");
  await (await byText("button", "Test run")).click();
  const status = await browser.$('[data-testid="test-run"] p[role="status"]');
  await status.waitForDisplayed({ timeout: 20_000 });
  await browser.waitUntil(async () => ["succeeded", "failed", "timed_out", "lost"].includes(await status.getAttribute("data-status")), {
    timeout: 60_000,
    timeoutMsg: "the test run never ended",
  });
  assert.equal(await status.getAttribute("data-status"), "succeeded", await textOf('[data-testid="test-run"]'));
  assert.match(await textOf('[data-testid="test-run-output"]'), /hello from a test run/);
  await screenshot(browser, "test-run");
  // Nothing was saved: the form still offers to create the job.
  assert.ok(await (await byText("button", "Create job")).isDisplayed());
});

it("pauses every job that matches a filter in one action (item 10), and says why they will not run (item 2)", async () => {
  await (await nav("Jobs")).click();
  const unsaved = await browser.getAlertText().catch(() => null);
  if (unsaved !== null) await browser.acceptAlert();
  await typeInto('input[type="search"]', "");
  await (await browser.$('select[aria-label="Tenant"]')).selectByVisibleText("initech");
  const selectAll = await browser.$("button*=that match");
  await selectAll.waitForDisplayed();
  await selectAll.click();
  const pause = await browser.$('//div[@data-testid="bulk-bar"]/button[starts-with(normalize-space(.), "Pause ")]');
  await pause.waitForEnabled();
  await pause.click();
  await browser.waitUntil(async () => /^Paused \d+ jobs?\./.test(await textOf(".bulk-status")), {
    timeout: 20_000,
    timeoutMsg: "the bulk pause never reported",
  });
  await (await browser.$('select[aria-label="State"]')).selectByAttribute("value", "paused");
  await browser.waitUntil(async () => /won't run: paused/.test(await textOf('[data-testid="jobs-table"] tbody')), { timeout: 20_000 });
  await screenshot(browser, "jobs-bulk");
  const row = await browser.$('tr[data-job="tps-reports"]');
  await row.waitForDisplayed();
  await (await row.$("button=tps-reports")).click();
  await (await byText("h1", "initech / tps-reports")).waitForDisplayed();
  assert.equal(await textOf('[data-testid="job-next-run"]'), "won't run: paused");
});

it("draws a run that starts while the timeline is open (item 3)", async () => {
  await (await nav("Timeline")).click();
  const summary = await browser.$('[data-testid="timeline-summary"]');
  await summary.waitForDisplayed({ timeout: 20_000 });
  const runs = async () => Number((await summary.getText()).match(/^([\d,]+) runs/)?.[1].replace(/,/g, ""));
  const before = await runs();
  // The demo's every-minute heartbeat runs on the app's own scheduler: its next run arrives
  // through the live feed while the screen stays open.
  await browser.waitUntil(async () => (await runs()) > before, {
    timeout: 90_000,
    timeoutMsg: `the open timeline never showed a new run (still ${before})`,
  });
  await screenshot(browser, "timeline");
});
