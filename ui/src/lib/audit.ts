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
