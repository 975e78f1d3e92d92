import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import type { CalendarRow } from "../bindings";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { TENANTS_KEY } from "../lib/keys";
import { monthGrid, MONTHS } from "../lib/calendarYear";

const CALENDARS_KEY = ["calendars"] as const;

/** Holiday and blackout calendars: the list, importing an iCalendar file, and a year of a
 * calendar's days. */
export function CalendarsScreen() {
  const queryClient = useQueryClient();
  const calendars = useQuery({
    queryKey: CALENDARS_KEY,
    queryFn: () => unwrap(commands.listCalendars(null)),
  });
  const tenants = useQuery({ queryKey: TENANTS_KEY, queryFn: () => unwrap(commands.listTenants()) });
  const [shown, setShown] = useState<CalendarRow | null>(null);
  const [name, setName] = useState("");
  const [tenant, setTenant] = useState("");
  const [replace, setReplace] = useState(false);
  const [file, setFile] = useState<File | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const importFile = useMutation({
    mutationFn: async () => {
      if (file === null) throw new Error("Choose an .ics file first.");
      const ics = await file.text();
      return unwrap(commands.importCalendar(tenant === "" ? null : tenant, name.trim(), ics, replace));
    },
    onSuccess: (row) => {
      setMessage(`${replace ? "Updated" : "Imported"} calendar ${row.name}: ${row.events} event(s).`);
      setShown(row);
      void queryClient.invalidateQueries({ queryKey: CALENDARS_KEY });
    },
  });
  return (
    <section className="screen" aria-labelledby="calendars-title">
      <h1 id="calendars-title">Calendars</h1>
      <p className="hint">Jobs skip (or move off) the days and windows of the calendars they exclude. A tenant&apos;s calendar is its own; a shared one (no tenant) is kept by admins.</p>
      <form
        className="calendar-import"
        aria-label="Import a calendar"
        onSubmit={(event) => { event.preventDefault(); setMessage(null); importFile.mutate(); }}
      >
        <label htmlFor="calendar-name">Name</label>
        <input id="calendar-name" value={name} onChange={(event) => { setName(event.target.value); }} required />
        <label htmlFor="calendar-tenant">Tenant</label>
        <select id="calendar-tenant" value={tenant} onChange={(event) => { setTenant(event.target.value); }}>
          <option value="">(shared)</option>
          {(tenants.data ?? []).map((row) => <option key={row.id} value={row.name}>{row.name}</option>)}
        </select>
        <label htmlFor="calendar-file">iCalendar file</label>
        <input id="calendar-file" type="file" accept=".ics,text/calendar" onChange={(event) => { setFile(event.target.files?.[0] ?? null); }} />
        <label className="inline">
          <input type="checkbox" checked={replace} onChange={(event) => { setReplace(event.target.checked); }} />
          Replace the days of an existing calendar
        </label>
        <button type="submit" disabled={importFile.isPending}>Import</button>
        {importFile.isError && <p className="error" role="alert">{describeFailure(importFile.error)}</p>}
        {message !== null && <p className="ok" role="status">{message}</p>}
      </form>
      {calendars.isError && <p className="error" role="alert">{describeFailure(calendars.error)}</p>}
      <table aria-label="Calendars">
        <thead>
          <tr><th>Name</th><th>Tenant</th><th className="numeric">Events</th><th>Updated</th></tr>
        </thead>
        <tbody>
          {(calendars.data ?? []).map((row) => (
            <tr key={`${row.tenant ?? ""}/${row.name}`}>
              <td><button type="button" className="link" onClick={() => { setShown(row); }}>{row.name}</button></td>
              <td>{row.tenant ?? "(shared)"}</td>
              <td className="numeric">{row.events}</td>
              <td>{row.updatedAt}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {calendars.data?.length === 0 && <p className="empty">No calendars yet.</p>}
      {shown !== null && <YearView calendar={shown} />}
    </section>
  );
}

/** A calendar's days over a year, month by month. */
function YearView({ calendar }: { calendar: CalendarRow }) {
  const [year, setYear] = useState(new Date().getFullYear());
  const days = useQuery({
    queryKey: [...CALENDARS_KEY, "year", calendar.tenant, calendar.name, calendar.version, year],
    queryFn: () => unwrap(commands.calendarYear(calendar.tenant, calendar.name, year)),
  });
  const events = new Map((days.data?.days ?? []).map((day) => [day.date, day.event]));
  return (
    <section className="year-view" aria-label={`Year view of ${calendar.name}`}>
      <h2>
        {calendar.name} {calendar.tenant === null ? "(shared)" : `(${calendar.tenant})`}
      </h2>
      <div className="year-nav">
        <button type="button" onClick={() => { setYear(year - 1); }} aria-label="Previous year">‹</button>
        <span data-testid="calendar-year">{year}</span>
        <button type="button" onClick={() => { setYear(year + 1); }} aria-label="Next year">›</button>
        <span className="hint">{events.size} day(s)</span>
      </div>
      {days.isError && <p className="error" role="alert">{describeFailure(days.error)}</p>}
      <div className="months">
        {MONTHS.map((month, index) => (
          <table key={month} className="month" aria-label={`${month} ${year}`}>
            <caption>{month}</caption>
            <tbody>
              {monthGrid(year, index).map((week, row) => (
                <tr key={row}>
                  {week.map((date, column) => {
                    if (date === null) return <td key={column} />;
                    const event = events.get(date);
                    return (
                      <td key={column} className={event === undefined ? "day" : "day covered"} title={event} data-date={date}>
                        {Number(date.slice(8))}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        ))}
      </div>
      {(days.data?.windows.length ?? 0) > 0 && (
        <>
          <h3>Windows</h3>
          <ul>{days.data?.windows.map((window) => <li key={window}>{window}</li>)}</ul>
        </>
      )}
    </section>
  );
}
