import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../core/index.js";
import { firstSlot, LagHistogram, phaseOf, Scheduler, type ScheduledJob, type Slot } from "./scheduler.js";

interface Run {
  name: string;
  slot: Slot;
  endedAt?: number;
  aborted?: boolean;
}

/** A job whose run takes `takesMs` of the clock's time, bounded by its timeout and honouring its signal, unless `ignoreAbort`. */
function job(clock: ManualClock, runs: Run[], name: string, options: { intervalMs?: number; timeoutMs?: number; takesMs?: number; target?: string; ignoreAbort?: boolean } = {}): ScheduledJob {
  return {
    name,
    intervalMs: options.intervalMs ?? 10_000,
    timeoutMs: options.timeoutMs ?? 5_000,
    target: options.target ?? "127.0.0.1:80",
    async run(signal, slot) {
      const run: Run = { name, slot };
      runs.push(run);
      const takes = options.takesMs ?? 1;
      const bounded = options.ignoreAbort ? takes : Math.min(takes, options.timeoutMs ?? 5_000);
      await clock.sleep(bounded, options.ignoreAbort ? undefined : signal).catch(() => (run.aborted = true));
      if (bounded < takes) run.aborted = true;
      run.endedAt = clock.now();
    },
  };
}

/** Advances in small steps, letting the scheduler's promises run between them. */
async function advance(clock: ManualClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) await clock.advance(Math.min(step, ms - t));
}

/** Stops the scheduler while time goes on, so that runs that ignore their signal can end. */
async function stop(scheduler: Scheduler, clock: ManualClock): Promise<void> {
  let done = false;
  const stopped = scheduler.stop().then(() => (done = true));
  while (!done) await clock.advance(1_000);
  await stopped;
}

