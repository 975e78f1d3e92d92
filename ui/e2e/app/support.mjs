// Drives the real desktop app: tauri-driver (from crates.io) in front of Debian's
// WebKitWebDriver, webdriverio's `remote()` with classic WebDriver. Run under `xvfb-run`.
//
// ROTA_DESKTOP_BIN names the app binary (built with `--features custom-protocol`, so it serves
// ../ui/dist); each session gets fresh XDG config and data folders, so the app starts as on a
// new machine and never touches the user's own database.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { remote } from "webdriverio";

export const REPOSITORY = fileURLToPath(new URL("../../../", import.meta.url));
export const SCREENSHOTS = process.env.ROTA_SCREENSHOTS ?? join(REPOSITORY, "artifacts", "screenshots");

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForDriver(port, child) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tauri-driver exited with ${child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/status`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("tauri-driver did not start within 20 s");
}

/** SIGKILLs every process whose environment has HOME=`home`: the app of one session (and its
 * WebKit helpers) even when the driver died without closing it, so that no scheduler keeps
 * running after the tests. */
function killSessionProcesses(home) {
  const marker = `HOME=${home}\0`;
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    if (Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker)) process.kill(Number(pid), "SIGKILL");
    } catch {
      // Gone already, or not ours to read.
    }
  }
}

/** Resolves after `ms`, without keeping the process alive. */
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** Starts tauri-driver and the app; returns the webdriverio browser and a `stop()`. */
export async function startApp() {
  const application = process.env.ROTA_DESKTOP_BIN;
  if (!application) throw new Error("set ROTA_DESKTOP_BIN to the rota-desktop binary (cargo xtask test does)");
  const home = mkdtempSync(join(tmpdir(), "rota-e2e-"));
  for (const dir of ["config", "data", "cache", "runtime"]) mkdirSync(join(home, dir), { mode: 0o700 });
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_DATA_HOME: join(home, "data"),
    XDG_CACHE_HOME: join(home, "cache"),
    XDG_RUNTIME_DIR: join(home, "runtime"),
    // No desktop session bus here: the keyring is unavailable, as on a bare server.
    DBUS_SESSION_BUS_ADDRESS: "disabled:",
  };
  const port = await freePort();
  const nativePort = await freePort();
  const driver = spawn(
    process.env.TAURI_DRIVER ?? "tauri-driver",
    ["--port", String(port), "--native-port", String(nativePort), "--native-driver", "/usr/bin/WebKitWebDriver"],
    { env, stdio: ["ignore", "inherit", "inherit"] },
  );
  try {
    await waitForDriver(port, driver);
    const browser = await remote({
      hostname: "127.0.0.1",
      port,
      logLevel: "error",
      connectionRetryCount: 0,
      capabilities: {
        "tauri:options": { application },
        "wdio:enforceWebDriverClassic": true,
      },
    });
    const stop = async () => {
      // A session in a bad state may never answer: do not wait for it forever.
      await Promise.race([browser.deleteSession().catch(() => {}), pause(10_000)]);
      driver.kill("SIGTERM");
      killSessionProcesses(home);
      rmSync(home, { recursive: true, force: true });
    };
    return { browser, stop, home };
  } catch (error) {
    driver.kill("SIGTERM");
    killSessionProcesses(home);
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

/** Saves a screenshot of the window as artifacts/screenshots/<name>.png. */
export async function screenshot(browser, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // From the top of the page, after the last change has been painted.
  await browser.execute(() => new Promise((resolve) => {
    window.scrollTo(0, 0);
    requestAnimationFrame(() => requestAnimationFrame(resolve));
  }));
  await browser.saveScreenshot(join(SCREENSHOTS, `${name}.png`));
}

/** A local HTTP receiver on 127.0.0.1 for HTTP jobs: it records every request and answers 500
 * while `failing`, else 200 with the body it got. It stops by itself after `lifetimeMs` (and
 * never keeps the test process alive). */
export async function startReceiver({ lifetimeMs = 300_000 } = {}) {
  const received = [];
  let failing = true;
  const server = createHttpServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ path: request.url, body, headers: request.headers });
      if (failing) {
        response.writeHead(500, { "content-type": "text/plain" }).end("receiver refuses: maintenance");
      } else {
        response.writeHead(200, { "content-type": "application/json" }).end(body);
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const timer = setTimeout(() => server.close(), lifetimeMs);
  timer.unref();
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    setFailing: (value) => {
      failing = value;
    },
    close: () => {
      clearTimeout(timer);
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The app's SQLite file in a session's fresh home (Local mode). */
export function localDatabase(home) {
  return join(home, "data", "rota", "rota.sqlite");
}

/** Runs SQL on the app's database with Debian's `sqlite3` (waiting for the app's writers). */
export function sqlite(database, sql) {
  return execFileSync("sqlite3", ["-cmd", ".timeout 10000", database, sql], { encoding: "utf8" });
}
