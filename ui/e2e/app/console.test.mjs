// End to end on the real app (Tauri, WebKitGTK, the Rust commands, the core on SQLite): a new
// user picks Local mode with demo data, creates a tenant, creates a job with a daylight-saving
// schedule and sees the warning, provokes a validation error, saves and reopens the job. Each
// main screen is saved as a screenshot (artifacts/screenshots/).
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
const nav = async (name) => (await browser.$("nav")).$(`button=${name}`);

async function typeInto(selector, text) {
  const input = await browser.$(selector);
  await input.waitForDisplayed();
  await input.clearValue();
  await input.setValue(text);
}

async function textOf(selector) {
  const element = await browser.$(selector);
  await element.waitForDisplayed();
  return element.getText();
}

it("first start offers the modes and opens Local mode with demo data", async () => {
  await (await byText("h1", "Welcome to Rota")).waitForDisplayed({ timeout: 20_000 });
  await screenshot(browser, "setup");
  await (await byText("button", "Use a local database")).click();
  await (await browser.$('tr[data-tenant="acme"]')).waitForDisplayed({ timeout: 20_000 });
  assert.match(await textOf('[data-testid="mode-badge"]'), /Local · executing jobs/);
});

it("creates a tenant", async () => {
  await (await nav("Tenants")).click();
  await (await byText("button", "New tenant")).click();
  await typeInto("#tenant-name", "e2e-tenant");
  await typeInto("#tenant-max", "0");
  await (await byText("button", "Create tenant")).click();
  assert.match(await textOf("#tenant-max-error"), /max_concurrent.*allowed 1-100000/);
  await typeInto("#tenant-max", "2");
  await (await byText("button", "Create tenant")).click();
  await (await browser.$('tr[data-tenant="e2e-tenant"]')).waitForDisplayed();
  await (await browser.$('form[aria-label="New tenant"]')).waitForDisplayed({ reverse: true });
  await screenshot(browser, "tenants");
});

it("creates a job with a daylight-saving schedule, after a validation error", async () => {
  await (await nav("Jobs")).click();
  await (await browser.$('tr[data-job="nightly-report"]')).waitForDisplayed();
  await screenshot(browser, "jobs");
  await (await byText("button", "New job")).click();
  await (await browser.$("#job-tenant")).selectByVisibleText("e2e-tenant");
  await typeInto("#job-name", "dst-report");

  // A bad day-of-week: the core's message, next to the field, with the text marked.
  await typeInto("#job-schedule", "30 2 * * 8");
  assert.match(await textOf("#job-schedule-error"), /day-of-week field: "8" is out of range; allowed 0-7/);
  assert.equal(await (await browser.$('[data-testid="expression-marker"] mark')).getText(), "8");
  await screenshot(browser, "schedule-error");

  await typeInto("#job-schedule", "30 2 * * *");
  await (await browser.$("#job-timezone")).click();
  await typeInto("#job-timezone", "berlin");
  await (await browser.$('li[role="option"]=Europe/Berlin')).click();
  const warnings = await browser.$('[data-testid="dst-warnings"]');
  await warnings.waitForDisplayed();
  assert.match(await warnings.getText(), /02:30 does not exist, runs at 03:00 CEST/);
  assert.match(await warnings.getText(), /02:30 happens twice, runs once at 02:30 CEST/);
  assert.match(await textOf('[data-testid="schedule-description"]'), /02:30.*Europe\/Berlin/);

  await (await browser.$('input[value="command"]')).click();
  await typeInto("#job-program", "/bin/true");
  await typeInto("#job-payload", '{"report": "dst"}');

  // A policy the core refuses: its message under the policy's own input.
  await typeInto("#job-policy-maxRetries", "2");
  await typeInto("#job-policy-backoffMultiplier", "20");
  await (await byText("button", "Create job")).click();
  assert.match(await textOf("#job-policy-backoffMultiplier-error"), /backoff_multiplier: "20" is invalid: allowed 1-10/);
  await typeInto("#job-policy-backoffMultiplier", "3");
  await (await browser.$("#job-policy-overlap")).selectByAttribute("value", "queue_one");
  await (await byText("button", "Create job")).click();
  await (await byText("h1", "e2e-tenant / dst-report")).waitForDisplayed();
  assert.match(await textOf('[data-testid="job-meta"]'), /version 1/);
  await (await browser.$('[data-testid="dst-warnings"]')).waitForDisplayed();
  await screenshot(browser, "schedule-editor");
});

it("reopens the saved job from the jobs table", async () => {
  await (await byText("button", "Back to jobs")).click();
  await typeInto('input[type="search"]', "dst-report");
  const row = await browser.$('tr[data-job="dst-report"]');
  await row.waitForDisplayed();
  assert.match(await row.getText(), /e2e-tenant/);
  await (await row.$("button=dst-report")).click();
  await (await byText("h1", "e2e-tenant / dst-report")).waitForDisplayed();
  // A job opens on its runs; the definition is the second tab.
  await (await browser.$('nav[aria-label="Job"]')).$("button=Definition").click();
  assert.equal(await (await browser.$("#job-schedule")).getValue(), "30 2 * * *");
  assert.equal(await (await browser.$("#job-timezone")).getAttribute("placeholder"), "Europe/Berlin");
  assert.equal(await (await browser.$("#job-program")).getValue(), "/bin/true");
  assert.equal(await (await browser.$("#job-policy-maxRetries")).getValue(), "2");
  assert.equal(await (await browser.$("#job-policy-backoffMultiplier")).getValue(), "3");
  assert.equal(await (await browser.$("#job-policy-overlap")).getValue(), "queue_one");
  await (await browser.$('[data-testid="dst-warnings"]')).waitForDisplayed();
});

it("shows the connection", async () => {
  await (await nav("Connection")).click();
  await (await byText("h1", "Connection")).waitForDisplayed();
  // The operator name: saved in the app's settings and shown in the top bar.
  await typeInto("#operator-setting", "e2e-operator");
  await (await byText("button", "Save name")).click();
  await browser.waitUntil(async () => (await textOf('[data-testid="operator-badge"]')) === "as e2e-operator");
  await screenshot(browser, "connection");
});
