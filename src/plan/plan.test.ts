import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseProject, serviceConfigHash } from "../config/index.js";
import { desiredState, plan } from "./plan.js";
import { matchingState, running, service } from "./test-support.js";
import type { CurrentState, DesiredState } from "./types.js";

const chain = (staging: Record<string, ReturnType<typeof service>>, production = staging): DesiredState => ({
  environments: [
    { name: "staging", services: staging },
    { name: "production", services: production },
  ],
});

const find = (p: ReturnType<typeof plan>, environment: string, service: string) => {
  const change = p.changes.find((c) => c.environment === environment && c.service === service);
  assert.ok(change, `no change for ${service} (${environment})`);
  return change;
};

describe("plan", () => {
  it("is all no-op when everything runs as declared", () => {
    const desired = chain({ web: service(), api: service({ instances: 2 }) });
    const p = plan(desired, matchingState(desired));
    assert.deepEqual(p.summary, { create: 0, update: 0, delete: 0, noOp: 4, blocked: 0 });
    assert.deepEqual(
      p.changes.map((c) => `${c.environment}/${c.service}:${c.action}`),
      ["staging/api:no-op", "staging/web:no-op", "production/api:no-op", "production/web:no-op"],
    );
  });

  it("creates in the first environment from the declared artifact, and says when there is none", () => {
    const desired = chain({ web: service(), worker: service({ artifact: undefined }) });
    const p = plan(desired, { environments: {} });
    assert.deepEqual(find(p, "staging", "web").step, { kind: "deploy", artifact: "./app" });
    const worker = find(p, "staging", "worker");
    assert.equal(worker.action, "create");
    assert.equal(worker.step, undefined);
    assert.match(worker.blockedBy!, /no artifact is declared for worker/);
  });

  it("creates in a later environment by promoting what is stable before it, and is blocked otherwise", () => {
    const web = service();
    const desired = chain({ web, api: service(), jobs: service() });
    const current: CurrentState = {
      environments: {
        staging: { services: { web: running(web, { number: 4, digest: "sha256:" + "cd".repeat(32) }), api: running(service(), { number: 2, state: "watching" }) } },
      },
    };
    const p = plan(desired, current);
    const promoted = find(p, "production", "web");
    assert.equal(promoted.action, "create");
    assert.deepEqual(promoted.step, {
      kind: "promote",
      from: "staging",
      releaseId: current.environments.staging!.services.web!.live.id,
      number: 4,
      artifactDigest: "sha256:" + "cd".repeat(32),
      initial: true,
    });
    assert.equal(find(p, "production", "api").blockedBy, "api v2 in staging is watching, not stable; production gets only a stable release");
    assert.match(find(p, "production", "jobs").blockedBy!, /^jobs is not live in staging yet; production gets only a release that is stable in staging$/);
    assert.equal(p.summary.create, 4); // staging/jobs; production/web, api, jobs
    assert.equal(p.summary.blocked, 2);
  });

  it("updates with attribute diffs when the declared config differs from the recorded one", () => {
    const before = service({ instances: 2, env: { GREETING: "hi" } });
    const after = service({ instances: 3, env: { GREETING: "hello" } });
    const desired: DesiredState = { environments: [{ name: "production", services: { web: after } }] };
    const current: CurrentState = { environments: { production: { services: { web: running(before, { number: 3 }) } } } };
    const change = find(plan(desired, current), "production", "web");
    assert.equal(change.action, "update");
    assert.equal(change.reason, "config changed");
    assert.deepEqual(change.diffs, [
      { path: "env.GREETING", before: "hi", after: "hello" },
      { path: "instances", before: 2, after: 3 },
    ]);
    assert.deepEqual(change.drift, []);
    assert.deepEqual(change.step, { kind: "redeploy", artifactDigest: current.environments.production!.services.web!.live.artifactDigest });
    assert.equal(change.configHash, serviceConfigHash(after));
  });

  it("updates without attributes when the recorded config is missing", () => {
    const desired: DesiredState = { environments: [{ name: "production", services: { web: service({ instances: 2 }) } }] };
    const live = { ...running(service()), config: undefined };
    const change = find(plan(desired, { environments: { production: { services: { web: live } } } }), "production", "web");
    assert.equal(change.action, "update");
    assert.equal(change.recordedConfigMissing, true);
    assert.deepEqual(change.diffs, []);
    // Without the record, drift is measured against what is declared.
    assert.deepEqual(change.drift, [{ kind: "instances", message: "1 of 2 instances running" }]);
  });

  it("reports drift in instances and routes as an update even when the config is unchanged", () => {
    const web = service({ instances: 3, routes: [{ path: "/" }, { path: "/api" }] });
    const extra = service({ routes: [{ path: "/a" }, { path: "/b" }] });
    const desired: DesiredState = { environments: [{ name: "production", services: { web, api: service(), extra } }] };
    const current: CurrentState = {
      environments: {
        production: {
          services: {
            web: { ...running(web), runningInstances: 2, routes: [{ host: "*", path: "/" }] },
            api: { ...running(service()), runningInstances: 2 },
            // The same routes in another order are not drift: the proxy matches by longest prefix.
            extra: { ...running(extra), routes: [{ host: "*", path: "/b" }, { host: "*", path: "/a" }] },
          },
        },
      },
    };
    const p = plan(desired, current);
    const drifted = find(p, "production", "web");
    assert.equal(drifted.action, "update");
    assert.equal(drifted.reason, "drift");
    assert.deepEqual(drifted.diffs, []);
    assert.deepEqual(drifted.drift, [
      { kind: "instances", message: "2 of 3 instances running" },
      { kind: "routes", message: "routes served: */; expected: */, */api" },
    ]);
    assert.deepEqual(find(p, "production", "api").drift, [{ kind: "instances", message: "2 instances running where 1 is declared" }]);
    assert.equal(find(p, "production", "extra").action, "no-op");
  });

  it("deletes what is live but no longer declared: a service, or a whole environment", () => {
    const desired: DesiredState = { environments: [{ name: "production", services: { web: service() } }] };
    const current: CurrentState = {
      environments: {
        production: { services: { web: running(service()), old: running(service(), { number: 7 }) } },
        qa: { services: { web: running(service()) } },
      },
    };
    const p = plan(desired, current);
    assert.deepEqual(
      p.changes.map((c) => `${c.environment}/${c.service}:${c.action}`),
      ["production/web:no-op", "production/old:delete", "qa/web:delete"],
    );
    const old = find(p, "production", "old");
    assert.equal(old.reason, "old is no longer declared");
    assert.deepEqual(old.step, { kind: "stop", releaseId: current.environments.production!.services.old!.live.id });
    assert.equal(find(p, "qa", "web").reason, "environment qa is no longer declared");
    assert.deepEqual(p.summary, { create: 0, update: 0, delete: 2, noOp: 1, blocked: 0 });
  });

  it("plans only the environments asked for", () => {
    const desired = chain({ web: service() });
    const p = plan(desired, { environments: { qa: { services: { web: running(service()) } } } }, { environments: ["production"] });
    assert.deepEqual(p.changes.map((c) => c.environment), ["production"]);
  });

  it("notes a config file changed since the last apply", () => {
    const desired = { ...chain({ web: service() }), fileHash: "sha256:new" };
    const p = plan(desired, { ...matchingState(desired), appliedFileHash: "sha256:old" });
    assert.deepEqual(p.configFile, { current: "sha256:new", applied: "sha256:old", changed: true });
    assert.equal(plan(desired, { environments: {} }).configFile.changed, false);
  });

  it("takes the desired state from a parsed project, per environment with overrides", () => {
    const project = parseProject(
      "project: p\nservices:\n  web:\n    run: node s.js\n    artifact: ./app\nenvironments:\n  staging: { proxy: { listen: 127.0.0.1:0 } }\n  production:\n    services:\n      web: { instances: 3 }\n",
    );
    const desired = desiredState(project, "sha256:f");
    assert.deepEqual(desired.environments.map((e) => [e.name, e.services.web!.instances]), [["staging", 1], ["production", 3]]);
    assert.equal(desired.fileHash, "sha256:f");
  });
});
