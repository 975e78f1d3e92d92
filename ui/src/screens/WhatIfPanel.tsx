import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useFormContext } from "react-hook-form";

import type { CalendarsInput } from "../bindings";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { formatInZone, viewerTimeZone } from "../lib/time";
import { useDebounced } from "../lib/useDebounced";
import { calendarsInput, type JobForm } from "./jobForm";

const NO_CALENDARS: CalendarsInput = { excludeCalendars: [], onlyCalendar: null, onExcluded: "skip" };

/** What if this job were saved as it is: its next starts in the coming day among everything
 * else that starts then (its tenant's and the whole fleet's), a herd flagged before saving,
 * and the jitter window that would spread it. */
export function WhatIfPanel({ jobId }: { jobId?: string }) {
  const { watch, setValue } = useFormContext<JobForm>();
  const viewer = viewerTimeZone();
  // Debounced as text: a string settles once, where a new object every render would not.
  const typed = JSON.stringify({
    tenant: watch("tenant"),
    name: watch("name"),
    schedule: watch("schedule"),
    timezone: watch("timezone"),
    jitter: watch("policy.jitterWindowSeconds"),
    calendars: calendarsInput(watch("policy.calendars")) ?? NO_CALENDARS,
  });
  const input = JSON.parse(useDebounced(typed, 400)) as {
    tenant: string;
    name: string;
    schedule: string;
    timezone: string;
    jitter: string;
    calendars: CalendarsInput;
  };
  const jitterSeconds = /^\d+$/.test(input.jitter.trim()) ? Number(input.jitter.trim()) : null;
  const ready = input.tenant !== "" && input.name.trim() !== "" && input.schedule.trim() !== "";
  const whatIf = useQuery({
    queryKey: ["what-if", jobId ?? null, input.tenant, input.name, input.schedule, input.timezone, jitterSeconds, JSON.stringify(input.calendars)],
    queryFn: () =>
      unwrap(commands.whatIf({
        tenant: input.tenant,
        name: input.name.trim(),
        schedule: input.schedule,
        timezone: input.timezone,
        jitterWindowSeconds: jitterSeconds,
        jobId: jobId ?? null,
        calendars: input.calendars,
      })),
    enabled: ready,
    placeholderData: keepPreviousData,
  });
  const suggested = whatIf.data?.suggestedJitterWindowSeconds ?? null;
  return (
    <fieldset className="what-if" aria-label="What if">
      <legend>What if: starts around this job&apos;s next runs</legend>
      {!ready && <p className="hint">Choose a tenant, a name and a schedule to see the starts around this job.</p>}
      {whatIf.isError && <p className="hint">{describeFailure(whatIf.error)}</p>}
      {whatIf.data !== undefined && ready && (
        <>
          <table aria-label="Starts around this job">
            <thead>
              <tr><th>Start</th><th className="numeric">Same second</th><th className="numeric">Tenant that minute</th><th className="numeric">Fleet that minute</th><th /></tr>
            </thead>
            <tbody>
              {whatIf.data.starts.map((start) => (
                <tr key={start.at} className={start.herd ? "herd" : undefined}>
                  <td>{formatInZone(start.at, viewer)}</td>
                  <td className="numeric">{start.sameSecond}</td>
                  <td className="numeric">{start.tenantMinute}</td>
                  <td className="numeric">{start.fleetMinute}</td>
                  <td>{start.herd && <span className="badge warn">herd</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {whatIf.data.starts.length === 0 && <p className="hint">No start in the next 24 hours.</p>}
          {suggested !== null && (
            <p role="status" className="warn">
              {`This job starts with ${whatIf.data.herdThreshold} or more others in the same second. `}
              <button
                type="button"
                onClick={() => { setValue("policy.jitterWindowSeconds", String(suggested), { shouldDirty: true }); }}
              >
                {`Use a jitter window of ${suggested} s`}
              </button>
            </p>
          )}
        </>
      )}
    </fieldset>
  );
}
