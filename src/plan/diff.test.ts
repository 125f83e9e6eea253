import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diffServiceConfigs } from "./diff.js";
import { service } from "./test-support.js";
import { formatValue } from "./values.js";

describe("diffServiceConfigs", () => {
  it("finds nothing between equal configs, whatever their key order", () => {
    const a = service({ env: { A: "1", B: "2" }, instances: 2 });
    const b = service({ instances: 2, env: { B: "2", A: "1" } });
    assert.deepEqual(diffServiceConfigs(a, b), []);
  });

  it("lists scalar, nested-object and env changes by path, sorted", () => {
    const before = service({ instances: 2, env: { GREETING: "hi", OLD: "x" }, health: { path: "/health" } });
    const after = service({ instances: 3, env: { GREETING: "hello", NEW: "y" }, health: { path: "/healthz", timeout: "5s" } });
    assert.deepEqual(diffServiceConfigs(before, after), [
      { path: "env.GREETING", before: "hi", after: "hello" },
      { path: "env.NEW", after: "y" },
      { path: "env.OLD", before: "x" },
      { path: "health.path", before: "/health", after: "/healthz" },
      { path: "health.timeout", before: 2000, after: 5000 },
      { path: "instances", before: 2, after: 3 },
    ]);
  });

  it("walks lists element by element, and compares routes whole", () => {
    const smoke = { path: "/", expect: { status: 200 } };
    const before = service({ smoke: [smoke], routes: [{ path: "/" }, { path: "/api" }] });
    const after = service({
      smoke: [{ ...smoke, expect: { status: 204, headers: { "content-type": "text/plain" } } }, { name: "second", path: "/b" }],
      routes: [{ path: "/" }, { path: "/v2" }],
    });
    const diffs = diffServiceConfigs(before, after);
    assert.deepEqual(
      diffs.map((d) => d.path),
      ["routes", "smoke[0].expect.headers.content-type", "smoke[0].expect.status", "smoke[1]"],
    );
    assert.deepEqual(diffs[0], {
      path: "routes",
      before: [{ host: "*", path: "/" }, { host: "*", path: "/api" }],
      after: [{ host: "*", path: "/" }, { host: "*", path: "/v2" }],
    });
    assert.deepEqual(diffs[2], { path: "smoke[0].expect.status", before: 200, after: 204 });
    assert.equal(diffs[3]!.before, undefined);
    assert.equal((diffs[3]!.after as { name: string }).name, "second");
  });

  it("treats an added or removed optional key as a change of that key", () => {
    const diffs = diffServiceConfigs(service({ smoke: [{ path: "/" }] }), service({ smoke: [{ path: "/", body: "{}" }] }));
    assert.deepEqual(diffs, [{ path: "smoke[0].body", after: "{}" }]);
    const { artifact: _, ...noArtifact } = service();
    assert.deepEqual(diffServiceConfigs(service(), noArtifact as ReturnType<typeof service>), [{ path: "artifact", before: "./app" }]);
  });

  it("keeps a secret reference whole and never looks inside it", () => {
    const before = service({ env: { DB_PASSWORD: { secret: "db_password" }, TOKEN: "plain", KEY: { secret: "k1" } } });
    const after = service({ env: { DB_PASSWORD: "literal", TOKEN: { secret: "api_token", provider: "vault" }, KEY: { secret: "k1", provider: "vault" } } });
    assert.deepEqual(diffServiceConfigs(before, after), [
      { path: "env.DB_PASSWORD", before: { secret: "db_password" }, after: "literal" },
      { path: "env.KEY", before: { secret: "k1" }, after: { secret: "k1", provider: "vault" } },
      { path: "env.TOKEN", before: "plain", after: { secret: "api_token", provider: "vault" } },
    ]);
    assert.deepEqual(diffServiceConfigs(before, service({ env: { KEY: { secret: "k1" }, TOKEN: "plain", DB_PASSWORD: { secret: "db_password" } } })), []);
  });
});

describe("formatValue", () => {
  it("quotes strings, shows durations, secret references by name and missing values", () => {
    assert.equal(formatValue("hi"), '"hi"');
    assert.equal(formatValue(3), "3");
    assert.equal(formatValue(5000, "timeout"), "5s");
    assert.equal(formatValue(300_000, "watch"), "5m");
    assert.equal(formatValue(undefined), "(none)");
    assert.equal(formatValue({ secret: "db_password" }), "(secret db_password)");
    assert.equal(formatValue({ secret: "db_password", provider: "vault" }), "(secret db_password from vault)");
    assert.equal(formatValue([{ host: "*", path: "/" }]), '[{ host: "*", path: "/" }]');
    assert.equal(formatValue({ A: { secret: "a" }, "x.y": "z" }), '{ A: (secret a), ["x.y"]: "z" }');
  });
});
