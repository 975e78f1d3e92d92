import { describe, expect, it } from "vitest";

import { CommandFailure, commandError, unwrap } from "./commands";

describe("unwrap", () => {
  it("returns the data of a successful command", async () => {
    await expect(unwrap(Promise.resolve({ status: "ok" as const, data: 7 }))).resolves.toBe(7);
  });

  it("throws the typed error of a failed command", async () => {
    const failed = Promise.resolve({
      status: "error" as const,
      error: { code: "stale_version" as const, message: "changed", field: null, cronField: null, span: null, currentVersion: "3" },
    });
    const thrown = await unwrap(failed).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(CommandFailure);
    expect(commandError(thrown)?.currentVersion).toBe("3");
  });

  it("gives Tauri's own string rejections the same shape", async () => {
    const failed = Promise.resolve({ status: "error" as const, error: "invalid args `id` for command `get_job`" as never });
    const thrown = await unwrap(failed).catch((error: unknown) => error);
    expect(commandError(thrown)?.code).toBe("internal");
    expect(commandError(thrown)?.message).toContain("invalid args");
  });
});
