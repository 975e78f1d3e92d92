// The timeline's geometry, kept pure so that it is tested without a canvas: which row each lane
// goes to (per job or per tenant), where an instant falls on the x axis, zooming around a point
// between an hour and a month, and which run is under the pointer.
import type { Lane, RunStatus, TimelineData } from "../bindings";

/** A timeline window as the screen keeps it: the transport's columns with plain numbers (the
 * bindings type every float as `number | null`, since JSON has no NaN). */
export interface Timeline {
  fromMs: number;
  toMs: number;
  nowMs: number;
  lanes: Lane[];
  spans: { ids: string[]; lane: number[]; beginMs: number[]; endMs: number[]; status: RunStatus[] };
  truncated: boolean;
  ghosts: { lane: number[]; atMs: number[]; expectedMs: number[] };
  ghostsTruncated: boolean;
}

const numbers = (values: (number | null)[]): number[] => values.map((value) => value ?? 0);

/** The transport's window, decoded once when it arrives. */
export function decodeTimeline(data: TimelineData): Timeline {
  return {
    fromMs: data.fromMs ?? 0,
    toMs: data.toMs ?? 0,
    nowMs: data.nowMs ?? 0,
    lanes: data.lanes,
    spans: { ...data.spans, beginMs: numbers(data.spans.beginMs), endMs: numbers(data.spans.endMs) },
    truncated: data.truncated,
    ghosts: { lane: data.ghosts.lane, atMs: numbers(data.ghosts.atMs), expectedMs: numbers(data.ghosts.expectedMs) },
    ghostsTruncated: data.ghostsTruncated,
  };
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const MIN_SPAN_MS = HOUR_MS;
export const MAX_SPAN_MS = 31 * DAY_MS;

export type GroupBy = "job" | "tenant";

export interface Rows {
  /** Row labels, top to bottom. */
  labels: string[];
  /** The row of each lane (index into the timeline's lanes). */
  rowOfLane: Int32Array;
}

/** One row per job (labelled "tenant / job"), or one per tenant holding all its jobs. */
export function rowsFor(lanes: Lane[], groupBy: GroupBy): Rows {
  const rowOfLane = new Int32Array(lanes.length);
  if (groupBy === "job") {
    lanes.forEach((_, index) => (rowOfLane[index] = index));
    return { labels: lanes.map((lane) => `${lane.tenant} / ${lane.job}`), rowOfLane };
  }
  const labels: string[] = [];
  const rowOf = new Map<string, number>();
  lanes.forEach((lane, index) => {
    let row = rowOf.get(lane.tenant);
    if (row === undefined) {
      row = labels.length;
      rowOf.set(lane.tenant, row);
      labels.push(lane.tenant);
    }
    rowOfLane[index] = row;
  });
  return { labels, rowOfLane };
}

export interface View {
  fromMs: number;
  toMs: number;
}

/** The x of instant `ms` on a plot `width` pixels wide showing `view`. */
export function xOf(ms: number, view: View, width: number): number {
  return ((ms - view.fromMs) / (view.toMs - view.fromMs)) * width;
}

/** The instant under x. */
export function msAt(x: number, view: View, width: number): number {
  return view.fromMs + (x / width) * (view.toMs - view.fromMs);
}

/** The view scaled by `factor` (< 1 zooms in) around `anchorMs`, kept between an hour and a
 * month. */
export function zoomView(view: View, factor: number, anchorMs: number): View {
  const span = view.toMs - view.fromMs;
  const next = Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, span * factor));
  const ratio = (anchorMs - view.fromMs) / span;
  const fromMs = anchorMs - ratio * next;
  return { fromMs, toMs: fromMs + next };
}

/** The view of `spanMs` ending a little after `nowMs` (a fifth of it, at most a day), so the
 * next runs show as ghosts. */
export function viewEndingNow(nowMs: number, spanMs: number): View {
  const ahead = Math.min(spanMs * 0.2, DAY_MS);
  return { fromMs: nowMs + ahead - spanMs, toMs: nowMs + ahead };
}

/** The index of the run under (x, row), if one is: the latest-drawn bar wins; a bar narrower
 * than `slop` pixels is hit within `slop`. */
export function hitTest(
  data: Timeline,
  rows: Rows,
  view: View,
  width: number,
  x: number,
  row: number,
  visible: (status: RunStatus) => boolean,
  slop = 3,
): number | null {
  const { lane, beginMs, endMs, status } = data.spans;
  let found: number | null = null;
  for (let index = 0; index < lane.length; index++) {
    const laneIndex = lane[index] ?? 0;
    if (rows.rowOfLane[laneIndex] !== row) continue;
    const runStatus = status[index];
    if (runStatus === undefined || !visible(runStatus)) continue;
    const x1 = xOf(beginMs[index] ?? 0, view, width);
    const x2 = Math.max(x1 + 1, xOf(endMs[index] ?? 0, view, width));
    if (x >= x1 - slop && x <= x2 + slop) found = index;
  }
  return found;
}

/** Tick marks for the time axis: a round step giving about `count` ticks over the view. */
export function ticks(view: View, count: number): number[] {
  const steps = [60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS, DAY_MS, 2 * DAY_MS, 7 * DAY_MS];
  const span = view.toMs - view.fromMs;
  const step = steps.find((candidate) => span / candidate <= count) ?? 7 * DAY_MS;
  const first = Math.ceil(view.fromMs / step) * step;
  const marks: number[] = [];
  for (let at = first; at <= view.toMs; at += step) marks.push(at);
  return marks;
}
