import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError } from "../core/index.js";
import { testStoreBackends } from "../store/test-support.js";
import type { Caller } from "./access.js";
import { ApprovalRequests, type GatedChange } from "./approvals.js";

const agent: Caller = { name: "agent", tokenId: "tok_agent", scopes: ["read", "apply:production"], via: "mcp" };
const person: Caller = { name: "alice", tokenId: "tok_alice", scopes: ["approve"], via: "api" };
const change = (hash: string): GatedChange => ({ action: "apply", environments: ["production"], hash, summary: "apply 1 change(s) to production", scope: "apply:production" });

/** The refusal's code and the request it names (details.approval). */
async function refusal(promise: Promise<unknown>): Promise<{ code: string; approval: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isEngineError(error), String(error));
    return { code: error.code, approval: String(error.details?.approval ?? "") };
  }
  assert.fail("expected a refusal");
}

for (const [backend, open] of testStoreBackends()) {
  describe(`approval requests (${backend})`, () => {
    it("plan → APPROVAL_REQUIRED with one request → granted by another token → passes once, then used", async () => {
      const { store, clock, cleanup } = await open();
      try {
        const approvals = new ApprovalRequests(store.events, clock);
        const first = await refusal(approvals.gate(agent, change("sha256:a")));
        assert.equal(first.code, "APPROVAL_REQUIRED");
        // Asking again for the same change names the same request: no pile of duplicates.
        assert.equal((await refusal(approvals.gate(agent, change("sha256:a")))).approval, first.approval);
        const listed = await approvals.list();
        assert.deepEqual(listed.map((r) => [r.id, r.status, r.hash, r.requestedBy.name, r.scope]), [[first.approval, "pending", "sha256:a", "agent", "apply:production"]]);
        assert.equal(listed[0]!.expiresAt, clock.now() + 3_600_000);

        assert.equal((await refusal(approvals.decide(first.approval, { ...agent, via: "api" }, "granted"))).code, "APPROVAL_SELF");
        const granted = await approvals.decide(first.approval, person, "granted");
        assert.equal(granted.status, "granted");
        assert.equal(granted.decidedBy?.name, "alice");

        const passed = await approvals.gate(agent, change("sha256:a"));
        assert.equal(passed.id, first.approval);
        await approvals.used(passed, agent);
        assert.equal((await approvals.get(first.approval)).status, "used");
        // Used once: the same change again needs a new approval.
        const again = await refusal(approvals.gate(agent, change("sha256:a")));
        assert.equal(again.code, "APPROVAL_REQUIRED");
        assert.notEqual(again.approval, first.approval);
        // Another token holding the same rights is not the requester either.
        assert.equal((await refusal(approvals.gate({ ...agent, name: "agent-2", tokenId: "tok_2" }, change("sha256:a")))).code, "APPROVAL_REQUIRED");
      } finally {
        await cleanup();
      }
    });

    it("a granted approval for another plan hash is APPROVAL_STALE, an expired one APPROVAL_EXPIRED, a denied one APPROVAL_DENIED", async () => {
      const { store, clock, cleanup } = await open();
      try {
        const approvals = new ApprovalRequests(store.events, clock, 60_000);
        const asked = await refusal(approvals.gate(agent, change("sha256:a")));
        await approvals.decide(asked.approval, person, "granted");
        const stale = await refusal(approvals.gate(agent, change("sha256:b")));
        assert.equal(stale.code, "APPROVAL_STALE");
        assert.equal((await approvals.get(asked.approval)).status, "stale");
        assert.equal((await approvals.get(stale.approval)).hash, "sha256:b");

        await approvals.decide(stale.approval, person, "granted");
        await (clock as { advance(ms: number): Promise<void> }).advance(60_001);
        assert.equal((await approvals.get(stale.approval)).status, "expired");
        assert.equal((await refusal(approvals.decide(stale.approval, person, "granted"))).code, "APPROVAL_EXPIRED");
        const expired = await refusal(approvals.gate(agent, change("sha256:b")));
        assert.equal(expired.code, "APPROVAL_EXPIRED");

        await approvals.decide(expired.approval, person, "denied", "not during the sale");
        assert.equal((await refusal(approvals.gate(agent, change("sha256:b")))).code, "APPROVAL_DENIED");
        assert.equal((await refusal(approvals.decide(expired.approval, person, "granted"))).code, "APPROVAL_NOT_PENDING");
        assert.equal((await refusal(approvals.get("apr_nope"))).code, "APPROVAL_NOT_FOUND");
        // Every decision is an event.
        const types = (await store.events.list({ types: ["approval."] })).map((e) => e.type);
        assert.ok(["approval.requested", "approval.granted", "approval.stale", "approval.denied"].every((t) => types.includes(t)), types.join());
      } finally {
        await cleanup();
      }
    });
  });
}
