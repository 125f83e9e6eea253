import { redactor } from "../core/index.js";
import type { EngineEvent, Store } from "../store/index.js";
import type { Audit, AuditEntry, AuditInput } from "./access.js";
import { tokenSecretPattern } from "./tokens.js";

/** The event type of an audited call. */
export const auditEventType = "audit.call";

/** Argument keys whose values are never written, whatever they hold. */
const secretKeys = /^(token|secret|password|passphrase|authorization|cookie|csrf|csrf_?token|api_?key|private_?key)$/i;

/** An argument as written to the audit trail: secret values, token secrets and secret-named keys redacted. */
export function redactArgs(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactor.redact(value).replace(tokenSecretPattern, "[REDACTED:token]");
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactArgs(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, secretKeys.test(key) ? "[REDACTED]" : redactArgs(item, depth + 1)]));
}

/** `engine.audit`: every call of an interface as an `audit.call` event of the event log. */
export class AuditTrail implements Audit {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  async record(input: AuditInput): Promise<void> {
    const via = input.via ?? input.caller.via;
    const args = (redactArgs(input.args ?? {}) ?? {}) as Record<string, unknown>;
    const reason = input.reason === undefined ? null : (redactArgs(input.reason) as string);
    await this.#store.events.append({
      type: auditEventType,
      message: `${input.caller.name} (${via}) ${input.action}: ${input.decision}${reason ? ` — ${reason}` : ""}`,
      data: { caller: input.caller.name, tokenId: input.caller.tokenId ?? null, via, action: input.action, args, decision: input.decision, reason, result: redactArgs(input.result ?? null) },
    });
  }

  async list(query: { since?: number; limit?: number; token?: string } = {}): Promise<AuditEntry[]> {
    const limit = Math.max(1, Math.min(10_000, Math.floor(query.limit ?? 100)));
    // The token filter is on the event's data: read a wider window, then keep the newest `limit`.
    const events = await this.#store.events.list({ types: [auditEventType], since: query.since, limit: query.token === undefined ? limit : 10_000 });
    const entries = events.map(toEntry);
    const mine = query.token === undefined ? entries : entries.filter((e) => e.caller === query.token || e.tokenId === query.token);
    return mine.slice(-limit);
  }
}

function toEntry(event: EngineEvent): AuditEntry {
  const data = event.data as Partial<AuditEntry> & Record<string, unknown>;
  return {
    eventId: event.id,
    time: event.time,
    caller: String(data.caller ?? ""),
    tokenId: (data.tokenId as string | null | undefined) ?? null,
    via: (data.via as AuditEntry["via"]) ?? "api",
    action: String(data.action ?? ""),
    args: (data.args as Record<string, unknown>) ?? {},
    decision: data.decision === "allowed" ? "allowed" : "refused",
    reason: (data.reason as string | null | undefined) ?? null,
    result: data.result ?? null,
  };
}
