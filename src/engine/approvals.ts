import { createHash } from "node:crypto";
import { EngineError, newId, type Clock } from "../core/index.js";
import type { EventLog } from "../store/index.js";
import type { Caller, Scope } from "./access.js";

/**
 * Approval requests: a change to production asked for by a caller without `admin` waits for a
 * person with the `approve` scope. A request is bound to the hash of exactly what would change (the
 * plan hash for an apply; for a promote or deploy the hash of the service, the target environment
 * and the release it starts from), names its requester, the scope they used and its expiry, and is
 * never granted by the token that asked for it.
 *
 * Kept as events (`approval.requested`, `.granted`, `.denied`, `.used`, `.stale`) and folded on read:
 * the event log is the audit trail of every decision, append-only, in both store backends.
 */

export type ApprovalAction = "apply" | "promote" | "deploy";
/** `plan`: bound to a hash, used by the requester's next apply/promote/deploy; `release`: a release that waits for approval (require_approval), switched when granted. */
export type ApprovalKind = "plan" | "release";
export type ApprovalStatus = "pending" | "granted" | "denied" | "used" | "stale" | "expired";

export interface ApprovalParty {
  name: string;
  tokenId: string | null;
  via: Caller["via"];
}

export interface ApprovalRequest {
  /** e.g. `apr_lx2k9a1b_8f3c2d1e`. */
  id: string;
  kind: ApprovalKind;
  action: ApprovalAction;
  environments: string[];
  service: string | null;
  /** The release that waits (kind `release`). */
  releaseId: string | null;
  /** What the approval is bound to: the plan hash (`sha256:…`) or the change's hash. */
  hash: string;
  /** What would change, in a few words. */
  summary: string;
  /** The scope the requester holds for the change, e.g. `apply:production`. */
  scope: Scope;
  requestedBy: ApprovalParty;
  requestedAt: number;
  expiresAt: number;
  status: ApprovalStatus;
  decidedBy: ApprovalParty | null;
  decidedAt: number | null;
  reason: string | null;
}

/** What a gate is asked about: one change by one caller. */
export interface GatedChange {
  action: ApprovalAction;
  environments: string[];
  service?: string;
  hash: string;
  summary: string;
  scope: Scope;
}

/** The default time a request stays valid (`approvals.expire_after`). */
export const defaultApprovalExpiryMs = 3_600_000;

const types = ["approval.requested", "approval.granted", "approval.denied", "approval.used", "approval.stale"];

/** The hash a promote or deploy approval is bound to: what changes, and what it starts from. */
export function changeHash(parts: Record<string, string | null>): string {
  return "sha256:" + createHash("sha256").update(JSON.stringify(Object.entries(parts).sort(([a], [b]) => a.localeCompare(b)))).digest("hex");
}

function party(caller: Caller): ApprovalParty {
  return { name: caller.name, tokenId: caller.tokenId ?? null, via: caller.via };
}

/** True when the caller is the one (the same token) that made the request. */
function sameToken(caller: Caller, requester: ApprovalParty): boolean {
  return caller.tokenId !== undefined || requester.tokenId !== null ? (caller.tokenId ?? null) === requester.tokenId : caller.name === requester.name;
}

export class ApprovalRequests {
  #events: EventLog;
  #clock: Clock;
  #expiryMs: number;

  constructor(events: EventLog, clock: Clock, expiryMs: number = defaultApprovalExpiryMs) {
    this.#events = events;
    this.#clock = clock;
    this.#expiryMs = expiryMs;
  }

  /** Every request, newest first, with its status now (a pending or granted one past its expiry is `expired`). */
  async list(): Promise<ApprovalRequest[]> {
    const events = await this.#events.list({ types, limit: 100_000 });
    const byId = new Map<string, ApprovalRequest>();
    for (const event of events) {
      const data = event.data as Record<string, unknown>;
      if (event.type === "approval.requested") {
        byId.set(String(data.id), { ...(data as unknown as ApprovalRequest), status: "pending", decidedBy: null, decidedAt: null, reason: null });
        continue;
      }
      const request = byId.get(String(data.id));
      if (!request) continue;
      const status = event.type.slice("approval.".length) as ApprovalStatus;
      request.status = status;
      if (status === "granted" || status === "denied") {
        request.decidedBy = data.by as ApprovalParty;
        request.decidedAt = event.time;
        request.reason = typeof data.reason === "string" ? data.reason : null;
      }
    }
    const now = this.#clock.now();
    const all = [...byId.values()].map((r) => ((r.status === "pending" || r.status === "granted") && r.expiresAt <= now ? { ...r, status: "expired" as const } : r));
    return all.reverse();
  }

  /** One request; APPROVAL_NOT_FOUND for an unknown id. */
  async get(id: string): Promise<ApprovalRequest> {
    const found = (await this.list()).find((r) => r.id === id);
    if (!found) throw new EngineError("APPROVAL_NOT_FOUND", `No approval request ${JSON.stringify(id.slice(0, 80))}.`);
    return found;
  }

