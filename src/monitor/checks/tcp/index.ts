import { connect } from "node:net";
import { z } from "zod";
import { describeNetworkError } from "../network.js";
import type { CheckType, Probe, ProbeOutcome } from "../types.js";

export const hostSchema = z.string().min(1).regex(/^[^\s/:]+$|^\[?[0-9a-fA-F:]+\]?$/, "a host name or IP address, without port or scheme");
export const portSchema = z.number().int().min(1).max(65535);

/** The options of a `tcp` check. */
export const tcpOptions = z.strictObject({
  host: hostSchema.meta({ description: "Host name or IP address to connect to." }),
  port: portSchema.meta({ description: "TCP port." }),
});

/** A `tcp` check's options as validated. */
export type TcpOptions = z.output<typeof tcpOptions>;

/** Errors that mean "nothing listens there": the answer is `connected: false`, which a condition judges. */
const notConnected = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * `tcp`: connects, then closes. A refused connection is `connected: false` (so `connected == false`
 * can check that a port is closed); a host that cannot be found is an error.
 */
export const tcpCheck: CheckType<TcpOptions> = {
  options: tcpOptions,
  fields: { connected: "boolean", response_time: "duration" },
  defaultConditions: ["connected == true"],
  create: (options) => new TcpProbe(options.host.replace(/^\[|\]$/g, ""), options.port),
};

class TcpProbe implements Probe {
  readonly target: string;
  readonly #host: string;
  readonly #port: number;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
    this.target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  }

  run(signal: AbortSignal): Promise<ProbeOutcome> {
    return new Promise((resolve) => {
      const socket = connect({ host: this.#host, port: this.#port });
      const done = (outcome: ProbeOutcome): void => {
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        resolve(outcome);
      };
      const onAbort = (): void => done({ fields: { connected: false }, error: "aborted" });
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("connect", () => done({ fields: { connected: true } }));
      socket.once("error", (error: NodeJS.ErrnoException) =>
        done(notConnected.has(error.code ?? "") ? { fields: { connected: false } } : { fields: { connected: false }, error: describeNetworkError(error, this.target) }),
      );
    });
  }
}
