import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineError } from "../core/index.js";
import { adminCaller, authorize, can, parseScope, type Caller, type Scope } from "./access.js";

const caller = (...scopes: Scope[]): Caller => ({ name: "bot", tokenId: "tok_1", scopes, via: "api" });

describe("scopes", () => {
  it("parses every form, and refuses anything else with TOKEN_SCOPE_INVALID and the forms as hint", () => {
    for (const text of ["read", "approve", "admin", "deploy:staging", "promote:production", "rollback:*", "apply:prod-eu_1"]) {
      assert.equal(parseScope(text), text);
    }
    for (const text of ["", "write", "deploy", "deploy:", "deploy:a:b", "rollback:bad env", "Read", "admin:*", "deploy:-x"]) {
      assert.throws(
        () => parseScope(text),
        (error: unknown) => error instanceof EngineError && error.code === "TOKEN_SCOPE_INVALID" && error.hint.includes("deploy:<env>"),
        text,
      );
    }
    assert.throws(() => parseScope("deploy"), /deploy needs an environment/);
  });

  it("admin grants everything; every scope implies read; approve and admin are their own", () => {
    const admin = adminCaller();
    for (const need of ["read", "approve", "admin", "deploy:x", "rollback:*"] as Scope[]) assert.ok(can(admin, need), need);
    assert.ok(can(caller("rollback:production"), "read"));
    assert.ok(can(caller("approve"), "read"));
    assert.ok(!can(caller("read"), "approve"));
    assert.ok(!can(caller("deploy:*"), "admin"));
    assert.ok(!can(caller("deploy:*"), "approve"));
    assert.ok(!can(caller(), "read"));
  });

  it("environment scopes: * covers every environment, deploy implies rollback, rollback is narrower", () => {
    assert.ok(can(caller("deploy:*"), "deploy:production"));
    assert.ok(can(caller("deploy:staging"), "deploy:staging"));
    assert.ok(!can(caller("deploy:staging"), "deploy:production"));
    assert.ok(can(caller("deploy:staging"), "rollback:staging"));
    assert.ok(can(caller("deploy:*"), "rollback:production"));
    assert.ok(!can(caller("rollback:production"), "deploy:production"));
    assert.ok(can(caller("rollback:production"), "rollback:production"));
    assert.ok(!can(caller("rollback:production"), "rollback:staging"));
    assert.ok(!can(caller("deploy:staging"), "deploy:*"));
    assert.ok(!can(caller("deploy:production"), "promote:production"));
    assert.ok(can(caller("promote:*"), "promote:production"));
    assert.ok(can(caller("apply:production"), "apply:production"));
    assert.ok(!can(caller("apply:production"), "deploy:production"));
  });

  it("authorize throws ACCESS_DENIED (403) naming the scope needed and the token", () => {
    authorize(caller("deploy:*"), "deploy:staging");
    assert.throws(
      () => authorize(caller("read"), "deploy:staging"),
      (error: unknown) =>
        error instanceof EngineError &&
        error.code === "ACCESS_DENIED" &&
        error.status === 403 &&
        error.message.includes("deploy:staging") &&
        error.message.includes('"bot"') &&
        error.hint.includes("tokens create"),
    );
  });
});
