import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isEngineError, Redactor } from "../core/index.js";
import { EnvSecretProvider, isSecretRef, resolveSecrets, secretRefs, type SecretProvider, type SecretProviders } from "./index.js";

function providers(values: Record<string, Record<string, string>>, defaultName?: string): SecretProviders {
  const entries = Object.entries(values).map(([name, env]) => [name, new EnvSecretProvider({ env })] as const);
  return { providers: Object.fromEntries(entries), default: defaultName };
}

describe("resolveSecrets", () => {
  it("keeps plain values, fetches references from their provider or the default, and registers every value before returning", async () => {
    const redactor = new Redactor();
    const secrets = providers({ main: { DB_PASSWORD: "db-value-1234" }, ci: { API_TOKEN: "token-value-5678" } }, "main");
    const env = await resolveSecrets(
      { LOG_LEVEL: "info", DB_PASSWORD: { secret: "db_password" }, TOKEN: { secret: "api_token", provider: "ci" }, DB_AGAIN: { secret: "db_password", provider: "main" } },
      secrets,
      redactor,
    );
    assert.deepEqual(env, { LOG_LEVEL: "info", DB_PASSWORD: "db-value-1234", TOKEN: "token-value-5678", DB_AGAIN: "db-value-1234" });
    assert.equal(redactor.size, 2);
    assert.equal(redactor.redact("connecting with db-value-1234 and token-value-5678"), "connecting with [REDACTED:db_password] and [REDACTED:api_token]");
    assert.equal(redactor.redact("info"), "info", "plain values are not secrets");
  });

  it("warns loudly, naming the secret and its provider but never the value, of a secret too short to redact", async () => {
    const warnings: string[] = [];
    const redactor = new Redactor();
    const env = await resolveSecrets({ PIN: { secret: "pin" }, LONG: { secret: "long" } }, providers({ main: { PIN: "x7q", LONG: "long-enough" } }, "main"), redactor, {
      warn: (message) => warnings.push(message),
    });
    assert.deepEqual(env, { PIN: "x7q", LONG: "long-enough" });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /secret "pin" from provider "main" \(for PIN\) is shorter than 4 characters/);
    assert.ok(!warnings[0]!.includes("x7q"));
    assert.equal(redactor.size, 1);
  });

  it("fetches a secret used by several variables once", async () => {
    let calls = 0;
    const counting: SecretProvider = { type: "test", get: async () => (calls++, "shared-value"), list: async () => ["shared"] };
    const env = await resolveSecrets({ A: { secret: "shared" }, B: { secret: "shared" } }, { providers: { p: counting }, default: "p" }, new Redactor());
    assert.deepEqual(env, { A: "shared-value", B: "shared-value" });
    assert.equal(calls, 1);
  });

  it("says SECRET_NOT_FOUND naming every missing secret, its provider and variable, and no value", async () => {
    const redactor = new Redactor();
    const secrets = providers({ main: { PRESENT: "present-value-999" }, other: {} }, "main");
    await assert.rejects(
      resolveSecrets({ OK: { secret: "present" }, DB_PASSWORD: { secret: "db_password" }, KEY: { secret: "api_key", provider: "other" } }, secrets, redactor),
      (error: unknown) => {
        assert.ok(isEngineError(error));
        assert.equal(error.code, "SECRET_NOT_FOUND");
        assert.match(error.message, /"api_key" in provider "other" \(for KEY\)/);
        assert.match(error.message, /"db_password" in provider "main" \(for DB_PASSWORD\)/);
        assert.ok(!error.message.includes("present-value-999") && !JSON.stringify(error).includes("present-value-999"));
        return true;
      },
    );
    assert.equal(redactor.redact("present-value-999"), "[REDACTED:present]", "what was fetched is masked even though the call failed");
  });

  it("says SECRET_NOT_FOUND for one missing secret in a sentence of its own", async () => {
    await assert.rejects(resolveSecrets({ DB: { secret: "db_password" } }, providers({ main: {} }, "main"), new Redactor()), {
      code: "SECRET_NOT_FOUND",
      message: 'Secret "db_password" in provider "main" (for DB) was not found.',
    });
  });

  it("says SECRET_PROVIDER_UNKNOWN for a provider not declared, or no default", async () => {
    await assert.rejects(resolveSecrets({ A: { secret: "a_b", provider: "vault" } }, providers({ main: {} }, "main"), new Redactor()), { code: "SECRET_PROVIDER_UNKNOWN" });
    await assert.rejects(resolveSecrets({ A: { secret: "a_b" } }, providers({ main: {}, other: {} }), new Redactor()), { code: "SECRET_PROVIDER_UNKNOWN" });
    assert.deepEqual(await resolveSecrets({ A: "plain" }, providers({}), new Redactor()), { A: "plain" }, "no reference, no provider needed");
  });

  it("codes a provider's uncoded failure as SECRET_PROVIDER_FAILED, with known values masked", async () => {
    const redactor = new Redactor();
    redactor.add("earlier", "earlier-secret-value");
    const broken: SecretProvider = { type: "test", get: async () => { throw new Error("backend said earlier-secret-value"); }, list: async () => [] };
    await assert.rejects(resolveSecrets({ A: { secret: "x_y" } }, { providers: { b: broken }, default: "b" }, redactor), (error: unknown) => {
      assert.ok(isEngineError(error));
      assert.equal(error.code, "SECRET_PROVIDER_FAILED");
      assert.match(error.message, /Provider "b" failed to fetch secret "x_y": backend said \[REDACTED:earlier\]/);
      return true;
    });
  });

  it("refuses a value with a NUL byte, after registering it, without quoting it", async () => {
    const redactor = new Redactor();
    const secrets = providers({ main: { BAD: "nul\0inside-value" } }, "main");
    await assert.rejects(resolveSecrets({ B: { secret: "bad" } }, secrets, redactor), (error: unknown) => {
      assert.ok(isEngineError(error) && error.code === "SECRET_VALUE_INVALID");
      assert.ok(!JSON.stringify(error).includes("inside-value"));
      return true;
    });
    assert.equal(redactor.size, 1);
  });
});

describe("secretRefs", () => {
  it("lists references by variable with their provider, and no plain value", () => {
    const env = { Z_TOKEN: { secret: "token", provider: "ci" }, LOG: "debug", A_DB: { secret: "db_password" } };
    assert.deepEqual(secretRefs(env, "main"), [
      { variable: "A_DB", secret: "db_password", provider: "main" },
      { variable: "Z_TOKEN", secret: "token", provider: "ci" },
    ]);
    assert.equal(secretRefs(env)[0]!.provider, undefined);
    assert.equal(isSecretRef("text"), false);
    assert.equal(isSecretRef({ secret: "x" }), true);
  });
});