  /** Records a new request and returns it. */
  async request(caller: Caller, change: GatedChange & { kind?: ApprovalKind; releaseId?: string }): Promise<ApprovalRequest> {
    const now = this.#clock.now();
    const request: ApprovalRequest = {
      id: newId("apr", now),
      kind: change.kind ?? "plan",
      action: change.action,
      environments: change.environments,
      service: change.service ?? null,
      releaseId: change.releaseId ?? null,
      hash: change.hash,
      summary: change.summary,
      scope: change.scope,
      requestedBy: party(caller),
      requestedAt: now,
      expiresAt: now + this.#expiryMs,
      status: "pending",
      decidedBy: null,
      decidedAt: null,
      reason: null,
    };
    const { status: _s, decidedBy: _b, decidedAt: _a, reason: _r, ...data } = request;
    await this.#events.append({
      type: "approval.requested",
      service: request.service,
      environment: change.environments.at(-1) ?? null,
      releaseId: request.releaseId,
      message: `${caller.name} asks approval to ${change.summary} (${request.id}, bound to ${change.hash.slice(0, 19)}…): engineroom approvals grant ${request.id}`,
      data,
    });
    return request;
  }

  /**
   * Grants or denies a pending request. ACCESS_DENIED is the caller's (checked before); this refuses
   * the requester's own token (APPROVAL_SELF), an expired request (APPROVAL_EXPIRED) and one already
   * decided (APPROVAL_NOT_PENDING).
   */
  async decide(id: string, caller: Caller, decision: "granted" | "denied", reason?: string): Promise<ApprovalRequest> {
    const request = await this.get(id);
    if (sameToken(caller, request.requestedBy)) {
      throw new EngineError("APPROVAL_SELF", `Token "${caller.name}" asked for ${id}: it cannot ${decision === "granted" ? "grant" : "deny"} its own request.`);
    }
    if (request.status === "expired") throw new EngineError("APPROVAL_EXPIRED", `Approval request ${id} expired at ${new Date(request.expiresAt).toISOString()}.`);
    if (request.status !== "pending") throw new EngineError("APPROVAL_NOT_PENDING", `Approval request ${id} is ${request.status}, not pending.`, { hint: "`engineroom approvals list` shows the requests that wait." });
    const by = party(caller);
    await this.#events.append({
      type: `approval.${decision}`,
      service: request.service,
      environment: request.environments.at(-1) ?? null,
      releaseId: request.releaseId,
      message: `${caller.name} ${decision} ${id} (${request.summary}, asked by ${request.requestedBy.name})${reason ? `: ${reason}` : ""}`,
      data: { id, by, ...(reason ? { reason } : {}) },
    });
    return { ...request, status: decision, decidedBy: by, decidedAt: this.#clock.now(), reason: reason ?? null };
  }

  /**
   * The gate before a change by a caller that needs approval: passes, with the request to mark
   * `used` once the change is made, when the caller's own request for this very hash is granted and
   * not expired (a change refused later, e.g. by the staging-before-production rule, leaves it granted). Otherwise refuses,
   * recording a new request where one is needed: APPROVAL_REQUIRED (a request waits), APPROVAL_STALE
   * (what was approved differs from what would change now), APPROVAL_EXPIRED, APPROVAL_DENIED.
   */
  async gate(caller: Caller, change: GatedChange): Promise<ApprovalRequest> {
    const mine = (await this.list()).filter(
      (r) => r.kind === "plan" && r.action === change.action && sameToken(caller, r.requestedBy) && r.environments.join() === change.environments.join() && (r.service ?? undefined) === change.service,
    );
    const latest = mine.find((r) => r.status !== "used" && r.status !== "stale");
    const refuse = async (code: "APPROVAL_REQUIRED" | "APPROVAL_STALE" | "APPROVAL_EXPIRED", message: string) => {
      const waiting = latest?.status === "pending" && latest.hash === change.hash ? latest : await this.request(caller, change);
      throw new EngineError(code, `${message} Approval request ${waiting.id} waits for a person with the approve scope.`, {
        hint: `Ask a person with the approve scope to run \`engineroom approvals grant ${waiting.id}\` (or POST /v1/approvals/${waiting.id}/grant), then try the same change again. Nothing was changed.`,
        details: { approval: waiting.id, hash: change.hash, expiresAt: waiting.expiresAt },
      });
    };
    if (latest?.status === "granted" && latest.hash === change.hash) return latest;
    if (latest?.status === "granted") {
      await this.#mark("stale", latest, `${latest.id} no longer matches what would change (${change.hash.slice(0, 19)}…)`);
      return refuse("APPROVAL_STALE", `What was approved in ${latest.id} (${latest.hash.slice(0, 19)}…) is not what would change now (${change.hash.slice(0, 19)}…).`);
    }
    if (latest?.status === "denied" && latest.hash === change.hash) {
      throw new EngineError("APPROVAL_DENIED", `${latest.decidedBy?.name ?? "A person"} denied ${latest.id}${latest.reason ? `: ${latest.reason}` : ""}.`);
    }
    if (latest?.status === "expired" && latest.hash === change.hash) {
      await this.#mark("stale", latest, `${latest.id} expired before use`);
      return refuse("APPROVAL_EXPIRED", `Approval request ${latest.id} expired at ${new Date(latest.expiresAt).toISOString()}.`);
    }
    if (latest?.status === "pending" && latest.hash !== change.hash) await this.#mark("stale", latest, `${latest.id} was replaced by a request for a different change`);
    return refuse("APPROVAL_REQUIRED", `${change.summary} needs a person's approval (token "${caller.name}" is not admin).`);
  }

  /** Marks a granted request used by the change it allowed: it allows no other. */
  async used(request: ApprovalRequest, caller: Caller): Promise<void> {
    await this.#mark("used", request, `${caller.name} used ${request.id} to ${request.summary}`);
  }

  async #mark(status: "used" | "stale", request: ApprovalRequest, message: string): Promise<void> {
    await this.#events.append({ type: `approval.${status}`, service: request.service, environment: request.environments.at(-1) ?? null, releaseId: request.releaseId, message, data: { id: request.id } });
  }
}
