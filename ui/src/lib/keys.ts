// Query keys shared by several screens (and patched by the live updates, src/lib/live.ts).
export const TENANTS_KEY = ["tenants"] as const;
export const JOBS_KEY = ["jobs"] as const;
/** The job view's header (state, pause, streak); the editor keeps its own `["job", id]`. */
export const JOB_STATUS_KEY = ["job-status"] as const;
/** `["job-runs", jobId, limit]`. */
export const JOB_RUNS_KEY = ["job-runs"] as const;
/** `["occurrence", runId]`. */
export const OCCURRENCE_KEY = ["occurrence"] as const;
/** `["timeline", query]`. */
export const TIMELINE_KEY = ["timeline"] as const;
export const OVERVIEW_KEY = ["overview"] as const;
export const AUTO_DISABLED_KEY = ["auto-disabled"] as const;
export const NAMED_HANDLERS_KEY = ["named-handlers"] as const;
export const OPERATOR_KEY = ["operator"] as const;
/** What the current database role may do (`whoami`). */
export const WHOAMI_KEY = ["whoami"] as const;
/** The connection's status (`ConnectionStatus`), set by the app on every change. */
export const CONNECTION_KEY = ["connection"] as const;
/** The saved connection profiles (environments). */
export const PROFILES_KEY = ["profiles"] as const;
/** Who executes the local database's jobs, and the user service (`BackgroundStatus`). */
export const BACKGROUND_KEY = ["background"] as const;
