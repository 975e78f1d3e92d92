// Bulk actions from the jobs table: which jobs a selection covers (the ticked rows, or every job
// matching the filters) and what an action did, in words. The core applies the action; this
// only builds its arguments and reads its result.
import type { BulkAction, BulkResult, HandlerKind, JobSelectionInput, JobStateFilter } from "../bindings";
import { count } from "./count";

/** What is selected: ticked rows by id, or every job that matches the filters. */
export type Selection = { kind: "rows"; ids: ReadonlySet<string> } | { kind: "matching" };

export interface Filters {
  search: string;
  tenant: string;
  state: JobStateFilter | "";
  handler: HandlerKind | "";
}

export const NOTHING_SELECTED: Selection = { kind: "rows", ids: new Set() };

/** The selection as the `bulk_jobs` command takes it; blank filters are no filters. */
export function selectionInput(selection: Selection, filters: Filters): JobSelectionInput {
  if (selection.kind === "rows") return { type: "ids", ids: [...selection.ids] };
  return {
    type: "matching",
    filters: {
      search: filters.search.trim() === "" ? null : filters.search,
      tenant: filters.tenant === "" ? null : filters.tenant,
      state: filters.state === "" ? null : filters.state,
      handler: filters.handler === "" ? null : filters.handler,
    },
  };
}

/** How many jobs the selection covers, given the matching total. */
export function selectedCount(selection: Selection, total: number): number {
  return selection.kind === "rows" ? selection.ids.size : total;
}

/** Ticks or unticks one row; a "matching" selection starts over from that row alone. */
export function toggleRow(selection: Selection, id: string): Selection {
  const ids = new Set(selection.kind === "rows" ? selection.ids : []);
  if (ids.has(id)) ids.delete(id);
  else ids.add(id);
  return { kind: "rows", ids };
}

const WORDS: Record<BulkAction, { done: string; state: string; label: string }> = {
  pause: { done: "Paused", state: "paused", label: "Pause" },
  resume: { done: "Resumed", state: "running", label: "Resume" },
  enable: { done: "Enabled", state: "enabled", label: "Enable" },
  disable: { done: "Disabled", state: "disabled", label: "Disable" },
};

/** The button's label: "Pause 3 jobs". */
export function actionLabel(action: BulkAction, jobs: number): string {
  return `${WORDS[action].label} ${count(jobs, "job")}`;
}

/** "Paused 5 jobs; 1 was paused already." */
export function resultText(result: BulkResult): string {
  const words = WORDS[result.action];
  const unchanged = result.selected - result.changed;
  const head = `${words.done} ${count(result.changed, "job")}`;
  if (unchanged === 0) return `${head}.`;
  return `${head}; ${count(unchanged, "job")} ${unchanged === 1 ? "was" : "were"} ${words.state} already.`;
}
