import assert from "node:assert/strict";
import { chmod, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ciPublicKeyPattern } from "../config/index.js";
import { generateCiKey, keyFingerprint, publicKeyOf, readCiKey, signValue, trustedKeys, verifyValue } from "./index.js";
import { scratchFolder } from "./test-support.js";

const scratch = scratchFolder("engineroom-ci-key-");

describe("CI keys", () => {
  it("writes an owner-only private key, never over a file, and prints a public key the config takes", async () => {
    const file = join(scratch.dir(), "ci.key");
    const { publicKey, fingerprint } = generateCiKey(file);
    assert.match(publicKey, ciPublicKeyPattern);
    assert.equal(fingerprint, keyFingerprint(publicKey));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(publicKeyOf(readCiKey(file)), publicKey);
    assert.equal(publicKeyOf(readCiKey(await readFile(file, "utf8"))), publicKey, "the PEM text itself, as a CI secret holds it");
    assert.throws(() => generateCiKey(file), { code: "CI_KEY_INVALID" });
    await chmod(file, 0o644);
    assert.throws(() => readCiKey(file), (e: Error & { code?: string }) => e.code === "CI_KEY_INVALID" && /644/.test(e.message));
    assert.throws(() => readCiKey(join(scratch.dir(), "missing.key")), { code: "CI_KEY_INVALID" });
  });

  it("verifies a signature over the canonical JSON, in any key order, by a trusted key only", () => {
    const mine = generateCiKey(join(scratch.dir(), "mine.key"));
    const other = generateCiKey(join(scratch.dir(), "other.key"));
    const key = readCiKey(join(scratch.dir(), "mine.key"));
    const value = { b: 1, a: { d: [1, 2], c: "x" } };
    const signature = signValue(key, value);
    const keys = trustedKeys(["ed25519:" + "A".repeat(43) + "=", { name: "github", key: mine.publicKey }]);
    assert.equal(verifyValue(keys, { a: { c: "x", d: [1, 2] }, b: 1 }, signature).name, "github");
    assert.throws(() => verifyValue(trustedKeys([other.publicKey]), value, signature), { code: "ARTIFACT_UNTRUSTED" });
    assert.throws(() => verifyValue(keys, { ...value, b: 2 }, signature), { code: "ARTIFACT_UNTRUSTED" });
    assert.throws(() => verifyValue(keys, value, undefined), { code: "ARTIFACT_UNTRUSTED" });
    assert.throws(() => verifyValue(keys, value, "bm90IGEgc2lnbmF0dXJl"), { code: "ARTIFACT_UNTRUSTED" });
    assert.throws(() => verifyValue([], value, signature), (e: Error & { code?: string; hint?: string }) => e.code === "ARTIFACT_UNTRUSTED" && /ci\.trusted_keys/.test(e.hint ?? ""));
    assert.equal(trustedKeys([other.publicKey])[0]!.name, other.fingerprint, "a key without a name is named by its fingerprint");
  });
});
