import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineError, isEngineError } from "../core/index.js";
import { DeployerRig, ready, testService } from "../deploy/test-support.js";
import { requireService, type Engine } from "../engine/index.js";
import { expandEnvReferences, maxDurationMs, parseProject } from "./index.js";

/** Problems found when Engineroom was tried as a new user would: each is refused with its path. */
function problems(text: string): string {
  try {
    parseProject(text);
  } catch (error) {
    assert.ok(error instanceof EngineError && error.code === "CONFIG_INVALID", String(error));
    return error.message;
  }
  assert.fail("expected the config to be refused");
}

const service = (extra: string) => `project: x\nservices:\n  web:\n    run: a\n${extra}`;

describe("config: what a new user ran into", () => {
  it("refuses durations Node's timers cannot wait for (25d ended a watch at once), naming the path", () => {
    assert.match(problems(service("    release: { watch: 25d }\n")), /services\.web\.release\.watch: "25d" is longer than the longest duration, 24d/);
    assert.match(problems(service(`    health: { interval: ${maxDurationMs + 1} }\n`)), /services\.web\.health\.interval: 2147483648 ms is longer/);
    assert.equal(parseProject(service("    release: { watch: 24d }\n")).services.web!.release.watch, 24 * 86_400_000);
    assert.equal(parseProject(service(`    release: { watch: ${maxDurationMs} }\n`)).services.web!.release.watch, 2 ** 31 - 1);
  });

  it("refuses a port above 65535", () => {
    assert.match(problems(`proxy: { listen: "127.0.0.1:65536" }\n${service("")}`), /proxy\.listen: a port is a number from 0 to 65535/);
    assert.match(problems(`api: { listen: "[::1]:99999" }\n${service("")}`), /api\.listen: a port/);
    assert.equal(parseProject(`proxy: { listen: "127.0.0.1:65535" }\n${service("")}`).proxy.listen, "127.0.0.1:65535");
  });

  it("refuses a route host with a port, which never matches, with the hint", () => {
    assert.match(problems(service("    routes: [{ host: 'example.com:8080' }]\n")), /services\.web\.routes\.0\.host: a route host has no port.*proxy\.listen/);
    assert.deepEqual(parseProject(service("    routes: [{ host: '[::1]' }]\n")).services.web!.routes, [{ host: "[::1]", path: "/" }]);
  });

  it("refuses an env value with a NUL byte", () => {
    assert.match(problems(service('    env: { A: "x\\0y" }\n')), /services\.web\.env\.A: an environment variable's value cannot hold a NUL byte/);
  });

  it("refuses names every JavaScript object has, and looks services up by own key only", () => {
    assert.match(problems("project: x\nservices:\n  constructor: { run: a }\n"), /services\.constructor: this name is reserved/);
    assert.match(problems(`${service("")}environments:\n  constructor: {}\n`), /environments\.constructor: this name is reserved/);
    const config = parseProject(service(""));
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      assert.equal(config.services[name], undefined, name);
      assert.equal(config.environments[0]!.services[name], undefined, name);
    }
  });

  it("expands ${VAR} in a store URL, and refuses one that is unset instead of starting a fresh store", () => {
    const env = { DB_PASSWORD: "pw-1234", EMPTY: "" };
    assert.equal(expandEnvReferences("postgres://app:${DB_PASSWORD}@db/app", "store.url", env), "postgres://app:pw-1234@db/app");
    assert.equal(expandEnvReferences(undefined, "store.url", env), undefined);
    for (const url of ["${UNSET_VAR}", "postgres://${EMPTY}@db/app"]) {
      assert.throws(
        () => expandEnvReferences(url, "store.url", env),
        (error: unknown) => isEngineError(error) && error.code === "CONFIG_INVALID" && /store\.url refers to \$(UNSET_VAR|EMPTY)/.test(error.message),
      );
    }
  });
});

describe("service lookups: __proto__, constructor and toString are unknown services", () => {
  const names = ["__proto__", "constructor", "toString", "hasOwnProperty"];

  it("at the engine's query level", () => {
    const engine = { project: { config: parseProject(service("")) } } as unknown as Engine;
    for (const name of names) assert.throws(() => requireService(engine, name), { code: "SERVICE_UNKNOWN" }, name);
    requireService(engine, "web");
  });

  it("at the deployer's level (deploy and rollback)", async () => {
    const rig = await ready(new DeployerRig(testService()));
    try {
      for (const name of names) {
        await assert.rejects(rig.deployer.deploy(name, rig.dir), { code: "SERVICE_UNKNOWN" }, name);
        await assert.rejects(rig.deployer.rollback(name), { code: "SERVICE_UNKNOWN" }, name);
      }
      assert.deepEqual(await rig.store.releases.listInStates(["pending", "starting"]), []);
    } finally {
      await rig.close();
    }
  });
});
