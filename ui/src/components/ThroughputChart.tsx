import { useEffect, useRef } from "react";
import type uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import type { OverviewData } from "../bindings";
import { fillBuckets, fittedFrom } from "../lib/runs";
import { formatInZone, viewerTimeZone } from "../lib/time";
import { STATUS_COLOR } from "../lib/runs";

/** Runs started per bucket (bars: all and failed) and lateness (lines, seconds) over the last
 * 24 hours, drawn by uPlot on a canvas. */
export function ThroughputChart({ data }: { data: OverviewData }) {
  const host = useRef<HTMLDivElement>(null);
  const readout = useRef<HTMLParagraphElement>(null);
  useEffect(() => {
    const element = host.current;
    if (element === null) return;
    let chart: uPlot | null = null;
    let cancelled = false;
    void loadUPlot().then((UPlot) => {
      if (cancelled) return;
      chart = draw(UPlot, element, data, readout.current);
    });
    return () => {
      cancelled = true;
      chart?.destroy();
    };
  }, [data]);
  return (
    <>
      <div ref={host} className="chart" data-testid="throughput-chart" />
      <p ref={readout} className="meta chart-readout" data-testid="chart-readout" aria-live="off" />
    </>
  );
}

/** uPlot, loaded when a chart is first shown. It formats numbers in `navigator.language` when
 * it loads, and WebKitGTK reports the POSIX locale ("C") there under `LANG=C.UTF-8`, which
 * `Intl` rejects; such a locale is replaced by `en-US` first. */
async function loadUPlot(): Promise<typeof uPlot> {
  try {
    new Intl.NumberFormat(navigator.language);
  } catch {
    Object.defineProperty(navigator, "language", { value: "en-US", configurable: true });
  }
  return (await import("uplot")).default;
}

/** "14:15–14:30 UTC: 12 started, 1 failed, late avg 0.4 s, max 2.0 s". */
export function bucketReadout(filled: ReturnType<typeof fillBuckets>, index: number, bucketMs: number, zone: string): string {
  const at = filled.x[index];
  if (at === undefined) return "";
  const from = new Date(at * 1_000).toISOString();
  const to = new Date(at * 1_000 + bucketMs).toISOString();
  const late = filled.lateAvgS[index];
  const max = filled.lateMaxS[index];
  const lateness = late === null || late === undefined ? "no lateness recorded" : `late avg ${late.toFixed(1)} s, max ${(max ?? late).toFixed(1)} s`;
  return `${formatInZone(from, zone)}–${formatInZone(to, zone).slice(11)} ${zone}: ${filled.started[index] ?? 0} started, ${filled.failed[index] ?? 0} failed, ${lateness}`;
}

function draw(UPlot: typeof uPlot, element: HTMLElement, data: OverviewData, readout: HTMLElement | null): uPlot {
  const bucketMs = data.bucketMs ?? 900_000;
  const nowMs = data.nowMs ?? 0;
  const fromMs = fittedFrom(data.fromMs ?? 0, nowMs, bucketMs, data.throughput.startMs);
  const filled = fillBuckets(fromMs, nowMs, bucketMs, data.throughput);
  const zone = viewerTimeZone();
  // The readout shows the hovered bucket, and the latest one while nothing is hovered.
  const show = (index: number | null | undefined) => {
    if (readout !== null) readout.textContent = bucketReadout(filled, index ?? filled.x.length - 1, bucketMs, zone);
  };
  show(null);
  const bars = UPlot.paths.bars?.({ size: [0.8, 40] });
  return new UPlot(
    {
      width: Math.max(320, element.clientWidth),
      height: 220,
      scales: { x: { time: true }, runs: { auto: true, range: (_self, _min, max) => [0, Math.max(1, max)] }, late: { auto: true, range: (_self, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        { label: `time (${zone})` },
        // One y-axis per side: runs on the left (3), lateness on the right (1). uPlot's `Side` is
        // a const enum its types declare but its module does not export, so the numbers it means.
        // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
        { scale: "runs", label: "runs started", side: 3 },
        // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
        { scale: "late", label: "late (s)", side: 1, grid: { show: false } },
      ],
      hooks: { setCursor: [(chart) => { show(chart.cursor.idx); }] },
      series: [
        {},
        { label: "started", scale: "runs", fill: "rgba(47, 125, 225, 0.35)", stroke: "#2f7de1", paths: bars, points: { show: false } },
        { label: "failed", scale: "runs", fill: "rgba(214, 69, 69, 0.55)", stroke: STATUS_COLOR.failed, paths: bars, points: { show: false } },
        { label: "late avg (s)", scale: "late", stroke: "#c9a227", width: 2, spanGaps: false },
        { label: "late max (s)", scale: "late", stroke: "#8e44ad", width: 1, dash: [4, 4], spanGaps: false },
      ],
    },
    [filled.x, filled.started, filled.failed, filled.lateAvgS, filled.lateMaxS],
    element,
  );
}
