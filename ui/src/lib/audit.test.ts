import { expect, it } from "vitest";

import { changedFields, createdDefinition, handlerSummary } from "./audit";

it("lists the fields that changed, with both values", () => {
  expect(changedFields('{"enabled": false, "name": "a", "streak": 5}', '{"enabled": true, "name": "a", "streak": 0}')).toEqual([
    { field: "enabled", before: "false", after: "true" },
    { field: "streak", before: "5", after: "0" },
  ]);
  expect(changedFields(null, '{"name": "a"}')).toEqual([{ field: "name", before: "—", after: "a" }]);
  expect(changedFields(null, null)).toEqual([]);
});

it("reads a created job's definition from its record", () => {
  const after = JSON.stringify({ name: "nightly", schedule: "30 2 * * *", timezone: "Europe/Berlin", handler: { type: "command", program: "/bin/echo", args: ["hello"] }, version: 1 });
  expect(createdDefinition("job.created", after)).toEqual({ name: "nightly", schedule: "30 2 * * *", timezone: "Europe/Berlin", handler: "/bin/echo hello" });
  expect(createdDefinition("job.paused", after)).toBeNull();
  expect(createdDefinition("job.created", "not json")).toBeNull();
  expect(handlerSummary({ type: "http", method: "GET", url: "https://x.test/run" })).toBe("GET https://x.test/run");
  expect(handlerSummary({ type: "command", program: "tar czf /b.tgz /data", shell: true })).toBe("sh -c tar czf /b.tgz /data");
  expect(handlerSummary({ type: "named", name: "reports.daily" })).toBe("named reports.daily");
});
