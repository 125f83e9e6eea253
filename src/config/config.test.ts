import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EngineError } from "../core/index.js";
import { loadProject, parseProject, projectJsonSchema, serviceConfigHash, starterConfig } from "./index.js";

function invalid(text: string): EngineError {
  try {
    parseProject(text);
  } catch (error) {
    assert.ok(error instanceof EngineError);
    return error;
  }
  assert.fail("expected the config to be refused");
}

describe("config", () => {
  it("parses the starter file with every default filled in and durations in ms", () => {
    const config = parseProject(starterConfig("demo"));
    assert.equal(config.project, "demo");
    const web = config.services.web!;
    assert.equal(web.instances, 2);
    assert.equal(web.health.interval, 1000);
    assert.equal(web.release.watch, 300_000);
    assert.equal(web.restart.max_backoff, 30_000);
    assert.deepEqual(web.routes, [{ host: "*", path: "/" }]);
    assert.equal(config.proxy.listen, "127.0.0.1:8080");
  });

  it("fills defaults for a minimal service", () => {
    const config = parseProject("project: x\nservices:\n  api:\n    run: ./api\n");
    const api = config.services.api!;
    assert.equal(api.instances, 1);
    assert.equal(api.health.path, "/");
    assert.equal(api.health.healthy_threshold, 2);
    assert.equal(api.release.keep, 10);
    assert.deepEqual(api.smoke, []);
  });

  it("refuses an unknown key with its path and a suggestion", () => {
    const error = invalid("project: x\nservices:\n  web:\n    run: a\n    health: { intervall: 1s }\n");
    assert.equal(error.code, "CONFIG_INVALID");
    assert.match(error.message, /services\.web\.health\.intervall: unknown key; did you mean "interval"\?/);
  });

  it("refuses an unknown top-level key", () => {
    assert.match(invalid("project: x\nservice: {}\nservices:\n  web: { run: a }\n").message, /service: unknown key; did you mean "services"/);
  });

  it("refuses a wrong type and a missing run command", () => {
    const error = invalid("project: x\nservices:\n  web:\n    instances: two\n");
    assert.match(error.message, /services\.web\.run: missing; it is required/);
    assert.match(error.message, /services\.web\.instances: .*expected number/);
  });

  it("refuses two services on one route", () => {
    const error = invalid("project: x\nservices:\n  a: { run: a }\n  b: { run: b, routes: [{ path: / }] }\n");
    assert.match(error.message, /services\.b\.routes\.0: route \*\/ is already served by service "a"/);
  });

  it("accepts two services on different paths of one host", () => {
    const config = parseProject("project: x\nservices:\n  a: { run: a }\n  b: { run: b, routes: [{ path: /api }] }\n");
    assert.equal(Object.keys(config.services).length, 2);
  });

  it("refuses a duration it cannot read, and a bad listen address", () => {
    assert.match(invalid("project: x\nservices:\n  a: { run: a, release: { watch: soon } }\n").message, /"soon" is not a duration/);
    assert.match(invalid("project: x\nproxy: { listen: localhost }\nservices:\n  a: { run: a }\n").message, /proxy\.listen: write it as host:port/);
  });

  it("refuses YAML it cannot parse with the line", () => {
    const error = invalid("project: x\nservices:\n  web: [\n");
    assert.equal(error.code, "CONFIG_PARSE");
    assert.match(error.message, /engineroom\.yaml:\d+:\d+/);
  });

  it("says CONFIG_NOT_FOUND for a missing file, and freezes what it loads", () => {
    assert.throws(() => loadProject("/nonexistent/engineroom.yaml"), (e: EngineError) => e.code === "CONFIG_NOT_FOUND");
    const dir = mkdtempSync(join(tmpdir(), "engineroom-config-"));
    writeFileSync(join(dir, "engineroom.yaml"), starterConfig("demo"));
    const loaded = loadProject(join(dir, "engineroom.yaml"));
    assert.equal(loaded.stateDir, join(dir, ".engineroom"));
    assert.ok(Object.isFrozen(loaded.config.services.web!.health));
    assert.throws(() => {
      (loaded.config.services.web as { instances: number }).instances = 9;
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it("hashes a service's config independently of key order", () => {
    const a = parseProject("project: x\nservices:\n  web: { run: a, instances: 2 }\n").services.web!;
    const b = parseProject("project: x\nservices:\n  web: { instances: 2, run: a }\n").services.web!;
    const c = parseProject("project: x\nservices:\n  web: { instances: 3, run: a }\n").services.web!;
    assert.equal(serviceConfigHash(a), serviceConfigHash(b));
    assert.notEqual(serviceConfigHash(a), serviceConfigHash(c));
  });

  it("publishes a JSON Schema that rejects unknown keys", () => {
    const schema = projectJsonSchema() as { properties: Record<string, unknown>; additionalProperties: boolean; required: string[] };
    assert.equal(schema.additionalProperties, false);
    assert.ok(schema.properties.services && schema.properties.proxy);
    assert.deepEqual(schema.required.sort(), ["project", "services"]);
  });
});
