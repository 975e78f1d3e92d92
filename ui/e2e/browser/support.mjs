// Serves the mock build (dist-mock) on a loopback port and opens pages in Debian's headless
// Chromium through playwright-core (no browser download).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

import { after, before } from "node:test";

import { chromium } from "playwright-core";

const DIST = fileURLToPath(new URL("../../dist-mock/", import.meta.url));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export async function serveDist() {
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
    const file = join(DIST, path === "/" ? "index.html" : path);
    if (!file.startsWith(DIST)) {
      response.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** A fresh page on the mock build; `options` go to the mock backend (see src/mock/backend.ts). */
export async function openConsole(browser, url, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "America/New_York" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.addInitScript((value) => {
    window.__ROTA_MOCK_OPTIONS__ = value;
  }, options);
  await page.goto(url);
  return { page, problems, close: () => context.close() };
}

/** What every browser test file sets up: the mock build served and one browser for the file
 * (started before its tests, closed after them). Returns `withConsole(options, body)`, which
 * runs `body(page)` on a fresh page with `options` for the mock backend, then checks that the
 * page logged no errors and closes it. */
export function useConsole() {
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
  return async function withConsole(options, body) {
    const session = await openConsole(browser, server.url, options);
    try {
      await body(session.page);
      assert.deepEqual(session.problems, [], "the page logged no errors");
    } finally {
      await session.close();
    }
  };
}

/** The main navigation's button for the screen `name`. */
export const nav = (page, name) => page.getByRole("navigation").getByRole("button", { name, exact: true });
