import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseProject } from "../config/index.js";
import { DerivedChecks, healthCheckName, proxyCheckName } from "./derived.js";

const project = parseProject(
  `project: shop
services:
  web:
    run: node server.js
    health: { path: /healthz }
    routes:
      - { host: "*", path: / }
      - { host: shop.example, path: / }
  api:
    run: node api.js
    routes: [{ path: /api }]
environments:
  staging: { proxy: { listen: 127.0.0.1:8081 } }
  production: { proxy: { listen: "[::1]:8080" } }
`,
  "engineroom.yaml",
);

function input(live: string[], addresses: Record<string, string> = { staging: "127.0.0.1:8081", production: "[::1]:8080" }) {
  return {
    environments: project.environments.map((e) => ({ name: e.name, proxyAddress: addresses[e.name] ?? "", services: e.services })),
    isLive: (service: string, environment: string) => live.includes(`${service}@${environment}`),
  };
}

describe("derived checks", () => {
  it("checks each environment's proxy, and a service's health through it only where it has a live release", () => {
    const checks = new DerivedChecks().derive(input(["web@staging", "web@production"]));
    assert.deepEqual(checks.map((c) => c.name), ["proxy.staging", "web.health.staging", "proxy.production", "web.health.production"]);
    const web = checks.find((c) => c.name === "web.health.production")!;
    assert.equal(web.type, "http");
    assert.equal(web.derived, true);
    assert.deepEqual([web.intervalMs, web.timeoutMs, web.failureThreshold, web.recoveryThreshold], [10_000, 5_000, 3, 2]);
    assert.equal(web.labels.service, "web");
    assert.equal(web.labels.environment, "production");
    assert.equal(web.probe.target, "[::1]:8080");
    const proxy = checks.find((c) => c.name === "proxy.staging")!;
    assert.equal(proxy.type, "tcp");
    assert.deepEqual([proxy.labels.environment, proxy.labels.component], ["staging", "proxy"]);
    assert.equal(healthCheckName("web", "staging"), "web.health.staging");
    assert.equal(proxyCheckName("production"), "proxy.production");
  });

  it("keeps the same definition while nothing changed, makes a new one when the proxy moved, and drops what is no longer live", () => {
    const derived = new DerivedChecks({ intervalMs: 2_000 });
    const [, first] = derived.derive(input(["web@staging"]));
    const [, again] = derived.derive(input(["web@staging"]));
    assert.equal(again, first);
    assert.deepEqual([first!.intervalMs, first!.timeoutMs], [2_000, 2_000]);
    const moved = derived.derive(input(["web@staging"], { staging: "127.0.0.1:9000", production: "[::1]:8080" }));
    assert.notEqual(moved[1], first);
    assert.equal(moved[1]!.probe.target, "127.0.0.1:9000");
    assert.deepEqual(derived.derive(input([])).map((c) => c.name), ["proxy.staging", "proxy.production"]);
  });

  it("makes no check for an environment whose proxy has no address yet", () => {
    assert.deepEqual(new DerivedChecks().derive(input(["web@staging"], {})), []);
  });
});
