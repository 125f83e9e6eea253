import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSecretProviderContract } from "../provider.contract.js";
import { EnvSecretProvider } from "./index.js";

runSecretProviderContract("env", async (secrets) => {
  const env: Record<string, string> = { APP_: "not a secret name", PATH: "/usr/bin", OTHER_DB_PASSWORD: "elsewhere" };
  const provider = new EnvSecretProvider({ prefix: "APP_", env });
  for (const [name, value] of Object.entries(secrets)) env[provider.variableFor(name)] = value;
  return { provider };
}, { listedAs: (name) => name.toLowerCase().replace(/[-.]/g, "_") });

describe("EnvSecretProvider", () => {
  it("maps a name to PREFIX + NAME in upper case, with - and . as _", () => {
    const withPrefix = new EnvSecretProvider({ prefix: "APP_", env: {} });
    assert.equal(withPrefix.variableFor("db_password"), "APP_DB_PASSWORD");
    assert.equal(withPrefix.variableFor("stripe.key"), "APP_STRIPE_KEY");
    assert.equal(withPrefix.variableFor("api-token"), "APP_API_TOKEN");
    assert.equal(new EnvSecretProvider({ env: {} }).variableFor("db_password"), "DB_PASSWORD");
  });

  it("reads the variable the name maps to, and lists variables with the prefix back as names", async () => {
    const provider = new EnvSecretProvider({ prefix: "APP_", env: { APP_DB_PASSWORD: "s3cret-value", DB_PASSWORD: "unprefixed", HOME: "/root" } });
    assert.equal(await provider.get("db_password"), "s3cret-value");
    assert.equal(await provider.get("DB_PASSWORD"), "s3cret-value");
    assert.deepEqual(await provider.list(), ["db_password"]);
  });

  it("reads process.env at each call when no env is given", async () => {
    const provider = new EnvSecretProvider({ prefix: "ENGINEROOM_TEST_SECRETS_" });
    assert.equal(await provider.get("later"), undefined);
    process.env.ENGINEROOM_TEST_SECRETS_LATER = "set-after-construction";
    try {
      assert.equal(await provider.get("later"), "set-after-construction");
      assert.deepEqual(await provider.list(), ["later"]);
    } finally {
      delete process.env.ENGINEROOM_TEST_SECRETS_LATER;
    }
  });

  it("is read-only", () => {
    assert.equal("set" in new EnvSecretProvider(), false);
  });
});
