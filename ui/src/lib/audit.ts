// How an audit entry reads: the fields that changed between the record before and after.
// Presentation only; the core recorded both records.

export interface FieldChange {
  field: string;
  before: string;
  after: string;
}

const show = (value: unknown): string => (value === undefined ? "—" : typeof value === "string" ? value : JSON.stringify(value));

/** The top-level fields that differ between two JSON records (`null`: no record). */
export function changedFields(before: string | null, after: string | null): FieldChange[] {
  const parse = (text: string | null): Record<string, unknown> => {
    if (text === null) return {};
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
    } catch {
      return { value: text };
    }
  };
  const old = parse(before);
  const next = parse(after);
  const fields = [...new Set([...Object.keys(old), ...Object.keys(next)])].sort();
  return fields
    .filter((field) => JSON.stringify(old[field]) !== JSON.stringify(next[field]))
    .map((field) => ({ field, before: show(old[field]), after: show(next[field]) }));
}

/** How many changed fields an entry lists before the rest fold under "N more fields". */
export const CHANGES_SHOWN = 6;

/** A stored handler in a few words: "POST https://…", "/bin/echo hello", "sh: script", "named x". */
export function handlerSummary(handler: unknown): string | null {
  if (typeof handler !== "object" || handler === null) return null;
  const spec = handler as Record<string, unknown>;
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  switch (spec.type) {
    case "http":
      return `${text(spec.method) || "POST"} ${text(spec.url)}`;
    case "command": {
      if (spec.shell === true) return `sh -c ${text(spec.program)}`;
      const args = Array.isArray(spec.args) ? spec.args.map(text) : [];
      return [text(spec.program), ...args].join(" ");
    }
    case "named":
      return `named ${text(spec.name)}`;
    default:
      return null;
  }
}

/** What a created job was created as: its name, schedule, zone and handler, from the entry's
 * record after; `null` for other entries. */
export function createdDefinition(action: string, after: string | null): { name: string; schedule: string; timezone: string; handler: string | null } | null {
  if (action !== "job.created" || after === null) return null;
  try {
    const job: unknown = JSON.parse(after);
    if (typeof job !== "object" || job === null) return null;
    const record = job as Record<string, unknown>;
    const text = (value: unknown) => (typeof value === "string" ? value : "");
    return { name: text(record.name), schedule: text(record.schedule), timezone: text(record.timezone), handler: handlerSummary(record.handler) };
  } catch {
    return null;
  }
}
