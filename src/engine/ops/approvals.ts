import { EngineError } from "../../core/index.js";
import type { DeployResult } from "../../deploy/index.js";
import type { Plan } from "../../plan/index.js";
import { authorize, can, scopeFor, type Caller } from "../access.js";
import { ApprovalRequests, changeHash, defaultApprovalExpiryMs, type ApprovalRequest } from "../approvals.js";
import type { Engine } from "../engine.js";

/** The approvals operations of the façade (see ../operations.ts): what `engineroom approvals` and /v1/approvals call. */
export interface ApprovalOperations {
  /**
   * Requests that wait for a person, newest first — plan approvals and releases that wait for
   * approval (require_approval; a release nobody asked through a token is listed under its release id);
   * with `all`, decided and expired ones too.
   */
  approvals(options?: { all?: boolean }): Promise<ApprovalRequest[]>;
  /** One request (APPROVAL_NOT_FOUND). */
  approval(id: string): Promise<ApprovalRequest>;
  /**
   * Grants a request (needs `approve`; never by the token that asked: APPROVAL_SELF). A plan
   * approval is used by the requester's next apply, promote or deploy of that very change; a
   * release that waits is switched to at once (`release` is its deploy result).
   */
  grantApproval(id: string, caller: Caller, options?: { signal?: AbortSignal }): Promise<{ approval: ApprovalRequest; release?: DeployResult }>;
  /** Denies a request (needs `approve`; APPROVAL_SELF for the requester's own token). */
  denyApproval(id: string, caller: Caller, reason?: string): Promise<ApprovalRequest>;
}

/** The gates the release operations pass, and the approvals operations over the same requests. */
export interface ApprovalGates {
  operations: ApprovalOperations;
  /** Before an apply: a plan touching the last environment (production) by a caller without admin needs a granted request bound to its hash. */
  beforeApply(caller: Caller | undefined, plan: Plan): Promise<Passed>;
  /** Before a deploy or promote into the last environment (without require_approval there) by a caller without admin. */
  beforeRelease(action: "deploy" | "promote", caller: Caller | undefined, service: string, environment: string, artifact?: string): Promise<Passed>;
  /** After a deploy or promote that waits for approval (require_approval): records who asked, so that they cannot approve it. */
  afterRelease(action: "deploy" | "promote", caller: Caller | undefined, result: DeployResult): Promise<void>;
  /** Before `approve(release)` by a caller: the approve scope, and not the token that asked for the release. */
  beforeApprove(caller: Caller | undefined, releaseId: string): Promise<void>;
}

/** What a passed gate gives back: call it once the change is made (marks the approval used). */
export type Passed = () => Promise<void>;
const nothing: Passed = async () => {};

const awaiting = "release.awaiting-approval";

