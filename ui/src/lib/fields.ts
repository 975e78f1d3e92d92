// Puts command errors next to the input they are about. Commands name the input field
// (`name`, `schedule`, `handler.url`, ...) in `error.field`; forms map those names to their
// own inputs.
import type { CommandError } from "../bindings";

/** The form field an error belongs to, or `null` for a form-level message. */
export function fieldOf(error: CommandError, known: readonly string[]): string | null {
  const field = error.field;
  if (field === null) return null;
  if (known.includes(field)) return field;
  // `handler.url` belongs to `handler` when the form has no finer input.
  const head = field.split(".")[0] ?? field;
  return known.includes(head) ? head : null;
}

/** The text of a JSON payload's parse error, or null when it parses. Instant feedback only:
 * the core validates the payload again on save. */
export function jsonProblem(text: string): string | null {
  if (text.trim() === "") return "empty: write {} for no payload";
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** react-hook-form options for a whole-number input. Only the shape is checked here (the
 * command takes whole numbers); the core checks the range. */
export const WHOLE_NUMBER = {
  valueAsNumber: true,
  validate: (value: number) => (Number.isInteger(value) && value >= 0) || "a whole number, such as 3",
} as const;
