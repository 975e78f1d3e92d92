// The run half of the mock backend (`--mode mock`): runs of the seeded jobs, run details,
// "run now" followed by a fake engine that emits live updates, the auto-disabled list and its
// operations, the overview, and a timeline that can hold 50,000 generated runs (for the
// rendering measurement). A stand-in for screens only; the real queries are tested in Rust.
import { events } from "../bindings";
import type {
  AuditQuery,
  AuditRow,
  BackfillPreview,
  DisabledJob,
  JobDetail,
  JobInput,
  JobState,
  OccurrenceDetail,
  OverviewData,
  RunAttempt,
  RunChange,
  RunRow,
  RunStatus,
  TenantRow,
  TimelineData,
  TimelineQuery,
} from "../bindings";

/** A job as the mock keeps it (shared with backend.ts). */
export interface StoredJob {
  id: string;
  tenant: string;
  version: number;
  input: JobInput;
  updatedAt: string;
  state: JobState;
  disabledReason: string | null;
  paused: boolean;
  lastError: string | null;
  failures: number;
  onProbation: boolean;
  enabledBy: string | null;
}

/** A run of a saved job (a test run has no job: `tests` keeps those). */
type JobRunRow = RunRow & { jobId: string };

interface MockRun {
  row: JobRunRow;
  output: string | null;
  error: string | null;
  payloadOverride: string | null;
}

type Fail = (code: "invalid" | "not_found", message: string, extra?: { field: string }) => never;

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const FINAL = (status: RunStatus) => status !== "queued" && status !== "running";

export class RunsMock {
  readonly runs: MockRun[] = [];
  /** The job editor's test runs, by id: no job's history, so not in `runs`. */
  readonly tests = new Map<string, RunAttempt>();
  readonly audit: AuditRow[] = [];
  /** Generated runs for the timeline only: columns, as the backend sends them. */
  private generated: { lanes: { jobId: string; job: string; tenant: string }[]; lane: number[]; begin: number[]; end: number[]; status: RunStatus[]; ids: string[] } | null = null;
  private counter = 0;

  constructor(
    private readonly jobs: StoredJob[],
    private readonly tenants: TenantRow[],
    private readonly fail: Fail,
    /** Runs of the fake engine take this long per step (ms). */
    private readonly step = 250,
  ) {}

  private id(): string {
    return `00000000-0000-7000-9000-${String(++this.counter).padStart(12, "0")}`;
  }

  private job(id: string): StoredJob {
    const job = this.jobs.find((candidate) => candidate.id === id);
    if (job === undefined) return this.fail("not_found", `job "${id}" does not exist`);
    return job;
  }

  /** A finished run of `job` scheduled at `scheduledMs`. */
  addRun(job: StoredJob, scheduledMs: number, status: RunStatus, attempt = 1, extra: Partial<JobRunRow> = {}, output = "report built\n"): MockRun {
    const started = scheduledMs + 1_200;
    const finished = started + 3_400;
    const run: MockRun = {
      row: {
        id: this.id(),
        jobId: job.id,
        job: job.input.name,
        tenant: job.tenant,
        scheduledAt: iso(scheduledMs),
        trigger: attempt > 1 ? "retry" : "schedule",
        attempt,
        status,
        queuedAt: iso(scheduledMs),
        notBefore: iso(scheduledMs),
        startedAt: iso(started),
        finishedAt: iso(finished),
        durationMs: finished - started,
        latenessMs: started - scheduledMs,
        node: "node-a (rota serve)",
        exitCode: status === "succeeded" ? 0 : 3,
        httpStatus: null,
        reason: null,
        waitedFor: null,
        errorSummary: status === "succeeded" ? null : "exit status 3",
        ...extra,
      },
      output,
      error: status === "succeeded" ? null : "exit status 3",
      payloadOverride: null,
    };
    this.runs.push(run);
    return run;
  }

