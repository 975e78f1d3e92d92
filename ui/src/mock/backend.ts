// An in-page fake of the console's commands, for the headless-browser UI tests (`--mode mock`).
// It answers through Tauri's own IPC mock, so the app runs its real bindings and screens. It is
// a stand-in for forms and tables only: schedules are checked crudely here, and the real cron
// engine is tested in Rust and end to end.
import { mockIPC } from "@tauri-apps/api/mocks";

import { RunsMock, type StoredJob } from "./runs";
import { CalendarsMock, NOT_MINE } from "./calendars";
import { DEFAULT_POLICY } from "../screens/jobForm";

import { events } from "../bindings";
import type {
  GrantInput,
  RoleView,
  BulkAction,
  JobSelectionInput,
  JobStateFilter,
  CommandError,
  ConnectionStatus,
  ProfileInput,
  ProfileView,
  BackgroundStatus,
  CalendarsInput,
  Whoami,
  JobDetail,
  JobInput,
  JobQuery,
  JobRow,
  NamedHandler,
  SchedulePreview,
  TenantChanges,
  TenantInput,
  TenantPolicyInput,
  TenantRow,
  TimelineQuery,
  AuditQuery,
} from "../bindings";

interface Options {
  /** Start with a database open (Local mode) instead of the mode picker. */
  open?: boolean;
  /** Extra generated jobs, for paging tests. */
  jobs?: number;
  /** Generated runs over the last 30 days, for the timeline's rendering measurement. */
  timelineRuns?: number;
  /** Who the database says the user is (default: SQLite's single user, an admin). */
  whoami?: Whoami;
  /** Saved connection profiles (environments). */
  profiles?: ProfileView[];
  /** Whether a systemd user session answers (default: yes). */
  systemd?: boolean;
  /** Whether the desktop has a tray (default: yes). */
  tray?: boolean;
}

interface MockControl {
  /** Saves a change to the job as "someone else", bumping its version. */
  touchJob: (name: string, schedule: string) => void;
  calls: { cmd: string; args: unknown }[];
  /** The job, as the backend would say, failed five times and Rota disabled it. */
  autoDisable: (name: string, error: string) => void;
  /** Someone else (another console, the CLI) ran the job now: its run arrives as live updates. */
  runNow: (name: string) => void;
  /** The window's close button was pressed (the app sends `close-requested`). */
  requestClose: () => void;
  /** Whether the app was asked to quit. */
  quit: boolean;
  /** Whether the app was asked to hide behind its tray icon. */
  trayed: boolean;
}

declare global {
  interface Window {
    __ROTA_MOCK_OPTIONS__?: Options;
    __rotaMock?: MockControl;
  }
}

const NAMED_HANDLERS: NamedHandler[] = [
  { name: "cleanup.tmp", kind: "command", target: "/usr/local/bin/cleanup" },
  { name: "reports.daily", kind: "http", target: "POST https://reports.internal/run" },
];

const ZONES = ["UTC", "America/Chicago", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Europe/Berlin", "Europe/London"];
const NOW = Date.parse("2026-03-20T12:00:00Z");

class Failure extends Error {
  constructor(readonly error: CommandError) {
    super(error.message);
  }
}

function fail(code: CommandError["code"], message: string, extra: Partial<CommandError> = {}): never {
  throw new Failure({ code, message, field: null, cronField: null, span: null, currentVersion: null, forbidden: null, ...extra });
}

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day-of-week", min: 0, max: 7 },
];

/** A crude five-field check that reports the first out-of-range number with its span. */
function checkExpression(expression: string): void {
  if (expression.startsWith("@")) return;
  const parts = [...expression.matchAll(/\S+/g)];
  if (parts.length !== 5) {
    fail("invalid", `schedule: expression: "${expression}" has ${parts.length} fields; allowed 5 fields`, {
      field: "schedule",
      cronField: "expression",
      span: { start: 0, end: expression.length },
    });
  }
  parts.forEach((part, index) => {
    const field = FIELDS[index];
    if (field === undefined) return;
    for (const number of part[0].matchAll(/\d+/g)) {
      const value = Number(number[0]);
      if (value < field.min || value > field.max) {
        const start = part.index + number.index;
        fail("invalid", `schedule: ${field.name} field: "${number[0]}" is out of range; allowed ${field.min}-${field.max}`, {
          field: "schedule",
          cronField: field.name,
          span: { start, end: start + number[0].length },
        });
      }
    }
  });
}