describe("Scheduler", () => {
  it("runs at a fixed rate on the check's phase, whatever each run takes", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const runs: Run[] = [];
    const scheduler = new Scheduler({ clock, maxConcurrency: 10, maxPerTarget: 10 });
    scheduler.add(job(clock, runs, "web.health.production", { takesMs: 3_000 }));
    scheduler.start();
    await advance(clock, 60_000);
    await stop(scheduler, clock);
    const phase = phaseOf("web.health.production", 10_000);
    const first = firstSlot(Date.UTC(2026, 0, 1, 12), 10_000, phase);
    assert.equal(first % 10_000, phase);
    assert.deepEqual(
      runs.map((r) => r.slot.intendedAt),
      Array.from({ length: runs.length }, (_, i) => first + i * 10_000),
    );
    assert.ok(runs.length >= 5);
    for (const run of runs) assert.equal(run.slot.startedAt, run.slot.intendedAt, "on a manual clock a run starts on its slot");
    assert.equal(scheduler.stats().skipped, 0);
    assert.equal(scheduler.stats().lagMs.p99, 0);
  });

  it("spreads checks over their interval by a hash of their names, the same on every start", () => {
    const phases = Array.from({ length: 1000 }, (_, i) => phaseOf(`check-${i}`, 10_000));
    assert.deepEqual(phases, Array.from({ length: 1000 }, (_, i) => phaseOf(`check-${i}`, 10_000)));
    // Every second of the interval gets some, none gets a crowd.
    const perSecond = new Array<number>(10).fill(0);
    for (const phase of phases) perSecond[Math.floor(phase / 1000)]!++;
    for (const count of perSecond) assert.ok(count > 60 && count < 140, `uneven spread: ${perSecond.join(", ")}`);
  });

  it("never overlaps runs of one check: a slot that comes while the last run goes on is skipped and counted", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const runs: Run[] = [];
    const scheduler = new Scheduler({ clock, maxConcurrency: 10, maxPerTarget: 10 });
    // Ignores its deadline and runs 25 s: the two slots after its start find it still running.
    scheduler.add(job(clock, runs, "slow", { takesMs: 25_000, timeoutMs: 10_000, ignoreAbort: true }));
    scheduler.start();
    await advance(clock, 10_000 + 30_000, 500);
    await stop(scheduler, clock);
    assert.equal(runs.length, 2);
    assert.equal(runs[1]!.slot.intendedAt - runs[0]!.slot.intendedAt, 30_000);
    assert.ok(runs[0]!.endedAt! <= runs[1]!.slot.startedAt);
    assert.equal(scheduler.stats().skipped, 2);
  });

  it("gives a run min(timeout, time to its next slot), and aborts it then", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const runs: Run[] = [];
    const scheduler = new Scheduler({ clock, maxConcurrency: 1, maxPerTarget: 10 });
    // echo (phase 3.348 s) holds the only place for 9.9 s; bravo (5.907 s) waits, then has less than its timeout left.
    const [a, b] = ["echo", "bravo"];
    scheduler.add(job(clock, runs, a!, { takesMs: 9_900, timeoutMs: 9_950, ignoreAbort: true }));
    scheduler.add(job(clock, runs, b!, { takesMs: 60_000, timeoutMs: 5_000 }));
    scheduler.start();
    await advance(clock, 40_000, 50);
    await stop(scheduler, clock);
    const bravo = runs.filter((r) => r.name === b && r.endedAt !== undefined);
    assert.ok(bravo.length > 0);
    assert.ok(bravo.some((r) => r.slot.deadlineMs < 5_000), `no run started late: ${bravo.map((r) => r.slot.deadlineMs).join(", ")}`);
    for (const run of bravo) {
      const next = run.slot.intendedAt + 10_000;
      assert.equal(run.slot.deadlineMs, Math.min(5_000, next - run.slot.startedAt));
      assert.equal(run.aborted, true);
      assert.ok(run.endedAt! - run.slot.startedAt <= run.slot.deadlineMs + 50);
    }
  });

  it("holds runs under the global and per-target caps, and starts them as places free up", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const runs: Run[] = [];
    const scheduler = new Scheduler({ clock, maxConcurrency: 3, maxPerTarget: 2 });
    let inFlight = 0;
    let maxInFlight = 0;
    const perTarget = new Map<string, number>();
    let maxPerTarget = 0;
    for (let i = 0; i < 12; i++) {
      const target = i % 2 === 0 ? "a:80" : "b:80";
      const inner = job(clock, runs, `check-${i}`, { intervalMs: 60_000, timeoutMs: 30_000, takesMs: 4_000, target });
      scheduler.add({
        ...inner,
        async run(signal, slot) {
          inFlight++;
          perTarget.set(target, (perTarget.get(target) ?? 0) + 1);
          maxInFlight = Math.max(maxInFlight, inFlight);
          maxPerTarget = Math.max(maxPerTarget, perTarget.get(target)!);
          try {
            await inner.run(signal, slot);
          } finally {
            inFlight--;
            perTarget.set(target, perTarget.get(target)! - 1);
          }
        },
      });
    }
    scheduler.start();
    await advance(clock, 60_000, 250);
    await stop(scheduler, clock);
    assert.ok(maxInFlight <= 3, `global cap broken: ${maxInFlight}`);
    assert.ok(maxPerTarget <= 2, `per-target cap broken: ${maxPerTarget}`);
    // 12 runs of 4 s through 3 places fit in a minute: every check ran once, some after waiting.
    assert.equal(new Set(runs.map((r) => r.name)).size, 12);
    assert.ok(runs.some((r) => r.slot.startedAt > r.slot.intendedAt), "some run waited for a place");
    assert.ok(scheduler.stats().lagMs.max > 0);
  });

  it("stops: aborts runs in flight, and removes checks", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const runs: Run[] = [];
    const scheduler = new Scheduler({ clock, maxConcurrency: 10, maxPerTarget: 10 });
    scheduler.add(job(clock, runs, "one", { takesMs: 4_000 }));
    scheduler.add(job(clock, runs, "two", { takesMs: 1 }));
    scheduler.remove("two");
    assert.equal(scheduler.has("two"), false);
    scheduler.start();
    await advance(clock, 10_000);
    const started = runs.length;
    await stop(scheduler, clock);
    assert.ok(runs.every((r) => r.name === "one"));
    await advance(clock, 30_000);
    assert.equal(runs.length, started, "nothing runs after stop");
  });
});

describe("LagHistogram", () => {
  it("reads quantiles within 5%", () => {
    const histogram = new LagHistogram();
    for (let i = 1; i <= 1000; i++) histogram.add(i / 10);
    assert.ok(Math.abs(histogram.quantile(0.5) - 50) / 50 <= 0.05, String(histogram.quantile(0.5)));
    assert.ok(Math.abs(histogram.quantile(0.99) - 99) / 99 <= 0.05, String(histogram.quantile(0.99)));
    assert.equal(histogram.max, 100);
  });
});