  /** `count` runs over the 28 days before now in 60 lanes, for the timeline's measurement. */
  generate(count: number, nowMs: number): void {
    const lanes = Array.from({ length: 60 }, (_, index) => ({ jobId: `gen-${index}`, job: `job-${String(index).padStart(2, "0")}`, tenant: `tenant-${index % 6}` }));
    const spanMs = 28 * 86_400_000;
    const generated = { lanes, lane: [] as number[], begin: [] as number[], end: [] as number[], status: [] as RunStatus[], ids: [] as string[] };
    const statuses: RunStatus[] = ["succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "succeeded", "failed", "timed_out", "skipped", "missed", "lost"];
    for (let index = 0; index < count; index++) {
      const begin = nowMs - spanMs + (index / count) * spanMs;
      generated.lane.push(index % lanes.length);
      generated.begin.push(begin);
      generated.end.push(begin + 20_000 + (index % 17) * 9_000);
      generated.status.push(statuses[index % statuses.length] ?? "succeeded");
      generated.ids.push(`gen-run-${index}`);
    }
    this.generated = generated;
  }

  private change(run: MockRun): RunChange {
    const begin = Date.parse(run.row.startedAt ?? run.row.notBefore);
    return {
      id: run.row.id,
      jobId: run.row.jobId,
      job: run.row.job,
      tenant: run.row.tenant,
      scheduledAt: run.row.scheduledAt,
      trigger: run.row.trigger,
      attempt: run.row.attempt,
      status: run.row.status,
      startedAt: run.row.startedAt,
      finishedAt: run.row.finishedAt,
      beginMs: begin,
      endMs: run.row.finishedAt === null ? Date.now() : Date.parse(run.row.finishedAt),
    };
  }

  private emit(run: MockRun): void {
    void events.consoleChanged.emit({ runs: [this.change(run)], reload: false, jobs: false, tenants: false, nodes: false });
  }

  private record(job: StoredJob, action: string, operator: string, before: unknown, after: unknown): void {
    this.audit.unshift({
      id: this.id(), at: iso(Date.now()), operator, action, tenant: job.tenant, job: job.input.name, handler: null,
      before: before === null ? null : JSON.stringify(before), after: after === null ? null : JSON.stringify(after),
    });
  }

  listAudit(query: AuditQuery): AuditRow[] {
    return this.audit
      .filter((entry) => (query.tenant === null || entry.tenant === query.tenant) && (query.job === null || entry.job === query.job))
      .filter((entry) => query.since === null || entry.at >= query.since)
      .slice(0, query.limit);
  }

  runNow(jobId: string, payload: string | null): RunRow {
    const job = this.job(jobId);
    if (payload !== null) {
      try {
        JSON.parse(payload);
      } catch {
        this.fail("invalid", "payload: not valid JSON", { field: "payload" });
      }
    }
    const now = Date.now();
    const run: MockRun = {
      row: {
        id: this.id(), jobId, job: job.input.name, tenant: job.tenant, scheduledAt: iso(now), trigger: "manual", attempt: 1, status: "queued",
        queuedAt: iso(now), notBefore: iso(now), startedAt: null, finishedAt: null, durationMs: null, latenessMs: null, node: null,
        exitCode: null, httpStatus: null, reason: null, waitedFor: null, errorSummary: null,
      },
      output: null,
      error: null,
      payloadOverride: payload,
    };
    this.runs.push(run);
    this.record(job, "job.triggered", "dana", null, payload === null ? null : { payload: JSON.parse(payload) as unknown });
    // The fake engine: starts it, then finishes it, announcing each step as the backend does.
    setTimeout(() => {
      const started = Date.now();
      run.row = { ...run.row, status: "running", startedAt: iso(started), latenessMs: started - now, node: "console-1234" };
      this.emit(run);
      setTimeout(() => {
        const finished = Date.now();
        run.row = { ...run.row, status: "succeeded", finishedAt: iso(finished), durationMs: finished - started, exitCode: 0 };
        run.output = `received ${payload ?? job.input.payload}\n`;
        this.emit(run);
      }, this.step);
    }, this.step);
    return run.row;
  }

  /** The editor's test run of `input` (validated by the caller): queued, then run by the fake
   * engine. A command whose program is `/bin/false` fails with exit status 1; anything else
   * succeeds and prints what it ran. */
  testRun(tenant: string, input: JobInput): RunAttempt {
    const now = Date.now();
    const id = this.id();
    let attempt: RunAttempt = {
      run: {
        id, jobId: null, job: input.name, tenant, scheduledAt: iso(now), trigger: "test", attempt: 1, status: "queued",
        queuedAt: iso(now), notBefore: iso(now), startedAt: null, finishedAt: null, durationMs: null, latenessMs: null, node: null,
        exitCode: null, httpStatus: null, reason: null, waitedFor: null, errorSummary: null,
      },
      output: null,
      error: null,
      payloadOverride: input.payload,
      leaseExpiresAt: null,
      cancelRequested: false,
    };
    this.tests.set(id, attempt);
    this.audit.unshift({
      id: this.id(), at: iso(now), operator: "dana", action: "job.triggered", tenant, job: input.name, handler: null,
      before: null, after: JSON.stringify({ run_id: id, trigger: "test" }),
    });
    const handler = input.handler;
    const failing = handler.type === "command" && handler.program === "/bin/false";
    const ran = handler.type === "command" ? [handler.program, ...handler.args].join(" ") : handler.type === "http" ? `${handler.method} ${handler.url}` : handler.name;
    setTimeout(() => {
      const started = Date.now();
      attempt = { ...attempt, run: { ...attempt.run, status: "running", startedAt: iso(started), latenessMs: started - now, node: "console-1234" } };
      this.tests.set(id, attempt);
      setTimeout(() => {
        const finished = Date.now();
        attempt = {
          ...attempt,
          run: {
            ...attempt.run, status: failing ? "failed" : "succeeded", finishedAt: iso(finished), durationMs: finished - started,
            exitCode: failing ? 1 : 0, errorSummary: failing ? "exit status 1" : null,
          },
          output: failing ? "" : `test run of ${input.name}: ${ran}\n`,
          error: failing ? "exit status 1" : null,
        };
        this.tests.set(id, attempt);
      }, this.step);
    }, this.step);
    return attempt;
  }

  /** One run by id: a test run, or a run of a job. */
  getRun(runId: string): RunAttempt {
    const test = this.tests.get(runId);
    if (test !== undefined) return test;
    const run = this.runs.find((candidate) => candidate.row.id === runId);
    if (run === undefined) return this.fail("not_found", `run "${runId}" does not exist`);
    return { run: run.row, output: run.output, error: run.error, payloadOverride: run.payloadOverride, leaseExpiresAt: null, cancelRequested: false };
  }

  listJobRuns(jobId: string, limit: number): RunRow[] {
    if (limit < 1 || limit > 1000) this.fail("invalid", `limit: "${limit}" is invalid: allowed 1-1000`, { field: "limit" });
    return this.runs
      .filter((run) => run.row.jobId === jobId)
      .sort((a, b) => b.row.scheduledAt.localeCompare(a.row.scheduledAt) || b.row.attempt - a.row.attempt)
      .slice(0, limit)
      .map((run) => run.row);
  }

  occurrence(runId: string): OccurrenceDetail {
    const run = this.runs.find((candidate) => candidate.row.id === runId);
    if (run === undefined) return this.fail("not_found", `run "${runId}" does not exist`);
    const job = this.job(run.row.jobId);
    const attempts = this.runs.filter((candidate) => candidate.row.jobId === run.row.jobId && candidate.row.scheduledAt === run.row.scheduledAt).sort((a, b) => a.row.attempt - b.row.attempt);
    return {
      jobId: job.id,
      job: job.input.name,
      tenant: job.tenant,
      scheduledAt: run.row.scheduledAt,
      idempotencyKey: `${job.id}:${run.row.scheduledAt}`,
      jobPayload: job.input.payload,
      attempts: attempts.map((attempt) => ({ run: attempt.row, output: attempt.output, error: attempt.error, payloadOverride: attempt.payloadOverride, leaseExpiresAt: null, cancelRequested: false })),
    };
  }

  disabledJob(job: StoredJob): DisabledJob {
    return { id: job.id, tenant: job.tenant, name: job.input.name, schedule: job.input.schedule, timezone: job.input.timezone, lastError: job.lastError, consecutiveFailures: job.failures, onProbation: job.onProbation, enabledBy: job.enabledBy, disabledAt: job.updatedAt };
  }

  autoDisabled(): DisabledJob[] {
    return this.jobs.filter((job) => job.state === "auto_disabled").map((job) => this.disabledJob(job));
  }

  /** Pause, resume, enable, disable: the job changes; the caller returns its detail. */
  operate(jobId: string, action: string, args: Record<string, unknown>): StoredJob {
    const job = this.job(jobId);
    const operator = typeof args.operator === "string" ? args.operator : "";
    if ((action === "enable_job" || action === "disable_job") && operator.trim() === "") {
      this.fail("invalid", 'operator: "" is invalid: must not be empty', { field: "operator" });
    }
    job.updatedAt = iso(Date.now());
    const before = { state: job.state, paused: job.paused, consecutive_failures: job.failures, enabled_by: job.enabledBy };
    switch (action) {
      case "pause_job":
        job.paused = true;
        break;
      case "resume_job":
        job.paused = false;
        break;
      case "enable_job":
        job.state = "enabled";
        job.disabledReason = null;
        job.failures = 0;
        job.enabledBy = operator;
        job.onProbation = args.probation === true;
        break;
      case "disable_job":
        job.state = "disabled";
        job.disabledReason = typeof args.reason === "string" && args.reason !== "" ? `${args.reason} (by ${operator})` : `disabled by ${operator}`;
        break;
    }
    const after = { state: job.state, paused: job.paused, consecutive_failures: job.failures, enabled_by: job.enabledBy };
    const names: Record<string, string> = { pause_job: "job.paused", resume_job: "job.resumed", enable_job: "job.enabled", disable_job: "job.disabled" };
    this.record(job, names[action] ?? action, operator === "" ? "dana" : operator, before, after);
    return job;
  }

  /** The last ten hourly occurrences, like the core's for an hourly job. */
  backfillDefaultRange(): { from: string; to: string } {
    const to = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    return { from: iso(to - 9 * 3_600_000), to: iso(to) };
  }

  previewBackfill(from: string, to: string): BackfillPreview {
    const start = Date.parse(from);
    const end = Date.parse(to);
    if (Number.isNaN(start) || Number.isNaN(end) || start >= end) this.fail("invalid", "from: must be before `to`", { field: "from" });
    if (end > Date.now()) this.fail("invalid", "to: must not be in the future: a backfill covers past occurrences", { field: "to" });
    // The mock's jobs run hourly for the purpose of counting.
    const first = Math.ceil(start / 3_600_000) * 3_600_000;
    const occurrences: string[] = [];
    for (let at = first; at <= end && occurrences.length <= 1000; at += 3_600_000) occurrences.push(iso(at));
    return { occurrences: occurrences.length, first: occurrences.slice(0, 5), last: occurrences.at(-1) ?? null };
  }

  /** Whether a job runs on its schedule: enabled, not paused, its tenant not paused (the
   * core's `jobs_due_before`). */
  runsOnSchedule(job: StoredJob): boolean {
    return job.state === "enabled" && !job.paused && this.tenants.find((tenant) => tenant.name === job.tenant)?.paused !== true;
  }

  timeline(query: TimelineQuery): TimelineData {
    const from = Date.parse(query.from);
    const to = Date.parse(query.to);
    if (Number.isNaN(from) || Number.isNaN(to) || from >= to) this.fail("invalid", "from: must be before `to`", { field: "from" });
    const now = Date.now();
    const lanes: { jobId: string; job: string; tenant: string }[] = [];
    const laneOf = new Map<string, number>();
    const lane = (jobId: string, job: string, tenant: string) => {
      let index = laneOf.get(jobId);
      if (index === undefined) {
        index = lanes.length;
        laneOf.set(jobId, index);
        lanes.push({ jobId, job, tenant });
      }
      return index;
    };
    const spans = { ids: [] as string[], lane: [] as number[], beginMs: [] as (number | null)[], endMs: [] as (number | null)[], status: [] as RunStatus[], scheduledMs: [] as (number | null)[], startedMs: [] as (number | null)[] };
    const wanted = (jobId: string, tenant: string) => (query.tenant === null || query.tenant === tenant) && (query.jobId === null || query.jobId === jobId);
    for (const run of this.runs) {
      const begin = Date.parse(run.row.startedAt ?? run.row.notBefore);
      const end = run.row.finishedAt === null ? (FINAL(run.row.status) ? begin : now) : Date.parse(run.row.finishedAt);
      if (end < from || begin >= to || !wanted(run.row.jobId, run.row.tenant)) continue;
      spans.ids.push(run.row.id);
      spans.lane.push(lane(run.row.jobId, run.row.job, run.row.tenant));
      spans.beginMs.push(begin);
      spans.endMs.push(end);
      spans.status.push(run.row.status);
      spans.scheduledMs.push(Date.parse(run.row.scheduledAt));
      spans.startedMs.push(run.row.startedAt === null ? null : Date.parse(run.row.startedAt));
    }
    const generated = this.generated;
    if (generated !== null) {
      for (let index = 0; index < generated.ids.length && spans.ids.length < query.limit; index++) {
        const begin = generated.begin[index] ?? 0;
        const end = generated.end[index] ?? 0;
        const laneInfo = generated.lanes[generated.lane[index] ?? 0];
        if (laneInfo === undefined || end < from || begin >= to || !wanted(laneInfo.jobId, laneInfo.tenant)) continue;
        spans.ids.push(generated.ids[index] ?? "");
        spans.lane.push(lane(laneInfo.jobId, laneInfo.job, laneInfo.tenant));
        spans.beginMs.push(begin);
        spans.endMs.push(end);
        spans.status.push(generated.status[index] ?? "succeeded");
        spans.scheduledMs.push(begin - 1_000);
        spans.startedMs.push(begin);
      }
    }
    // Ghosts: every enabled job runs hourly in the mock.
    const ghosts = { lane: [] as number[], atMs: [] as (number | null)[], expectedMs: [] as (number | null)[] };
    for (const job of this.jobs.filter((candidate) => this.runsOnSchedule(candidate) && wanted(candidate.id, candidate.tenant))) {
      for (let at = Math.ceil(Math.max(from, now) / 3_600_000) * 3_600_000; at < to; at += 3_600_000) {
        ghosts.lane.push(lane(job.id, job.input.name, job.tenant));
        ghosts.atMs.push(at);
        ghosts.expectedMs.push(4_000);
      }
    }
    return { fromMs: from, toMs: to, nowMs: now, lanes, spans, truncated: false, ghosts, ghostsTruncated: false };
  }

  overview(detail: (job: StoredJob) => JobDetail): OverviewData {
    const now = Date.now();
    const bucketMs = 900_000;
    const fromMs = Math.floor((now - 86_400_000) / bucketMs) * bucketMs;
    const started = this.runs.filter((run) => run.row.startedAt !== null && Date.parse(run.row.startedAt) >= fromMs);
    const buckets = new Map<number, { started: number; failed: number; late: number[] }>();
    for (const run of started) {
      const key = Math.floor((Date.parse(run.row.startedAt ?? "") - fromMs) / bucketMs) * bucketMs + fromMs;
      const bucket = buckets.get(key) ?? { started: 0, failed: 0, late: [] };
      bucket.started += 1;
      if (run.row.status === "failed") bucket.failed += 1;
      if (run.row.latenessMs !== null) bucket.late.push(run.row.latenessMs);
      buckets.set(key, bucket);
    }
    const keys = [...buckets.keys()].sort((a, b) => a - b);
    const enabled = this.jobs.filter((job) => this.runsOnSchedule(job));
    return {
      now: iso(now),
      tenants: this.tenants.map((tenant) => ({ ...tenant, autoDisabledJobs: this.jobs.filter((job) => job.tenant === tenant.name && job.state === "auto_disabled").length })),
      running: this.runs.filter((run) => run.row.status === "running").map((run) => run.row),
      recentFailures: this.runs.filter((run) => run.row.status === "failed").map((run) => run.row).slice(0, 10),
      autoDisabled: this.autoDisabled(),
      nextRuns: enabled.map((job) => ({ jobId: job.id, job: job.input.name, tenant: job.tenant, schedule: job.input.schedule, timezone: job.input.timezone, at: detail(job).nextRunAt ?? iso(now) })),
      nodes: [{ id: "console-1234", host: "laptop", pid: 1234, version: "0.1.0", workers: 4, startedAt: iso(now - 3_600_000), heartbeatAt: iso(now - 4_000), stoppedAt: null, running: 0, condition: "healthy", problems: [] }],
      fromMs,
      nowMs: now,
      bucketMs,
      throughput: {
        startMs: keys,
        started: keys.map((key) => buckets.get(key)?.started ?? 0),
        failed: keys.map((key) => buckets.get(key)?.failed ?? 0),
        lateAvgMs: keys.map((key) => {
          const late = buckets.get(key)?.late ?? [];
          return late.length === 0 ? null : late.reduce((sum, value) => sum + value, 0) / late.length;
        }),
        lateMaxMs: keys.map((key) => Math.max(0, ...(buckets.get(key)?.late ?? [0]))),
      },
    };
  }
}