function preview(expression: string, timezone: string, viewer: string): SchedulePreview {
  checkExpression(expression);
  if (!ZONES.includes(timezone)) {
    fail("invalid", `schedule: time zone: "${timezone}" is not a time zone of the IANA database`, {
      field: "timezone",
      span: { start: 0, end: timezone.length },
    });
  }
  const hour = expression.split(/\s+/)[1];
  const dst = timezone === "Europe/Berlin" && hour === "2";
  return {
    description: `Fake description of ${expression} (${timezone})`,
    kind: "fixed_time",
    timezone,
    viewerTimezone: viewer,
    runs: Array.from({ length: 10 }, (_, index) => {
      const at = new Date(NOW + (index + 1) * 86_400_000).toISOString().replace(".000Z", "Z");
      return { at, jobZone: `${at} (${timezone})`, viewerZone: `${at} (${viewer})`, note: null, calendar: null };
    }),
    dstWarnings: dst
      ? [{ date: "2026-03-29", kind: "moved_to_transition", message: "2026-03-29: 02:30 does not exist, runs at 03:00 CEST", transitionAt: "2026-03-29T01:00:00Z" }]
      : [],
  };
}

/** The jobs table's state filter, as the core's SQL reads it. */
function matchesState(job: StoredJob, state: JobStateFilter): boolean {
  switch (state) {
    case "paused":
      return job.paused;
    case "failing":
      return job.state === "enabled" && job.failures > 0;
    default:
      return job.state === state;
  }
}

