import { describe, expect, it } from "vitest";

import { CommandFailure, commandError, describeFailure, unwrap } from "./commands";

describe("unwrap", () => {
  it("returns the data of a successful command", async () => {
    await expect(unwrap(Promise.resolve({ status: "ok" as const, data: 7 }))).resolves.toBe(7);
  });

  it("throws the typed error of a failed command", async () => {
    const failed = Promise.resolve({
      status: "error" as const,
      error: { code: "stale_version" as const, message: "changed", field: null, cronField: null, span: null, currentVersion: "3", forbidden: null },
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

describe("describeFailure", () => {
  const refusal = (capability: "operate" | "admin", tenant: string | null) =>
    new CommandFailure({ code: "forbidden", message: "not allowed", field: null, cronField: null, span: null, currentVersion: null, forbidden: { capability, tenant } });

  it("names the capability and the tenant of a refusal from its typed fields", () => {
    expect(describeFailure(refusal("operate", "acme"))).toBe(
      "Not allowed: this needs operate on tenant acme, which your role lacks. Ask an admin for a grant (rota access grant).",
    );
  });

  it("says an admin-only action is for admins", () => {
    expect(describeFailure(refusal("admin", null))).toMatch(/^Not allowed: only admins may do this/);
  });

  it("keeps other errors' messages", () => {
    expect(describeFailure(new CommandFailure({ code: "invalid", message: "name: bad", field: "name", cronField: null, span: null, currentVersion: null, forbidden: null }))).toBe("name: bad");
  });
});
