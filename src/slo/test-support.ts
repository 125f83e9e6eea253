/** Helpers for the SLO tests: a real SQLite store on a ManualClock, traffic fed through the recorder, and a sink that records signals. */
import type { AlertSignal, AlertSink } from "../alert/index.js";
import { ManualClock } from "../core/index.js";
import type { MetricsBucket } from "../metrics/index.js";
import { SqliteStore } from "../store/index.js";
import { parseSlos, type SloDefinition } from "./config.js";
import { SloEvaluator } from "./evaluator.js";
import { RequestRecorder } from "./recorder.js";

export const minute = 60_000;

/** Every signal reported, in order. */
export class RecordingSink implements AlertSink {
  readonly signals: AlertSignal[] = [];
  report(signal: AlertSignal): void {
    this.signals.push(signal);
  }
  /** The distinct alerts reported (rule, labels and severity). */
  alerts(): string[] {
    return [...new Set(this.signals.map((s) => `${s.rule} ${s.severity} ${JSON.stringify(s.labels)}`))];
  }
}

/** A bucket of one second (or any span) of `web`'s release in `environment`: `ok` 2xx answers in ≤ 10 ms, `bad` 5xx in ≤ 500 ms. */
export function bucket(time: number, ok: number, bad = 0, at: Partial<MetricsBucket> = {}): MetricsBucket {
  const latency = new Array<number>(16).fill(0);
  latency[3] = ok;
  latency[9] = bad;
  return {
    service: "web",
    environment: "production",
    releaseId: "rel_1",
    time,
    status: { "1xx": 0, "2xx": ok, "3xx": 0, "4xx": 0, "5xx": bad },
    upstreamErrors: 0,
    upstreamTimeouts: 0,
    retried: 0,
    clientAborts: 0,
    latency,
    ...at,
  };
}

export interface SloRig {
  clock: ManualClock;
  store: SqliteStore;
  recorder: RequestRecorder;
  evaluator: SloEvaluator;
  sink: RecordingSink;
  slos: SloDefinition[];
  /** One minute of traffic (one bucket in its middle), then the clock past the minute's grace, then an evaluation. */
  minute(ok: number, bad?: number): Promise<Awaited<ReturnType<SloEvaluator["evaluate"]>>>;
  close(): Promise<void>;
}

/** A rig for `slos` (the section as written) over one service `web` in `staging → production`. */
export async function sloRig(section: Record<string, unknown>): Promise<SloRig> {
  const clock = new ManualClock();
  const store = new SqliteStore({ path: ":memory:", clock });
  await store.migrate();
  const parsed = parseSlos(section, { services: ["web"], environments: ["staging", "production"] });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const recorder = new RequestRecorder({ history: store.requests, clock });
  await recorder.load(["staging", "production"]);
  const sink = new RecordingSink();
  const evaluator = new SloEvaluator({
    slos: parsed.slos,
    clock,
    sink,
    requests: store.requests,
    events: store.events,
    recordedUntil: async () => {
      await recorder.flush();
      return recorder.recordedUntil;
    },
  });
  // The clock starts at a minute boundary; each minute's traffic goes in its middle.
  let next = clock.now();
  return {
    clock,
    store,
    recorder,
    evaluator,
    sink,
    slos: parsed.slos,
    async minute(ok, bad = 0) {
      recorder.add([bucket(next + 30_000, ok, bad)]);
      next += minute;
      await clock.advance(next + 5_000 - clock.now());
      return evaluator.evaluate();
    },
    close: () => store.close(),
  };
}
