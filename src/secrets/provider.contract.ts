import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { coded } from "./test-support.js";
import type { SecretProvider } from "./types.js";

/** A provider holding exactly `secrets`, and how to clean up after it. */
export interface ContractSubject {
  provider: SecretProvider;
  cleanup?: () => Promise<void>;
}

/**
 * The behaviour every SecretProvider shares, run by each provider's tests with its own way to hold
 * a given set of secrets (an env object, a folder of files, the encrypted store...). `listedAs` is
 * how a name shows in `list()` when the provider folds names (env: lower case, `-` and `.` as `_`).
 */
export function runSecretProviderContract(
  type: string,
  make: (secrets: Record<string, string>) => Promise<ContractSubject>,
  options: { listedAs?: (name: string) => string } = {},
): void {
  const listedAs = options.listedAs ?? ((name: string) => name);
  const secrets = {
    db_password: "correct horse battery staple",
    "api-token.v2": "tok_0123456789abcdef",
    multiline: "line one\nline two",
    unicode: "pässwörd-🔑-値",
  };

  describe(`SecretProvider contract: ${type}`, async () => {
    const { provider, cleanup } = await make(secrets);
    after(async () => cleanup?.());

    it(`says its type is ${type}`, () => {
      assert.equal(provider.type, type);
    });

    it("hands out each value exactly as it was stored", async () => {
      for (const [name, value] of Object.entries(secrets)) assert.equal(await provider.get(name), value, name);
    });

    it("answers undefined for a secret it does not hold", async () => {
      assert.equal(await provider.get("no_such_secret"), undefined);
    });

    it("lists names, sorted, and no value", async () => {
      const names = await provider.list();
      for (const name of Object.keys(secrets)) assert.ok(names.includes(listedAs(name)), name);
      assert.deepEqual(names, [...names].sort());
      const listed = JSON.stringify(names);
      for (const value of Object.values(secrets)) assert.ok(!listed.includes(value));
    });

    it("refuses names that could leave a folder or hide a file, with SECRET_NAME_INVALID", async () => {
      for (const name of ["../etc/passwd", "a/b", "..data", ".hidden", "", "a..b", "-rf", "x".repeat(129)]) {
        await assert.rejects(provider.get(name), coded("SECRET_NAME_INVALID"), JSON.stringify(name));
      }
    });
  });
}