export function approvalGates(engine: Engine, approve: (releaseId: string, options: { caller: Caller; signal?: AbortSignal }) => Promise<DeployResult>): ApprovalGates {
  const requests = new ApprovalRequests(engine.store.events, engine.clock, engine.project.config.approvals?.expire_after ?? defaultApprovalExpiryMs);
  const production = () => engine.environments.at(-1)!.name;
  const needsApproval = (caller: Caller | undefined): caller is Caller => caller !== undefined && !can(caller, "admin");

  /** Releases that wait for approval now, as requests (those asked through a token carry their request). */
  const waitingReleases = async (known: ApprovalRequest[]): Promise<ApprovalRequest[]> => {
    const verified = await engine.store.releases.listInStates(["verified"]);
    const found: ApprovalRequest[] = [];
    for (const release of verified) {
      const marks = await engine.store.events.list({ releaseId: release.id, types: [awaiting], limit: 1 });
      if (marks.length === 0 || known.some((r) => r.releaseId === release.id && r.status === "pending")) continue;
      found.push({
        id: release.id,
        kind: "release",
        action: engine.environments[0]?.name === release.environment ? "deploy" : "promote",
        environments: [release.environment],
        service: release.service,
        releaseId: release.id,
        hash: release.artifactDigest,
        summary: `switch ${release.service} v${release.number} in ${release.environment}`,
        scope: "approve",
        requestedBy: { name: "engine", tokenId: null, via: "api" },
        requestedAt: marks[0]!.time,
        expiresAt: Number.MAX_SAFE_INTEGER,
        status: "pending",
        decidedBy: null,
        decidedAt: null,
        reason: null,
      });
    }
    return found;
  };
  const releaseRequest = async (releaseId: string) => (await requests.list()).find((r) => r.kind === "release" && r.releaseId === releaseId && r.status === "pending");

  const operations: ApprovalOperations = {
    async approvals(options = {}) {
      const all = await requests.list();
      const listed = options.all ? all : all.filter((r) => r.status === "pending" || (r.status === "granted" && r.kind === "plan"));
      return [...(await waitingReleases(all)), ...listed];
    },
    async approval(id) {
      if (id.startsWith("rel_")) {
        const found = (await operations.approvals()).find((r) => r.releaseId === id);
        if (found) return found;
      }
      return requests.get(id);
    },
    async grantApproval(id, caller, options = {}) {
      authorize(caller, "approve");
      const request = await operations.approval(id);
      if (request.kind === "release") {
        const release = await approve(request.releaseId!, { caller, signal: options.signal });
        return { approval: await operations.approval(request.id).catch(() => ({ ...request, status: "used" as const })), release };
      }
      return { approval: await requests.decide(id, caller, "granted") };
    },
    async denyApproval(id, caller, reason) {
      authorize(caller, "approve");
      const request = await operations.approval(id);
      if (!request.id.startsWith("apr_")) {
        throw new EngineError("APPROVAL_NOT_PENDING", `Release ${id} was not asked for through a token; it waits until approved or replaced by a newer release.`);
      }
      return requests.decide(request.id, caller, "denied", reason);
    },
  };

  return {
    operations,
    async beforeApply(caller, plan) {
      if (!needsApproval(caller)) return nothing;
      const touched = [...new Set(plan.changes.filter((c) => c.action !== "no-op" || c.drift.length > 0).map((c) => c.environment))];
      if (!touched.includes(production())) return nothing;
      const changes = plan.changes.filter((c) => c.environment === production() && c.action !== "no-op").length;
      const granted = await requests.gate(caller, { action: "apply", environments: touched, hash: plan.hash, summary: `apply ${changes} change(s) to ${production()}`, scope: scopeFor("apply", production()) });
      return () => requests.used(granted, caller);
    },
    async beforeRelease(action, caller, service, environment, artifact) {
      if (!needsApproval(caller) || environment !== production() || engine.environment(environment).config.require_approval) return nothing;
      const chain = engine.environments.map((e) => e.name);
      const from = action === "promote" ? chain[chain.indexOf(environment) - 1] : environment;
      const source = from === undefined ? undefined : await engine.store.live.get(service, from);
      const hash = changeHash({ action, service, environment, from: source?.releaseId ?? null, artifact: artifact ?? null });
      const granted = await requests.gate(caller, { action, environments: [environment], service, hash, summary: `${action} ${service} into ${environment}`, scope: scopeFor(action, environment) });
      return () => requests.used(granted, caller);
    },
    async afterRelease(action, caller, result) {
      if (!needsApproval(caller) || !result.awaitingApproval) return;
      const { release } = result;
      await requests.request(caller, {
        kind: "release",
        releaseId: release.id,
        action,
        environments: [release.environment],
        service: release.service,
        hash: release.artifactDigest,
        summary: `switch ${release.service} v${release.number} in ${release.environment}`,
        scope: scopeFor(action, release.environment),
      });
    },
    async beforeApprove(caller, releaseId) {
      if (!caller) return;
      authorize(caller, "approve");
      const request = await releaseRequest(releaseId);
      if (request) await requests.decide(request.id, caller, "granted");
    },
  };
}
