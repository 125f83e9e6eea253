import { createServer } from "node:net";
import type { Clock } from "../../core/index.js";
import { EngineError } from "../../core/index.js";

/**
 * Hands out free TCP ports: asks the kernel for one (bind to port 0, read it, close) and never hands
 * the same port twice within `windowMs`, so two instances started in quick succession, before
 * either has bound its port, do not get the same one.
 */
export class PortAllocator {
  readonly #recent = new Map<number, number>(); // port -> when it was handed out
  readonly #host: string;
  readonly #clock: Clock;
  readonly #windowMs: number;

  constructor(host: string, clock: Clock, windowMs = 60_000) {
    this.#host = host;
    this.#clock = clock;
    this.#windowMs = windowMs;
  }

  async allocate(): Promise<number> {
    const now = this.#clock.now();
    for (const [port, at] of this.#recent) if (now - at > this.#windowMs) this.#recent.delete(port);
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = await freePort(this.#host).catch((error: unknown) => {
        throw new EngineError("DEPLOY_START_FAILED", `Could not bind a port on ${this.#host}: ${(error as Error).message}`, { cause: error });
      });
      if (this.#recent.has(port)) continue;
      this.#recent.set(port, now);
      return port;
    }
    throw new EngineError("DEPLOY_START_FAILED", `Could not find a free port on ${this.#host} that was not recently handed out.`);
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error(`no port from ${host}`))));
    });
  });
}
