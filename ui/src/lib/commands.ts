// The one door to the backend: the generated bindings, with their result objects turned into
// values or a thrown `CommandFailure` so that screens can use async/await and React's error
// flow. Nothing here decides anything; the core validates and answers.
import { commands, type CommandError } from "../bindings";

/** A command's typed error, thrown. Screens branch on `error.code`, never on the message. */
export class CommandFailure extends Error {
  readonly error: CommandError;

  constructor(error: CommandError) {
    super(error.message);
    this.name = "CommandFailure";
    this.error = error;
  }
}

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: CommandError };

export async function unwrap<T>(result: Promise<Result<T>>): Promise<T> {
  const settled = await result;
  if (settled.status === "error") {
    throw new CommandFailure(asCommandError(settled.error));
  }
  return settled.data;
}

/** Tauri itself rejects with a plain string when it cannot deliver a call (arguments of the
 * wrong type, a command the window may not call); give those the same shape. */
function asCommandError(error: unknown): CommandError {
  if (typeof error === "object" && error !== null && "code" in error && "message" in error) {
    return error as CommandError;
  }
  return {
    code: "internal",
    message: String(error),
    field: null,
    cronField: null,
    span: null,
    currentVersion: null,
    forbidden: null,
  };
}

/** The typed error inside anything a command call threw, if it is one. */
export function commandError(thrown: unknown): CommandError | null {
  return thrown instanceof CommandFailure ? thrown.error : null;
}

/** A message for people from anything a command call threw. A refusal says, from its typed
 * fields, which capability the role lacked and in which tenant. */
export function describeFailure(thrown: unknown): string {
  const error = commandError(thrown);
  if (error?.code === "forbidden") return describeForbidden(error);
  if (thrown instanceof Error) return thrown.message;
  return String(thrown);
}

function describeForbidden(error: CommandError): string {
  const needed = error.forbidden?.capability ?? "admin";
  const tenant = error.forbidden?.tenant ?? null;
  if (needed === "admin" || tenant === null) {
    return "Not allowed: only admins may do this. Ask an admin (rota access grant).";
  }
  return `Not allowed: this needs ${needed} on tenant ${tenant}, which your role lacks. Ask an admin for a grant (rota access grant).`;
}

export { commands };
