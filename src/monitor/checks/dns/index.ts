import { promises as dns } from "node:dns";
import { z } from "zod";
import type { CheckType, Probe, ProbeOutcome } from "../types.js";

const recordTypes = ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV"] as const;
type RecordType = (typeof recordTypes)[number];

/** The options of a `dns` check. */
export const dnsOptions = z.strictObject({
  name: z.string().min(1).regex(/^[A-Za-z0-9_.-]+$/, "a domain name, e.g. example.com").meta({ description: "The name to resolve." }),
  record_type: z.enum(recordTypes).default("A").meta({ description: "A, AAAA, CNAME, MX, TXT, NS or SRV. Default A." }),
  server: z
    .string()
    .regex(/^(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/, 'an IP address with an optional port, e.g. "127.0.0.1:53" or "[::1]:5353"')
    .optional()
    .meta({ description: "The DNS server to ask, as host:port. Default: the system's resolvers." }),
});

/** A `dns` check's options as validated. */
export type DnsOptions = z.output<typeof dnsOptions>;

/** Answers meaning "no such record": `answer_count: 0`, which a condition judges, rather than an error. */
const noAnswer: ReadonlySet<string> = new Set([dns.NODATA, dns.NOTFOUND]);

/**
 * `dns`: one query, one try. Fields `answer_count` and `answers` (joined with ","; MX as
 * `priority exchange`, SRV as `priority weight port target`, TXT's chunks joined).
 */
export const dnsCheck: CheckType<DnsOptions> = {
  options: dnsOptions,
  fields: { answer_count: "number", answers: "string", response_time: "duration" },
  defaultConditions: ["answer_count > 0"],
  create: (options, context) => new DnsProbe(options, context.timeoutMs),
};

class DnsProbe implements Probe {
  readonly target: string;
  readonly #options: DnsOptions;
  readonly #timeoutMs: number;

  constructor(options: DnsOptions, timeoutMs: number) {
    this.#options = options;
    this.#timeoutMs = timeoutMs;
    this.target = options.server ? (/:\d+$/.test(options.server.replace(/^\[[^\]]*\]/, "")) ? options.server : `${options.server}:53`) : "dns";
  }

  async run(signal: AbortSignal): Promise<ProbeOutcome> {
    // A resolver per run: c-ares' cancel() ends every query of a resolver, so sharing one would let a
    // run's deadline cancel another's query.
    // c-ares gives up a little after the check's deadline, so that a timeout reads the same as every
    // other type's ("timed out after …"); the deadline cancels the query.
    const resolver = new dns.Resolver({ timeout: this.#timeoutMs + 50, tries: 1 });
    if (this.#options.server) resolver.setServers([this.#options.server]);
    const onAbort = (): void => resolver.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const answers = await query(resolver, this.#options.name, this.#options.record_type);
      return { fields: { answer_count: answers.length, answers: answers.join(",") } };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      if (noAnswer.has(code)) return { fields: { answer_count: 0, answers: "" } };
      return { fields: {}, error: `DNS query for ${this.#options.name} (${this.#options.record_type}) failed: ${code}` };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}

async function query(resolver: dns.Resolver, name: string, type: RecordType): Promise<string[]> {
  switch (type) {
    case "A":
      return resolver.resolve4(name);
    case "AAAA":
      return resolver.resolve6(name);
    case "CNAME":
      return resolver.resolveCname(name);
    case "NS":
      return resolver.resolveNs(name);
    case "MX":
      return (await resolver.resolveMx(name)).map((mx) => `${mx.priority} ${mx.exchange}`);
    case "TXT":
      return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(""));
    case "SRV":
      return (await resolver.resolveSrv(name)).map((srv) => `${srv.priority} ${srv.weight} ${srv.port} ${srv.name}`);
  }
}
