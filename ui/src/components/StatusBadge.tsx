import type { RunStatus } from "../bindings";
import { STATUS_LABEL } from "../lib/runs";

/** A run's status, coloured as in the timeline. */
export function StatusBadge({ status }: { status: RunStatus }) {
  return <span className={`status status-${status}`}>{STATUS_LABEL[status]}</span>;
}
