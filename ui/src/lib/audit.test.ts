import { expect, it } from "vitest";

import { changedFields } from "./audit";

it("lists the fields that changed, with both values", () => {
  expect(changedFields('{"enabled": false, "name": "a", "streak": 5}', '{"enabled": true, "name": "a", "streak": 0}')).toEqual([
    { field: "enabled", before: "false", after: "true" },
    { field: "streak", before: "5", after: "0" },
  ]);
  expect(changedFields(null, '{"name": "a"}')).toEqual([{ field: "name", before: "—", after: "a" }]);
  expect(changedFields(null, null)).toEqual([]);
});
