import { describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";

import type { JobDetail, JobInput } from "../bindings";
import { ConflictPanel, compareVersions } from "./ConflictPanel";
import { DEFAULT_POLICY } from "./jobForm";

const MINE: JobInput = {
  name: "nightly",
  schedule: "0 3 * * *",
  timezone: "Europe/Berlin",
  handler: { type: "named", name: "reports.daily" },
  payload: "{}",
  timeoutSeconds: 60,
  policy: DEFAULT_POLICY,
};
const THEIRS: JobDetail = {
  id: "id",
  tenant: "acme",
  version: "5",
  definition: { ...MINE, schedule: "45 2 * * *" },
  state: "enabled",
  disabledReason: null,
  consecutiveFailures: 0,
  paused: false,
  tenantPaused: false,
  lastError: null,
  onProbation: false,
  enabledBy: null,
  nextRunAt: null,
  lastRunAt: null,
  createdAt: "2026-03-01T00:00:00Z",
  updatedAt: "2026-03-20T12:30:00Z",
};

describe("ConflictPanel", () => {
  it("lists both versions field by field", () => {
    const lines = compareVersions(MINE, THEIRS.definition);
    const differing = lines.filter((line) => line.mine !== line.theirs).map((line) => line.label);
    expect(differing).toEqual(["Schedule"]);
  });

  it("shows the other version and lets the user choose", () => {
    const onTakeTheirs = vi.fn();
    const onKeepMine = vi.fn();
    render(<ConflictPanel mine={MINE} theirs={THEIRS} onTakeTheirs={onTakeTheirs} onKeepMine={onKeepMine} />);
    expect(screen.getByRole("alert").textContent).toContain("version 5");
    expect(screen.getByText("45 2 * * *")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: /load theirs/ }));
    fireEvent.click(screen.getByRole("button", { name: /Save mine over theirs/ }));
    expect(onTakeTheirs).toHaveBeenCalledOnce();
    expect(onKeepMine).toHaveBeenCalledOnce();
  });
});
