import { Agent, request } from "node:http";
import type { Clock } from "../core/index.js";
import { faultHeader } from "../proxy/index.js";

export interface LoadTarget {
  host: string;
  port: number;
  /** The Host header (a route's host), when the route is not for any host. */
  hostHeader?: string;
  path: string;
}

/** One failed request of the drill's load: when it ended, and whether the drill's fault answered it. */
export interface LoadFailure {
  at: number;
  fault: boolean;
  detail: string;
}

/** The most requests in flight at once: a slow target gets fewer requests, never a pile of them. */
const maxInFlight = 64;

/**
 * The drill's own load: GET requests at `rps` through the environment's proxy on loopback, until
 * `stop()` or `maxRequests` — bounded in count and in time (the runner stops it at the drill's time
 * limit). A failure is a 5xx answer or a request that got none (refused, reset, 10 s without an
 * answer); answers carrying the fault header are the drill's own.
 */
export class DrillLoad {
  readonly failures: LoadFailure[] = [];
  sent = 0;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  readonly #target: LoadTarget;
  readonly #clock: Clock;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;

  constructor(target: LoadTarget, clock: Clock) {
    this.#target = target;
    this.#clock = clock;
  }

  start(rps: number, maxRequests: number): void {
    const gapMs = 1000 / rps;
    this.#loop ??= (async () => {
      const signal = this.#abort.signal;
      const started = this.#clock.now();
      while (!signal.aborted && this.sent < maxRequests) {
        if (this.#inFlight.size < maxInFlight) this.#send();
        // Paced against the start, so a slow loop catches up rather than drifting.
        const wait = started + (this.sent + 1) * gapMs - this.#clock.now();
        await this.#clock.sleep(Math.max(1, wait), signal).catch(() => undefined);
      }
    })();
  }

  /** One GET now; resolves true when it answered below 500 without the fault. */
  async probe(): Promise<boolean> {
    const result = await this.#get();
    return result === undefined;
  }

  /** Stops sending, waits for the requests in flight, and closes the connections. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
    await Promise.all([...this.#inFlight]);
    this.#agent.destroy();
  }

  #send(): void {
    this.sent++;
    const done = this.#get().then((failure) => {
      if (failure) this.failures.push(failure);
    });
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }

  /** Undefined when the request succeeded, else its failure. */
  #get(): Promise<LoadFailure | undefined> {
    const { host, port, hostHeader, path } = this.#target;
    return new Promise((resolve) => {
      const fail = (fault: boolean, detail: string) => resolve({ at: this.#clock.now(), fault, detail });
      const req = request({ host, port, path, method: "GET", agent: this.#agent, timeout: 10_000, headers: hostHeader ? { host: hostHeader } : {} }, (res) => {
        res.resume();
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          if (status < 500) resolve(undefined);
          else fail(res.headers[faultHeader] !== undefined, `status ${status}`);
        });
        res.on("error", (error) => fail(false, (error as NodeJS.ErrnoException).code ?? String(error)));
      });
      req.on("timeout", () => req.destroy(Object.assign(new Error("no answer within 10s"), { code: "TIMEOUT" })));
      req.on("error", (error) => fail(false, (error as NodeJS.ErrnoException).code ?? String(error)));
      req.end();
    });
  }
}
