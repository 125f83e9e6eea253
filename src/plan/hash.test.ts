import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planHash } from "./hash.js";
import { plan } from "./plan.js";
import { matchingState, running, service } from "./test-support.js";
import type { CurrentState, DesiredState } from "./types.js";

function state() {
  const desired: DesiredState = {
    environments: [
      { name: "staging", services: { web: service({ env: { A: "1", B: "2" } }), api: service() } },
      { name: "production", services: { web: service({ instances: 2 }), api: service() } },
    ],
    fileHash: "sha256:f1",
  };
  return { desired, current: matchingState(desired) };
}

/** The same data with every object's keys in reverse order. */
function reversed<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reversed) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)])) as T;
  }
  return value;
}

describe("planHash", () => {
  it("is what plan() records, and does not depend on key order or route order", () => {
    const { desired, current } = state();
    const hash = planHash(desired, current);
    assert.match(hash, /^sha256:[0-9a-f]{64}$/);
    assert.equal(plan(desired, current).hash, hash);
    assert.equal(planHash(reversed(desired), reversed(current)), hash);
    const web = current.environments.production!.services.web!;
    const twoRoutes: CurrentState = {
      environments: { ...current.environments, production: { services: { ...current.environments.production!.services, web: { ...web, routes: [{ host: "a", path: "/" }, { host: "b", path: "/" }] } } } },
    };
    const swapped: CurrentState = {
      environments: { ...current.environments, production: { services: { ...current.environments.production!.services, web: { ...web, routes: [{ host: "b", path: "/" }, { host: "a", path: "/" }] } } } },
    };
    assert.equal(planHash(desired, twoRoutes), planHash(desired, swapped));
  });

  it("changes when anything planned from changes", () => {
    const { desired, current } = state();
    const hash = planHash(desired, current);
    const production = current.environments.production!.services;
    const variants: [string, DesiredState, CurrentState][] = [
      ["a declared attribute", { ...desired, environments: [desired.environments[0]!, { name: "production", services: { ...desired.environments[1]!.services, api: service({ instances: 4 }) } }] }, current],
      ["the chain's order", { ...desired, environments: [...desired.environments].reverse() }, current],
      ["the file hash", { ...desired, fileHash: "sha256:f2" }, current],
      ["the applied file hash", desired, { ...current, appliedFileHash: "sha256:f0" }],
      ["running instances", desired, { environments: { ...current.environments, production: { services: { ...production, web: { ...production.web!, runningInstances: 1 } } } } }],
      ["a live release", desired, { environments: { ...current.environments, production: { services: { ...production, web: running(service({ instances: 2 }), { number: 2 }) } } } }],
      ["a release state", desired, { environments: { ...current.environments, production: { services: { ...production, web: running(service({ instances: 2 }), { state: "watching" }) } } } }],
      ["a lost config snapshot", desired, { environments: { ...current.environments, production: { services: { ...production, web: { ...production.web!, config: undefined } } } } }],
      ["a new live service", desired, { environments: { ...current.environments, qa: { services: { web: running(service()) } } } }],
    ];
    for (const [what, d, c] of variants) assert.notEqual(planHash(d, c), hash, what);
  });
});
