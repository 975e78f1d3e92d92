import { useId } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Controller, useFormContext } from "react-hook-form";

import type { RunNote, SchedulePreview } from "../bindings";
import { ExpressionMarker } from "../components/ExpressionMarker";
import { FieldError } from "../components/FieldError";
import { ZonePicker } from "../components/ZonePicker";
import { commandError, commands, unwrap } from "../lib/commands";
import { count } from "../lib/count";
import { PRESETS } from "../lib/presets";
import { viewerTimeZone } from "../lib/time";
import { useDebounced } from "../lib/useDebounced";
import type { JobForm } from "./jobForm";

/** The schedule editor: expression with inline validation, presets, zone, and the core's
 * explanation (description, next runs in both zones, daylight-saving effects). */
export function SchedulePanel() {
  const { register, control, watch, setValue, formState } = useFormContext<JobForm>();
  const viewer = viewerTimeZone();
  const expression = watch("schedule");
  const timezone = watch("timezone");
  const debounced = useDebounced({ expression, timezone }, 200);
  const zones = useQuery({
    queryKey: ["time-zones"],
    queryFn: () => commands.listTimeZones(),
    staleTime: Infinity,
  });
  const preview = useQuery({
    queryKey: ["preview", debounced.expression, debounced.timezone, viewer],
    queryFn: () => unwrap(commands.previewSchedule(debounced.expression, debounced.timezone, viewer)),
    placeholderData: keepPreviousData,
  });
  const previewError = preview.isError && !preview.isFetching ? commandError(preview.error) : null;
  const fresh = debounced.expression === expression && debounced.timezone === timezone;
  const scheduleError = previewError?.field === "schedule" && fresh ? previewError : null;
  const zoneError = previewError?.field === "timezone" && fresh ? previewError : null;
  const scheduleMessage = scheduleError?.message ?? formState.errors.schedule?.message;
  const zoneMessage = zoneError?.message ?? formState.errors.timezone?.message;
  const presetsId = useId();

  return (
    <fieldset className="schedule">
      <legend>Schedule</legend>
      <div className="row">
        <div className="field grow">
          <label htmlFor="job-schedule">Cron expression</label>
          <input
            id="job-schedule"
            className="mono"
            spellCheck={false}
            autoComplete="off"
            aria-invalid={scheduleMessage !== undefined ? true : undefined}
            aria-describedby={`job-schedule-error ${presetsId}`}
            {...register("schedule")}
          />
          {scheduleError?.span != null && <ExpressionMarker expression={expression} span={scheduleError.span} />}
          <FieldError id="job-schedule-error" message={scheduleMessage} />
        </div>
        <div className="field">
          <label htmlFor="job-timezone">Time zone</label>
          <Controller
            control={control}
            name="timezone"
            render={({ field }) => (
              <ZonePicker
                id="job-timezone"
                zones={zones.data ?? []}
                value={field.value}
                onChange={field.onChange}
                invalid={zoneMessage !== undefined}
                describedBy="job-timezone-error"
              />
            )}
          />
          <FieldError id="job-timezone-error" message={zoneMessage} />
        </div>
      </div>
      <div className="presets" id={presetsId} aria-label="Presets">
        {PRESETS.map((preset) => (
          <button
            key={preset.expression}
            type="button"
            className="chip"
            onClick={() => { setValue("schedule", preset.expression, { shouldDirty: true }); }}
          >
            {preset.label}
          </button>
        ))}
      </div>
      {preview.data !== undefined && !scheduleError && !zoneError && <PreviewView preview={preview.data} stale={!fresh || preview.isFetching} />}
    </fieldset>
  );
}

function noteText(note: RunNote): string {
  switch (note.type) {
    case "moved_from_gap":
      return `${note.nominal} does not exist that day: runs at the change`;
    case "merged_in_gap":
      return `${note.count} skipped times run once, here`;
    case "first_pass_only":
      return "repeated hour: runs in the first pass only";
    case "second_pass":
      return "repeated hour: second pass";
  }
}

function PreviewView({ preview, stale }: { preview: SchedulePreview; stale: boolean }) {
  return (
    <div className="preview" aria-busy={stale} data-testid="schedule-preview">
      <p className="description" data-testid="schedule-description">{preview.description}</p>
      {preview.dstWarnings.length > 0 && (
        <div className="dst-warnings" role="status" data-testid="dst-warnings">
          <h3>Daylight saving in the next 12 months</h3>
          <ul>
            {preview.dstWarnings.map((warning) => (
              <li key={`${warning.transitionAt}-${warning.kind}`} className={`dst ${warning.kind}`}>
                {warning.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <table className="grid compact" data-testid="next-runs">
        <caption>Next {count(preview.runs.length, "run")}</caption>
        <thead>
          <tr>
            <th>#</th>
            <th>Job&apos;s zone ({preview.timezone})</th>
            <th>Your zone ({preview.viewerTimezone})</th>
            <th>Note</th>
          </tr>
        </thead>
        <tbody>
          {preview.runs.map((run, index) => (
            <tr key={run.at}>
              <td className="num">{index + 1}</td>
              <td className="mono">{run.jobZone}</td>
              <td className="mono">{run.viewerZone}</td>
              <td>{run.note === null ? "" : noteText(run.note)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
