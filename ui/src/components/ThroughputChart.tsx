import { useEffect, useRef } from "react";
import type uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

import type { OverviewData } from "../bindings";
import { fillBuckets } from "../lib/runs";
import { STATUS_COLOR } from "../lib/runs";

/** Runs started per bucket (bars: all and failed) and lateness (lines, seconds) over the last
 * 24 hours, drawn by uPlot on a canvas. */
export function ThroughputChart({ data }: { data: OverviewData }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current;
    if (element === null) return;
    let chart: uPlot | null = null;
    let cancelled = false;
    void loadUPlot().then((UPlot) => {
      if (cancelled) return;
      chart = draw(UPlot, element, data);
    });
    return () => {
      cancelled = true;
      chart?.destroy();
    };
  }, [data]);
  return <div ref={host} className="chart" data-testid="throughput-chart" />;
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

function draw(UPlot: typeof uPlot, element: HTMLElement, data: OverviewData): uPlot {
  const filled = fillBuckets(data.fromMs ?? 0, data.nowMs ?? 0, data.bucketMs ?? 900_000, data.throughput);
  const bars = UPlot.paths.bars?.({ size: [0.8, 40] });
  return new UPlot(
    {
      width: Math.max(320, element.clientWidth),
      height: 220,
      scales: { x: { time: true }, runs: { auto: true, range: (_self, _min, max) => [0, Math.max(1, max)] }, late: { auto: true, range: (_self, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        {},
        { scale: "runs", label: "runs started" },
        { scale: "late", label: "late (s)", grid: { show: false } },
      ],
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
