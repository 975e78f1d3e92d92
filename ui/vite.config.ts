import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The Tauri app loads `dist/` (see ../src-tauri/tauri.conf.json); `npm run dev` serves the same
// files on a fixed port for `tauri dev`. `--mode mock` builds a copy whose IPC is answered by an
// in-page fake (src/mock/), for the headless-Chromium tests in e2e/browser.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 1420, strictPort: true, host: "127.0.0.1" },
  build: {
    target: "es2022",
    // Source maps would let a viewer read the console's code from the package; nothing to hide,
    // but they double the size of the .deb for no use at run time.
    sourcemap: false,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    setupFiles: ["src/test-setup.ts"],
    // Above Testing Library's retry limit (src/test-setup.ts), so a slow machine fails on the
    // condition that did not hold, with its message, rather than on the test's clock.
    testTimeout: 20000,
  },
});