export function installMockBackend(): void {
  const options = window.__ROTA_MOCK_OPTIONS__ ?? {};
  let status: ConnectionStatus = options.open
    ? { state: "open", mode: "local", location: "/home/test/.local/share/rota/rota.sqlite", executing: true, problem: null, environment: null }
    : { state: "setup", mode: null, location: null, executing: false, problem: null, environment: null };
  const tenants: TenantRow[] = [];
  let operator = "dana";
  // Roles and grants as `rota access list` shows them (Postgres); passwords are never kept.
  let accessRoles: RoleView[] = [];
  let profiles: ProfileView[] = options.profiles ?? [];
  const jobs: StoredJob[] = [];
  let ids = 0;
  const nextId = () => `00000000-0000-7000-8000-${String(++ids).padStart(12, "0")}`;
  const runs = new RunsMock(jobs, tenants, fail);
  if (options.timelineRuns !== undefined) runs.generate(options.timelineRuns, Date.now());

  const addTenant = (input: TenantInput): TenantRow => {
    if (input.name.trim() === "") fail("invalid", 'tenant name: "" is invalid: must not be empty', { field: "name" });
    if (input.maxConcurrent < 1 || input.maxConcurrent > 100_000) {
      fail("invalid", `max_concurrent: "${input.maxConcurrent}" is invalid: allowed 1-100000`, { field: "maxConcurrent" });
    }
    checkTenantPolicy(input.policy);
    if (tenants.some((tenant) => tenant.name === input.name)) fail("already_exists", `tenant "${input.name}" already exists`, { field: "name" });
    const row: TenantRow = { id: nextId(), ...input, paused: false, jobs: 0, running: 0, queued: 0, failed24h: 0, autoDisabledJobs: 0, updatedAt: "2026-03-20T12:00:00Z" };
    tenants.push(row);
    return row;
  };
  const checkTenantPolicy = (policy: TenantPolicyInput) => {
    const limit = policy.rateLimit;
    if (limit !== null && (limit.count < 1 || limit.count > 1_000_000)) {
      fail("invalid", `rate_limit: "${limit.count}/${limit.windowSeconds}s" is invalid: the count must be 1-1000000`, { field: "policy.rateLimit" });
    }
    if (policy.defaultMaxRetries !== null && policy.defaultMaxRetries > 100) {
      fail("invalid", `default_max_retries: "${policy.defaultMaxRetries}" is invalid: allowed 0-100`, { field: "policy.defaultMaxRetries" });
    }
  };
  const row = (job: StoredJob): JobRow => ({
    id: job.id,
    tenant: job.tenant,
    name: job.input.name,
    schedule: job.input.schedule,
    timezone: job.input.timezone,
    handler: job.input.handler.type,
    state: job.state,
    disabledReason: job.disabledReason,
    consecutiveFailures: job.failures,
    paused: job.paused,
    tenantPaused: tenants.find((tenant) => tenant.name === job.tenant)?.paused === true,
    nextRunAt: "2026-03-21T02:30:00Z",
    lastRunAt: null,
    updatedAt: job.updatedAt,
  });
  const detail = (job: StoredJob): JobDetail => ({
    id: job.id,
    tenant: job.tenant,
    version: String(job.version),
    definition: structuredClone(job.input),
    state: job.state,
    disabledReason: job.disabledReason,
    consecutiveFailures: job.failures,
    nextRunAt: "2026-03-21T02:30:00Z",
    lastRunAt: null,
    createdAt: "2026-03-20T12:00:00Z",
    updatedAt: job.updatedAt,
    paused: job.paused,
    tenantPaused: tenants.find((tenant) => tenant.name === job.tenant)?.paused === true,
    lastError: job.lastError,
    onProbation: job.onProbation,
    enabledBy: job.enabledBy,
  });
  const newJob = (tenant: string, input: JobInput): StoredJob => ({
    id: nextId(), tenant, version: 1, input, updatedAt: "2026-03-20T12:00:00Z",
    state: "enabled", disabledReason: null, paused: false, lastError: null, failures: 0, onProbation: false, enabledBy: null,
  });
  const validateJob = (input: JobInput) => {
    if (input.name.trim() === "") fail("invalid", 'job name: "" is invalid: must not be empty', { field: "name" });
    checkExpression(input.schedule);
    try {
      JSON.parse(input.payload);
    } catch {
      fail("invalid", "payload: not valid JSON", { field: "payload" });
    }
    if (input.handler.type === "http" && !/^https?:\/\/./.test(input.handler.url)) {
      fail("invalid", `handler.url: "${input.handler.url}" is invalid: not a valid URL`, { field: "handler.url" });
    }
    if (input.handler.type === "command" && !input.handler.shell && /\s/.test(input.handler.program)) {
      // The core's check (CommandSpec::validate), for a plain split.
      const [program, ...args] = input.handler.program.trim().split(/\s+/);
      const argumentsText = args.length === 0 ? "" : ` with argument${args.length === 1 ? "" : "s"} ${args.map((arg) => `\`${arg}\``).join(", ")}`;
      fail("invalid", `handler.program: "${input.handler.program}" is invalid: contains spaces, so no program has that name; did you mean program \`${program ?? ""}\`${argumentsText}? (arguments go in args; turn on the shell option to run a script)`, { field: "handler.program" });
    }
    if (input.handler.type === "named" && !NAMED_HANDLERS.some((handler) => input.handler.type === "named" && handler.name === input.handler.name)) {
      fail("invalid", `handler.name: "${input.handler.name}" is invalid: no named handler with this name; define it first (rota handler set)`, { field: "handler.name" });
    }
    const policy = input.policy;
    if (policy.maxRetries !== null && policy.maxRetries > 100) {
      fail("invalid", `max_retries: "${policy.maxRetries}" is invalid: allowed 0-100`, { field: "policy.maxRetries" });
    }
    const multiplier = policy.backoffMultiplier ?? Number.NaN;
    if (policy.backoff === "exponential" && !(multiplier >= 1 && multiplier <= 10)) {
      fail("invalid", `backoff_multiplier: "${multiplier}" is invalid: allowed 1-10`, { field: "policy.backoffMultiplier" });
    }
    const jitter = policy.retryJitter ?? Number.NaN;
    if (!(jitter >= 0 && jitter <= 1)) {
      fail("invalid", `retry_jitter: "${jitter}" is invalid: allowed 0-1`, { field: "policy.retryJitter" });
    }
  };
  const seed = () => {
    addTenant({ name: "acme", maxConcurrent: 3, weight: 2, policy: { rateLimit: { count: 60, windowSeconds: 60 }, defaultMaxRetries: 2, defaultAutoDisableAfter: null } });
    addTenant({ name: "globex", maxConcurrent: 2, weight: 1, policy: { rateLimit: null, defaultMaxRetries: null, defaultAutoDisableAfter: null } });
    const base: JobInput = {
      name: "nightly-report",
      schedule: "30 2 * * *",
      timezone: "Europe/Berlin",
      handler: { type: "http", method: "POST", url: "https://reports.internal/run", headers: [] },
      payload: '{\n  "report": "daily"\n}',
      timeoutSeconds: 60,
      policy: { ...DEFAULT_POLICY, maxRetries: 2 },
    };
    const nightly = newJob("acme", base);
    jobs.push(nightly);
    // Its history: yesterday's run, and today's that failed once and succeeded on retry.
    const today = Date.now() - 3 * 3_600_000;
    runs.addRun(nightly, today - 86_400_000, "succeeded");
    runs.addRun(nightly, today, "failed", 1, {}, "connecting to reports.internal\n");
    runs.addRun(nightly, today, "succeeded", 2, { startedAt: new Date(today + 60_000).toISOString(), latenessMs: 60_000, waitedFor: "tenant_limit" });
    const flaky = newJob("globex", { ...base, name: "flaky-export", schedule: "*/3 * * * *", timezone: "UTC" });
    flaky.state = "auto_disabled";
    flaky.disabledReason = "auto";
    flaky.failures = 5;
    flaky.lastError = "HTTP 503: upstream returned 503";
    jobs.push(flaky);
    for (let index = 0; index < (options.jobs ?? 0); index++) {
      const tenant = index % 2 === 0 ? "acme" : "globex";
      jobs.push(newJob(tenant, { ...base, name: `job-${String(index).padStart(5, "0")}`, handler: index % 3 === 0 ? { type: "named", name: "reports.daily" } : base.handler }));
    }
  };
  if (options.open) seed();

  const control: MockControl = {
    calls: [],
    touchJob: (name, schedule) => {
      const job = jobs.find((candidate) => candidate.input.name === name);
      if (job === undefined) throw new Error(`no job ${name}`);
      job.input = { ...job.input, schedule };
      job.version += 1;
      job.updatedAt = "2026-03-20T12:30:00Z";
    },
    quit: false,
    trayed: false,
    requestClose: () => {
      void events.closeRequested.emit({});
    },
    runNow: (name) => {
      const job = jobs.find((candidate) => candidate.input.name === name);
      if (job === undefined) throw new Error(`no job ${name}`);
      runs.runNow(job.id, null);
    },
    autoDisable: (name, error) => {
      const job = jobs.find((candidate) => candidate.input.name === name);
      if (job === undefined) throw new Error(`no job ${name}`);
      Object.assign(job, { state: "auto_disabled", disabledReason: "auto", failures: 5, lastError: error });
      void events.consoleChanged.emit({ runs: [], reload: false, jobs: true, tenants: false, nodes: false });
    },
  };
  window.__rotaMock = control;

  // Local mode's background: the app executes until the user service is installed.
  const tray = options.tray !== false;
  let background: BackgroundStatus =
    options.systemd === false
      ? { executor: "app", holder: null, service: "unavailable", reason: "no systemd user session answers (systemctl --user)", active: null, enabled: false, tray }
      : { executor: "app", holder: null, service: "not_installed", reason: null, active: null, enabled: false, tray };
  const serviceRunning = (): BackgroundStatus => ({ executor: "elsewhere", holder: "pid 4242, node test-4242", service: "installed", reason: null, active: "active", enabled: true, tray });
  const serviceStopped = (): BackgroundStatus => ({ executor: "app", holder: null, service: "installed", reason: null, active: "inactive", enabled: true, tray });

  const calendars = new CalendarsMock(fail, () => NOW);
  const handle = (cmd: string, args: Record<string, unknown>): unknown => {
    control.calls.push({ cmd, args });
    const calendarAnswer = calendars.handle(cmd, args);
    if (calendarAnswer !== NOT_MINE) return calendarAnswer;
    switch (cmd) {
      case "open_saved_connection":
      case "connection_status":
        return status;
      case "open_local":
        if (tenants.length === 0 && args.demo === true) seed();
        status = { state: "open", mode: "local", location: "/home/test/.local/share/rota/rota.sqlite", executing: true, problem: null, environment: null };
        return status;
      case "connect_postgres": {
        const request = args.request as { url: string; executeJobs: boolean };
        if (!request.url.startsWith("postgres://")) fail("invalid", "not a Postgres URL; allowed: postgres://, postgresql://", { field: "url" });
        status = { state: "open", mode: "connected", location: request.url, executing: request.executeJobs, problem: null, environment: null };
        return status;
      }
      case "set_execution":
        status = { ...status, executing: args.enabled === true };
        return status;
      case "switch_mode":
        status = { state: "setup", mode: null, location: null, executing: false, problem: null, environment: null };
        return status;
      case "list_tenants":
        return tenants.map((tenant) => ({
          ...tenant,
          jobs: jobs.filter((job) => job.tenant === tenant.name).length,
          autoDisabledJobs: jobs.filter((job) => job.tenant === tenant.name && job.state === "auto_disabled").length,
        }));
      case "create_tenant":
        return addTenant(args.input as TenantInput);
      case "update_tenant": {
        const tenant = tenants.find((candidate) => candidate.name === args.name);
        if (tenant === undefined) fail("not_found", `tenant "${String(args.name)}" does not exist`);
        const changes = args.changes as TenantChanges;
        if (changes.maxConcurrent !== null && (changes.maxConcurrent < 1 || changes.maxConcurrent > 100_000)) {
          fail("invalid", `max_concurrent: "${changes.maxConcurrent}" is invalid: allowed 1-100000`, { field: "maxConcurrent" });
        }
        if (changes.policy !== null) checkTenantPolicy(changes.policy);
        tenant.maxConcurrent = changes.maxConcurrent ?? tenant.maxConcurrent;
        tenant.policy = changes.policy ?? tenant.policy;
        tenant.weight = changes.weight ?? tenant.weight;
        tenant.paused = changes.paused ?? tenant.paused;
        return tenant;
      }
      case "list_jobs": {
        const query = args.query as JobQuery;
        const search = query.search?.toLowerCase() ?? "";
        let rows = jobs
          .filter((job) => query.tenant === null || job.tenant === query.tenant)
          .filter((job) => query.handler === null || job.input.handler.type === query.handler)
          .filter((job) => query.state === null || matchesState(job, query.state))
          .filter((job) => search === "" || job.input.name.includes(search) || job.tenant.includes(search))
          .map(row);
        const key = query.sort === "tenant" ? "tenant" : "name";
        rows = rows.sort((a, b) => a[key].localeCompare(b[key]) || a.name.localeCompare(b.name));
        if (query.descending) rows.reverse();
        // The cursor is opaque to the UI; here it is the next row's index.
        const start = query.cursor === null ? 0 : Number(query.cursor);
        const end = start + query.limit;
        return { rows: rows.slice(start, end), total: rows.length, nextCursor: end < rows.length ? String(end) : null };
      }
      case "bulk_jobs": {
        // As the core: every selected job not in that state already, one audit entry each;
        // all or nothing (a role without operate somewhere is refused before any change).
        const selection = args.selection as JobSelectionInput;
        const action = args.action as BulkAction;
        const selected = selection.type === "ids"
          ? jobs.filter((job) => selection.ids.includes(job.id))
          : jobs
            .filter((job) => selection.filters.tenant === null || job.tenant === selection.filters.tenant)
            .filter((job) => selection.filters.handler === null || job.input.handler.type === selection.filters.handler)
            .filter((job) => selection.filters.state === null || matchesState(job, selection.filters.state))
            .filter((job) => { const search = selection.filters.search?.toLowerCase() ?? ""; return search === "" || job.input.name.includes(search) || job.tenant.includes(search); });
        const changes = selected.filter((job) =>
          action === "pause" ? !job.paused : action === "resume" ? job.paused : action === "enable" ? job.state !== "enabled" : job.state === "enabled");
        for (const job of changes) {
          const denied = options.whoami !== undefined && !options.whoami.admin && !options.whoami.grants.some((grant) => grant.tenant === job.tenant && grant.capability !== "view");
          if (denied) fail("forbidden", `not allowed: operate on tenant ${job.tenant}`, { forbidden: { capability: "operate", tenant: job.tenant } });
        }
        for (const job of changes) {
          if (action === "pause" || action === "resume") job.paused = action === "pause";
          else Object.assign(job, action === "enable"
            ? { state: "enabled", disabledReason: null, failures: 0, enabledBy: operator }
            : { state: "disabled", disabledReason: `disabled by ${operator}` });
          job.version += 1;
        }
        return { action, selected: selected.length, changed: changes.length };
      }
      case "get_job": {
        const job = jobs.find((candidate) => candidate.id === args.id);
        if (job === undefined) fail("not_found", `job "${String(args.id)}" does not exist`);
        return detail(job);
      }
      case "create_job": {
        const input = args.input as JobInput;
        validateJob(input);
        if (!tenants.some((tenant) => tenant.name === args.tenant)) fail("not_found", `tenant "${String(args.tenant)}" does not exist`, { field: "tenant" });
        const job = newJob(String(args.tenant), input);
        jobs.push(job);
        return detail(job);
      }
      case "update_job": {
        const job = jobs.find((candidate) => candidate.id === args.id);
        if (job === undefined) fail("not_found", `job "${String(args.id)}" does not exist`);
        if (String(job.version) !== args.expectedVersion) {
          fail("stale_version", `job "${job.input.name}" was changed by someone else (you edited version ${String(args.expectedVersion)}, it is now version ${job.version}); reload it and apply your change again`, {
            currentVersion: String(job.version),
          });
        }
        const input = args.input as JobInput;
        validateJob(input);
        job.input = input;
        job.version += 1;
        return detail(job);
      }
      case "preview_schedule": {
        const answer = preview(String(args.expression), String(args.timezone), String(args.viewerTimezone));
        const tenant = typeof args.tenant === "string" ? args.tenant : null;
        const chosen = (args.calendars as CalendarsInput | null | undefined) ?? null;
        return { ...answer, runs: calendars.markRuns(tenant, chosen, answer.runs) };
      }
      case "list_time_zones":
        return ZONES;
      case "list_job_runs":
        return runs.listJobRuns(String(args.jobId), Number(args.limit));
      case "get_occurrence":
        return runs.occurrence(String(args.runId));
      case "test_run": {
        const input = args.input as JobInput;
        validateJob(input);
        const editing = typeof args.jobId === "string" ? jobs.find((candidate) => candidate.id === args.jobId) : undefined;
        const tenant = editing?.tenant ?? String(args.tenant);
        if (!tenants.some((row) => row.name === tenant)) fail("not_found", `tenant "${tenant}" does not exist`, { field: "tenant" });
        return runs.testRun(tenant, input);
      }
      case "get_run":
        return runs.getRun(String(args.runId));
      case "run_job_now":
        return runs.runNow(String(args.jobId), typeof args.payload === "string" ? args.payload : null);
      case "timeline":
        return runs.timeline(args.query as TimelineQuery);
      case "list_auto_disabled":
        return runs.autoDisabled();
      case "operator_name":
        return operator;
      case "set_operator_name": {
        const name = typeof args.name === "string" ? args.name : null;
        if (name !== null && name.trim() !== name) fail("invalid", `operator: "${name}" is invalid: must not start or end with whitespace`, { field: "operator" });
        operator = name ?? "dana";
        return operator;
      }
      case "list_named_handlers":
        return NAMED_HANDLERS;
      case "pause_job":
      case "resume_job":
      case "enable_job":
      case "disable_job":
        return detail(runs.operate(String(args.id), cmd, args));
      case "preview_backfill":
        return runs.previewBackfill(String(args.from), String(args.to));
      case "backfill_default_range":
        return runs.backfillDefaultRange();
      case "backfill_job": {
        const preview = runs.previewBackfill(String(args.from), String(args.to));
        return { occurrences: preview.occurrences, queued: preview.occurrences, alreadyPresent: 0 };
      }
      case "overview":
        return runs.overview(detail);
      case "list_audit":
        return runs.listAudit(args.query as AuditQuery);
      case "list_profiles":
        return profiles.map((profile) => ({ ...profile, active: status.environment?.name === profile.name }));
      case "save_profile": {
        const input = args.input as ProfileInput;
        if (input.name.trim() === "") fail("invalid", `"" is not a profile name; allowed: 1 to 40 characters, no control characters`, { field: "name" });
        if (!/^#[0-9a-f]{6}$/i.test(input.colour)) fail("invalid", `"${input.colour}" is not a colour; allowed: #rrggbb`, { field: "colour" });
        if (!input.url.startsWith("postgres://")) fail("invalid", "not a Postgres URL; allowed: postgres://, postgresql://", { field: "url" });
        const saved = { name: input.name.trim(), url: input.url.replace(/:[^:@/]*@/, "@"), colour: input.colour, production: input.production, active: false };
        profiles = [...profiles.filter((profile) => profile.name !== saved.name), saved];
        return handle("list_profiles", {});
      }
      case "delete_profile":
        profiles = profiles.filter((profile) => profile.name !== args.name);
        return handle("list_profiles", {});
      case "open_profile": {
        const profile = profiles.find((candidate) => candidate.name === args.name);
        if (profile === undefined) fail("not_found", `profile "${String(args.name)}" does not exist`);
        status = { state: "open", mode: "connected", location: profile.url, executing: false, problem: null, environment: { name: profile.name, colour: profile.colour, production: profile.production } };
        return status;
      }
      case "background_status":
        return background;
      case "run_in_background":
        if (background.service === "unavailable") fail("settings", "no systemd user session answers (systemctl --user)");
        background = serviceRunning();
        return background;
      case "stop_service":
        background = serviceStopped();
        return background;
      case "restart_service":
        background = serviceRunning();
        return background;
      case "remove_service":
        background = { executor: "app", holder: null, service: "not_installed", reason: null, active: null, enabled: false, tray };
        return background;
      case "keep_in_tray":
        control.trayed = true;
        return null;
      case "quit_app":
        control.quit = true;
        return null;
      case "list_access":
        return accessRoles;
      case "grant_access": {
        const input = args.input as GrantInput;
        if (input.role.trim() === "") fail("invalid", 'role: "" is invalid: must not be empty', { field: "role" });
        if (input.capability !== "admin" && input.tenants.length === 0) fail("invalid", 'tenant: "(none)" is invalid: name at least one tenant (--tenant T) for view, operate or edit', { field: "tenant" });
        const existing = accessRoles.find((entry) => entry.role === input.role);
        const entry: RoleView = existing ?? { role: input.role, login: true, admin: false, grants: [] };
        if (input.capability === "admin") entry.admin = true;
        for (const tenant of input.tenants) {
          entry.grants = [...entry.grants.filter((grant) => grant.tenant !== tenant), { tenant, capability: input.capability }];
        }
        if (existing === undefined) accessRoles = [...accessRoles, entry];
        return accessRoles;
      }
      case "revoke_access": {
        const role = String(args.role);
        const tenant = typeof args.tenant === "string" ? args.tenant : null;
        accessRoles = accessRoles.map((entry) => entry.role !== role ? entry : { ...entry, admin: tenant === null ? false : entry.admin, grants: entry.grants.filter((grant) => tenant !== null && grant.tenant !== tenant) });
        return accessRoles;
      }
      case "whoami":
        return options.whoami ?? { role: operator, admin: true, grants: [], singleUser: true };
      default:
        throw new Error(`the mock backend has no command ${cmd}`);
    }
  };

  mockIPC(
    (cmd, args) => {
      try {
        return Promise.resolve(handle(cmd, (args ?? {}) as Record<string, unknown>));
      } catch (thrown) {
        // Commands reject with their typed error, as the real IPC does.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the real IPC rejects with the plain error object
        return Promise.reject(thrown instanceof Failure ? thrown.error : thrown);
      }
    },
    // The live updates (`console-changed`) are emitted by the fake engine in src/mock/runs.ts.
    { shouldMockEvents: true },
  );
}
