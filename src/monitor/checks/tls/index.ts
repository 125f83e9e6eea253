import { connect, type TLSSocket } from "node:tls";
import { z } from "zod";
import { describeNetworkError } from "../network.js";
import { hostSchema, portSchema } from "../tcp/index.js";
import type { CheckType, FieldValue, Probe, ProbeOutcome } from "../types.js";

/** The options of a `tls` check. */
export const tlsOptions = z.strictObject({
  host: hostSchema.meta({ description: "Host name or IP address to connect to." }),
  port: portSchema.default(443).meta({ description: "Default 443." }),
  servername: z.string().min(1).optional().meta({ description: "The name sent (SNI) and verified against the certificate. Default: host." }),
  tls_verify: z
    .boolean()
    .default(true)
    .meta({ description: "An untrusted certificate (chain or name) fails the run. With false the run still reads it, and `cert_valid` says whether it would have passed." }),
});

/** A `tls` check's options as validated. */
export type TlsOptions = z.output<typeof tlsOptions>;

/**
 * `tls`: a TLS handshake, to read the server's certificate. Fields: `cert_valid` (the chain is
 * trusted and the name matches), `cert_expires` (time left, ms; negative once expired).
 */
export const tlsCheck: CheckType<TlsOptions> = {
  options: tlsOptions,
  fields: { cert_valid: "boolean", cert_expires: "duration", response_time: "duration" },
  defaultConditions: ["cert_valid == true", "cert_expires > 14d"],
  create: (options) => new TlsProbe(options),
};

class TlsProbe implements Probe {
  readonly target: string;
  readonly #host: string;
  readonly #options: TlsOptions;

  constructor(options: TlsOptions) {
    this.#options = options;
    this.#host = options.host.replace(/^\[|\]$/g, "");
    this.target = `${this.#host.includes(":") ? `[${this.#host}]` : this.#host}:${options.port}`;
  }

  run(signal: AbortSignal): Promise<ProbeOutcome> {
    const servername = this.#options.servername ?? this.#host;
    return new Promise((resolve) => {
      // Never refused at the handshake: the certificate is read either way, and `authorized` tells
      // whether Node's verification (chain, then name) passed.
      const socket: TLSSocket = connect({ host: this.#host, port: this.#options.port, servername: isIp(servername) ? undefined : servername, rejectUnauthorized: false });
      const done = (outcome: ProbeOutcome): void => {
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        resolve(outcome);
      };
      const onAbort = (): void => done({ fields: {}, error: "aborted" });
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("secureConnect", () => {
        const certificate = socket.getPeerCertificate();
        const validTo = Date.parse(certificate.valid_to ?? "");
        // Wall-clock time: a certificate expires on the calendar, not on the engine's clock.
        const fields: Record<string, FieldValue> = { cert_valid: socket.authorized, cert_expires: Number.isFinite(validTo) ? validTo - Date.now() : null };
        if (!socket.authorized && this.#options.tls_verify) {
          const code = String(socket.authorizationError ?? "UNKNOWN");
          done({ fields, error: `TLS certificate of ${this.target} is not trusted (${code})` });
        } else done({ fields });
      });
      socket.once("error", (error) => done({ fields: {}, error: describeNetworkError(error, this.target) }));
    });
  }
}

function isIp(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(":");
}
