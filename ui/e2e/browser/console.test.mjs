// UI tests in headless Chromium against the mock build (`npm run build:mock`): forms, tables
// and the error paths, with the IPC answered by src/mock/backend.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { launch, openConsole, serveDist } from "./support.mjs";

let server;
let browser;

before(async () => {
  server = await serveDist();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function withConsole(options, body) {
  const session = await openConsole(browser, server.url, options);
  try {
    await body(session.page);
    assert.deepEqual(session.problems, [], "the page logged no errors");
  } finally {
    await session.close();
  }
}

const nav = (page, name) => page.getByRole("navigation").getByRole("button", { name, exact: true });

describe("first start", () => {
  it("offers Local with demo data and opens on the tenants", async () => {
    await withConsole({}, async (page) => {
      await page.getByRole("heading", { name: "Welcome to Rota" }).waitFor();
      await page.getByRole("button", { name: "Use a local database" }).click();
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
    });
  });

  it("pauses and resumes a tenant", async () => {
    await withConsole({ open: true }, async (page) => {
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
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "1–50 of 121");
      await page.getByRole("button", { name: "Next", exact: true }).click();
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "51–100 of 121");
      assert.equal(await page.locator("tbody tr").first().getAttribute("data-job"), "job-00050");

      // Sorting goes back to the first page, descending.
      await page.getByTestId("jobs-table").getByRole("button", { name: /^Job/ }).click();
      await page.waitForFunction(() => document.querySelector("tbody tr")?.getAttribute("data-job") === "nightly-report");
      assert.equal(await range.textContent(), "1–50 of 121");

      await page.getByRole("searchbox", { name: "Search jobs" }).fill("job-0011");
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "1–10 of 10");

      await page.getByRole("searchbox", { name: "Search jobs" }).fill("");
      await page.getByRole("combobox", { name: "Handler" }).selectOption("named");
      await page.waitForFunction(() => document.querySelector('[data-testid="jobs-range"]')?.textContent === "1–40 of 40");
      const calls = await page.evaluate(() => window.__rotaMock.calls.filter((call) => call.cmd === "list_jobs").at(-1).args.query);
      assert.deepEqual({ handler: calls.handler, offset: calls.offset, limit: calls.limit }, { handler: "named", offset: 0, limit: 50 });
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
