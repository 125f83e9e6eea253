/**
 * The contract between check types (http, tcp, tls, command, dns: one folder each, in a typed
 * registry) and the scheduler that runs them. A check type turns its options into a `Probe`; the
 * generic runner (`runCheck`) times the probe, bounds it by its deadline and evaluates the check's
 * conditions over the fields the probe reported.
 */
import type { z } from "zod";

/** A value a probe reports and a condition reads: `status` 200, `response_time` 12 (ms), `body.json.status` "ok". */
export type FieldValue = string | number | boolean | null;

/**
 * How a condition reads a field: numbers compare with numbers, durations with `300ms` / `14d`, strings with quoted strings.
 * `json` is a value of whatever JSON type the document holds there (the `body.json.` paths): a condition compares it with
 * a literal of the same type, and fails on any other.
 */
export type FieldKind = "number" | "duration" | "string" | "boolean" | "json";

/** What one probe saw, before the conditions are judged. */
export interface ProbeOutcome {
  /** Fields by name, e.g. `status`, `body`, `cert_expires` (ms left), `exit_code`, `connected`. `response_time` is added by the runner. */
  fields: Record<string, FieldValue>;
  /** Why the probe could not complete (refused, reset, TLS handshake failed, DNS error), short and free of secrets. Conditions are not judged then. */
  error?: string;
}

/** One configured probe, ready to run again and again. */
export interface Probe {
  /** Where it goes, for per-target concurrency caps: `host:port`, or `local` for a command. */
  readonly target: string;
  /** Probes once. Never rejects: a failure is an outcome with `error`. `signal` aborts at the check's deadline. */
  run(signal: AbortSignal): Promise<ProbeOutcome>;
  /** Frees what the probe holds (connection pools, agents). */
  close?(): void;
}

/** A check type: its options' schema, the fields its conditions may read, and how it makes a probe. */
export interface CheckType<Options = unknown> {
  /** A strict zod schema of the type's own options (url, method, host, port…); unknown keys are errors. */
  readonly options: z.ZodType<Options>;
  /** The fields its probes report, with their kinds: a condition on another field is a config error. Prefix fields (like `body.json.`) end in a dot. */
  readonly fields: Readonly<Record<string, FieldKind>>;
  /** Conditions applied when the check declares none, e.g. http: `status < 400`. */
  readonly defaultConditions: readonly string[];
  /** Refuses a prefix field its probes could never report (a JSON path that does not parse): the problem, or undefined. */
  checkField?(field: string): string | undefined;
  /** Makes the probe of one check. It opens nothing yet: a probe connects when it runs. */
  create(options: Options, context: ProbeContext): Probe;
}

/** What a type's `create` may need besides its options. */
export interface ProbeContext {
  /** The fields the check's conditions read, as written (`status`, `body.json.items[0].id`, `header.content-type`): a probe computes prefix fields for these only, and reads a body only when one needs it. */
  readonly reads: readonly string[];
  /** The check's timeout, ms (the runner enforces it; a type may also hand it to its client, as dns does). */
  readonly timeoutMs: number;
  /** The folder relative paths (a command's `cwd`) start in. */
  readonly dir: string;
}

/** One condition, parsed: `field op value`, kept with its source text for messages. */
export interface Condition {
  readonly source: string;
  evaluate(fields: Readonly<Record<string, FieldValue>>): boolean;
}

/** A check as the scheduler runs it: parsed, validated, with its probe made. */
export interface CheckDefinition {
  /** Declared names follow the config's name rule; derived ones (a service's own) hold dots: `web.health.production`. */
  readonly name: string;
  readonly type: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Failures in a row before the check is down (default 3). */
  readonly failureThreshold: number;
  /** Passes in a row before a down check is up again (default 2). */
  readonly recoveryThreshold: number;
  /** Labels carried into results and alerts, e.g. service, environment, severity. */
  readonly labels: Readonly<Record<string, string>>;
  readonly conditions: readonly Condition[];
  /** Conditions a passing run may fail and still pass, marked `degraded` (`degraded_conditions`; default none). */
  readonly degradedConditions?: readonly Condition[];
  readonly probe: Probe;
  /** True for the checks every service gets without writing them. */
  readonly derived: boolean;
}

/** What one run of a check found. */
export interface CheckResult {
  check: string;
  /** The probe completed and every condition held. */
  ok: boolean;
  /** When the run started, epoch ms. */
  startedAt: number;
  /** The probe's duration (the `response_time` field), ms. */
  durationMs: number;
  fields: Readonly<Record<string, FieldValue>>;
  /** The conditions that did not hold, as written. */
  failed: readonly string[];
  /** Why it failed, short and free of secrets; absent when ok, unless degraded (then the degraded conditions that failed). */
  error?: string;
  /** It passed, but a degraded condition did not hold (those are in `error`, not in `failed`). */
  degraded?: boolean;
}
