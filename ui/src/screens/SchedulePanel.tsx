import { useId } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Controller, useFormContext } from "react-hook-form";

import type { CalendarsInput, RunNote, SchedulePreview } from "../bindings";
import { ExpressionMarker } from "../components/ExpressionMarker";
import { FieldError } from "../components/FieldError";
import { ZonePicker } from "../components/ZonePicker";
import { calendarNote, mergedWith } from "../lib/calendarMarks";
import { commandError, commands, unwrap } from "../lib/commands";
import { count } from "../lib/count";
import { PRESETS } from "../lib/presets";
import { viewerTimeZone } from "../lib/time";
import { useDebounced } from "../lib/useDebounced";
import { calendarsInput, type JobForm } from "./jobForm";

/** The schedule editor: expression with inline validation, presets, zone, the job's calendars,
 * and the core's explanation (description, next runs in both zones, daylight-saving effects,
 * and which runs the chosen calendars exclude or move, and where to). */
export function SchedulePanel() {
  const { register, control, watch, setValue, formState } = useFormContext<JobForm>();
  const viewer = viewerTimeZone();
  const expression = watch("schedule");
  const timezone = watch("timezone");
  const tenant = watch("tenant");
  // Sent as text: a string settles once, where a new object every render would not.
  const chosen = JSON.stringify(calendarsInput(watch("policy.calendars")));
  const debounced = useDebounced({ expression, timezone, tenant, chosen }, 200);
  const zones = useQuery({
    queryKey: ["time-zones"],
    queryFn: () => commands.listTimeZones(),
    staleTime: Infinity,
  });
  const preview = useQuery({
    queryKey: ["preview", debounced.expression, debounced.timezone, viewer, debounced.tenant, debounced.chosen],
    queryFn: () => {
      const calendars = JSON.parse(debounced.chosen) as CalendarsInput | null;
      const tenantName = debounced.tenant === "" ? null : debounced.tenant;
      return unwrap(commands.previewSchedule(debounced.expression, debounced.timezone, viewer, tenantName, calendars));
    },
    placeholderData: keepPreviousData,
  });
  const previewError = preview.isError && !preview.isFetching ? commandError(preview.error) : null;
  const fresh = debounced.expression === expression && debounced.timezone === timezone && debounced.chosen === chosen;
  const scheduleError = previewError?.field === "schedule" && fresh ? previewError : null;
  const zoneError = previewError?.field === "timezone" && fresh ? previewError : null;
  const scheduleMessage = scheduleError?.message ?? formState.errors.schedule?.message;
  const zoneMessage = zoneError?.message ?? formState.errors.timezone?.message;
  const presetsId = useId();
  // A calendar that is gone (removed since the form was opened) is named here.
  const calendarError = previewError !== null && previewError.field === null && fresh ? previewError.message : null;

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
      <CalendarFields tenant={tenant} />
      {calendarError !== null && <p className="error" role="alert" data-testid="calendar-error">{calendarError}</p>}
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

/** The job's calendars: those it does not run on, the one it runs only on, and what an excluded
 * occurrence does. The choices are the tenant's calendars and the shared ones. */
function CalendarFields({ tenant }: { tenant: string }) {
  const { register, watch, setValue } = useFormContext<JobForm>();
  const listed = useQuery({
    queryKey: ["calendars", tenant],
    queryFn: () => unwrap(commands.listCalendars(tenant)),
    enabled: tenant !== "",
  });
  const chosen = watch("policy.calendars");
  const names = [...new Set((listed.data ?? []).map((calendar) => calendar.name))].sort();
  // A chosen name the list does not have (yet) stays visible, so it can be unticked.
  const excludable = [...new Set([...names, ...chosen.excludeCalendars])];
  const onlyChoices = [...new Set([...names, ...(chosen.onlyCalendar === "" ? [] : [chosen.onlyCalendar])])];
  const onExcludedId = useId();
  const onlyId = useId();
  if (excludable.length === 0 && onlyChoices.length === 0) {
    return <p className="hint" data-testid="no-calendars">No calendars for this tenant yet (import one on the Calendars screen).</p>;
  }
  return (
    <div className="calendars" data-testid="job-calendars">
      <fieldset className="checks">
        <legend>Does not run on</legend>
        {excludable.map((name) => (
          <label key={name} className="check">
            <input
              type="checkbox"
              checked={chosen.excludeCalendars.includes(name)}
              onChange={(event) => {
                const rest = chosen.excludeCalendars.filter((other) => other !== name);
                const next = event.target.checked ? [...rest, name] : rest;
                setValue("policy.calendars.excludeCalendars", next, { shouldDirty: true });
              }}
            />
            {name}
          </label>
        ))}
      </fieldset>
      <div className="row">
        <div className="field">
          <label htmlFor={onlyId}>Runs only on</label>
          <select id={onlyId} {...register("policy.calendars.onlyCalendar")}>
            <option value="">every day</option>
            {onlyChoices.map((name) => (
              <option key={name} value={name}>{name}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={onExcludedId}>An excluded run</label>
          <select id={onExcludedId} {...register("policy.calendars.onExcluded")}>
            <option value="skip">is skipped</option>
            <option value="next">moves to the next allowed day</option>
            <option value="previous">moves to the previous allowed day</option>
          </select>
        </div>
      </div>
    </div>
  );
}

function PreviewView({ preview, stale }: { preview: SchedulePreview; stale: boolean }) {
  const marked = preview.runs.some((run) => run.calendar !== null);
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
            {marked && <th>Calendar</th>}
          </tr>
        </thead>
        <tbody>
          {preview.runs.map((run, index) => (
            <tr key={run.at} className={run.calendar?.type} data-calendar={run.calendar?.type}>
              <td className="num">{index + 1}</td>
              <td className="mono">{run.jobZone}</td>
              <td className="mono">{run.viewerZone}</td>
              <td>{run.note === null ? "" : noteText(run.note)}</td>
              {marked && <td>{run.calendar === null ? "" : calendarNote(run.calendar, mergedWith(run.calendar, preview.runs))}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
