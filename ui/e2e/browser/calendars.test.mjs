// The calendars screen, the schedule editor's calendars and preview marks, and the job
// editor's what-if panel (issue 17) in headless Chromium
// against the mock build, with the IPC answered by src/mock/backend.ts and src/mock/calendars.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { nav, useConsole } from "./support.mjs";

const withConsole = useConsole();

const OFFICE = [
  "BEGIN:VCALENDAR", "VERSION:2.0",
  "BEGIN:VEVENT", "UID:xmas", "DTSTART;VALUE=DATE:20261225", "DTEND;VALUE=DATE:20261227", "SUMMARY:Christmas", "END:VEVENT",
  "END:VCALENDAR", "",
].join("\r\n");

describe("calendars", () => {
  it("imports a file, shows its days in a year view, and refuses a bad file by line", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Calendars").click();
      await page.getByRole("heading", { name: "Calendars", exact: true }).waitFor();
      await page.getByLabel("Name", { exact: true }).fill("office");
      await page.getByLabel("Tenant").selectOption("acme");
      await page.getByLabel("iCalendar file").setInputFiles({ name: "office.ics", mimeType: "text/calendar", buffer: Buffer.from(OFFICE) });
      await page.getByRole("button", { name: "Import" }).click();
      await page.getByRole("status").filter({ hasText: "Imported calendar office: 2 event(s)." }).waitFor();
      await page.getByRole("table", { name: "Calendars" }).getByRole("button", { name: "office" }).waitFor();

      // The year view opens on the current year; go to 2026 and find the two days marked.
      const view = page.getByRole("region", { name: "Year view of office" });
      await view.waitFor();
      while (Number(await page.getByTestId("calendar-year").textContent()) > 2026) {
        await page.getByRole("button", { name: "Previous year" }).click();
      }
      while (Number(await page.getByTestId("calendar-year").textContent()) < 2026) {
        await page.getByRole("button", { name: "Next year" }).click();
      }
      await view.locator('td.covered[data-date="2026-12-25"]').waitFor();
      assert.equal(await view.locator("td.covered").count(), 2);
      assert.equal(await view.locator('td[data-date="2026-12-26"]').getAttribute("title"), "Christmas");

      // A bad file: the error names its line and property, and nothing is added.
      await page.getByLabel("Name", { exact: true }).fill("broken");
      await page.getByLabel("iCalendar file").setInputFiles({ name: "bad.ics", mimeType: "text/calendar", buffer: Buffer.from(OFFICE.replace("20261225", "2026-12-25")) });
      await page.getByRole("button", { name: "Import" }).click();
      const alert = page.getByRole("alert");
      await alert.waitFor();
      assert.match(await alert.textContent(), /line 5, DTSTART/);
      assert.equal(await page.getByRole("table", { name: "Calendars" }).locator("tbody tr").count(), 1);
    });
  });
});

describe("what-if panel", () => {
  it("flags a herd before saving and offers the jitter window", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "New job" }).click();
      await page.getByLabel("Name", { exact: true }).fill("nightly-report");
      await page.getByLabel("Cron expression").fill("0 0 * * *");
      const panel = page.getByRole("group", { name: "What if" });
      await panel.locator("tr.herd").waitFor();
      await panel.getByRole("button", { name: "Use a jitter window of 60 s" }).click();
      assert.equal(await page.getByLabel("Start jitter window (seconds)").inputValue(), "60");
      await page.waitForFunction(() => document.querySelector(".what-if tr.herd") === null);
      assert.equal(await panel.getByRole("button", { name: /Use a jitter window/ }).count(), 0);
    });
  });
});

const CLOSING = [
  "BEGIN:VCALENDAR", "VERSION:2.0",
  "BEGIN:VEVENT", "UID:closing", "DTSTART;VALUE=DATE:20260324", "DTEND;VALUE=DATE:20260325", "SUMMARY:Closing", "END:VEVENT",
  "END:VCALENDAR", "",
].join("\r\n");

describe("schedule editor's preview", () => {
  it("marks the runs the chosen calendars exclude or move, and where to", async () => {
    await withConsole({ open: true }, async (page) => {
      await nav(page, "Calendars").click();
      await page.getByLabel("Name", { exact: true }).fill("office");
      await page.getByLabel("Tenant").selectOption("acme");
      await page.getByLabel("iCalendar file").setInputFiles({ name: "office.ics", mimeType: "text/calendar", buffer: Buffer.from(CLOSING) });
      await page.getByRole("button", { name: "Import" }).click();
      await page.getByRole("status").filter({ hasText: "Imported calendar office" }).waitFor();

      await nav(page, "Jobs").click();
      await page.getByRole("button", { name: "New job" }).click();
      await page.getByLabel("Name", { exact: true }).fill("closing-report");
      await page.getByLabel("Cron expression").fill("0 12 * * *");
      const runs = page.getByTestId("next-runs");
      await runs.locator("tbody tr").first().waitFor();
      assert.equal(await runs.locator("tr[data-calendar]").count(), 0, "no calendar chosen: no marks");

      // The mock's runs are daily from 2026-03-21; the 24th is closed.
      await page.getByRole("group", { name: "Does not run on" }).getByLabel("office").check();
      const excluded = runs.locator("tr.excluded");
      await excluded.waitFor();
      assert.equal(await excluded.count(), 1);
      assert.match(await excluded.textContent(), /2026-03-24T12:00:00Z/);
      assert.match(await excluded.textContent(), /Excluded: calendar office: Closing/);

      await page.getByLabel("An excluded run").selectOption("next");
      const moved = runs.locator("tr.moved");
      await moved.waitFor();
      assert.match(await moved.textContent(), /Moved to 2026-03-25T12:00:00Z \(job\), with that day's run \(calendar office: Closing\)/);
      assert.equal(await runs.locator("tr.excluded").count(), 0);

      // Unticked: the marks go.
      await page.getByRole("group", { name: "Does not run on" }).getByLabel("office").uncheck();
      await page.waitForFunction(() => document.querySelector('[data-testid="next-runs"] tr[data-calendar]') === null);
    });
  });
});
