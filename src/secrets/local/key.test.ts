import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { coded } from "../test-support.js";
import { defaultKeyFile, generateKey, loadSecretsKey, parseKey, writeKeyFile } from "./index.js";

describe("secrets key", async () => {
  const root = await mkdtemp(join(tmpdir(), "engineroom-key-"));
  const home = join(root, "home");
  const project = join(root, "project");
  await mkdir(project, { recursive: true });
  after(() => rm(root, { recursive: true, force: true }));

  it("generates 32 random bytes as base64, different every time", () => {
    const a = generateKey();
    assert.equal(Buffer.from(a, "base64").length, 32);
    assert.notEqual(a, generateKey());
  });

  it("reads the key from ENGINEROOM_SECRETS_KEY, as base64 or hex", async () => {
    const key = generateKey();
    const bytes = Buffer.from(key, "base64");
    assert.deepEqual(await loadSecretsKey({ env: { ENGINEROOM_SECRETS_KEY: key }, homeDir: home }), bytes);
    assert.deepEqual(await loadSecretsKey({ env: { ENGINEROOM_SECRETS_KEY: bytes.toString("hex") }, homeDir: home }), bytes);
    assert.deepEqual(await loadSecretsKey({ env: { ENGINEROOM_SECRETS_KEY: ` ${bytes.toString("base64url")}\n` }, homeDir: home }), bytes);
  });

  it("refuses a key that is not 32 bytes, without quoting it", async () => {
    for (const bad of ["too-short-key-value", Buffer.alloc(31, 7).toString("base64"), "z".repeat(64), Buffer.alloc(33, 1).toString("hex")]) {
      await assert.rejects(loadSecretsKey({ env: { ENGINEROOM_SECRETS_KEY: bad }, homeDir: home }), coded("SECRET_KEY_INVALID", bad));
    }
    assert.throws(() => parseKey("abc", "somewhere"), coded("SECRET_KEY_INVALID", "abc"));
  });

  it("reads the default key file outside the project, and says SECRET_KEY_MISSING when there is none", async () => {
    await assert.rejects(loadSecretsKey({ env: {}, homeDir: home, projectDir: project }), coded("SECRET_KEY_MISSING"));
    const file = defaultKeyFile({ env: {}, homeDir: home });
    assert.equal(file, join(home, ".config", "engineroom", "secrets.key"));
    const key = await writeKeyFile(file);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(home, ".config", "engineroom"))).mode & 0o777, 0o700);
    assert.deepEqual(await loadSecretsKey({ env: {}, homeDir: home, projectDir: project }), Buffer.from(key, "base64"));
    await assert.rejects(writeKeyFile(file), /EEXIST/, "an existing key file is never replaced");
    assert.equal((await readFile(file, "utf8")).trim(), key);
    assert.equal(defaultKeyFile({ env: { XDG_CONFIG_HOME: "/xdg" } }), "/xdg/engineroom/secrets.key");
  });

  it("takes ENGINEROOM_SECRETS_KEY_FILE, then key_file, with ~ for the home folder", async () => {
    const a = join(root, "a.key");
    const b = join(root, "b.key");
    const keyA = await writeKeyFile(a);
    const keyB = await writeKeyFile(b);
    assert.deepEqual(await loadSecretsKey({ env: { ENGINEROOM_SECRETS_KEY_FILE: a }, keyFile: b, homeDir: home }), Buffer.from(keyA, "base64"));
    assert.deepEqual(await loadSecretsKey({ env: {}, keyFile: b, homeDir: home }), Buffer.from(keyB, "base64"));
    const inHome = await writeKeyFile(join(home, "keys", "c.key"));
    assert.deepEqual(await loadSecretsKey({ env: {}, keyFile: "~/keys/c.key", homeDir: home }), Buffer.from(inHome, "base64"));
    await assert.rejects(loadSecretsKey({ env: {}, keyFile: join(root, "none.key"), homeDir: home }), coded("SECRET_KEY_MISSING"));
  });

  it("refuses a key file that group or others may read (mode 0644), naming the fix", async () => {
    const file = join(root, "open.key");
    const key = generateKey();
    await writeFile(file, key + "\n", { mode: 0o644 });
    await assert.rejects(loadSecretsKey({ env: {}, keyFile: file, homeDir: home }), (error: unknown) => {
      coded("SECRET_KEY_INSECURE", key)(error);
      assert.match((error as Error).message, /mode 0644/);
      assert.match((error as { hint: string }).hint, /chmod 600/);
      return true;
    });
    for (const mode of [0o640, 0o604, 0o660]) {
      await chmod(file, mode);
      await assert.rejects(loadSecretsKey({ env: {}, keyFile: file, homeDir: home }), coded("SECRET_KEY_INSECURE", key));
    }
  });

  it("refuses a key file inside the project's folder, even through a relative path", async () => {
    const key = await writeKeyFile(join(project, "keys", "secrets.key"));
    await assert.rejects(loadSecretsKey({ env: {}, keyFile: "keys/secrets.key", projectDir: project, homeDir: home }), coded("SECRET_KEY_INSECURE", key));
    await assert.rejects(loadSecretsKey({ env: {}, keyFile: join(project, "keys", "secrets.key"), projectDir: project, homeDir: home }), coded("SECRET_KEY_INSECURE", key));
  });

  it("will not write a key inside the project's folder (HOME inside the project), and writes nothing there", async () => {
    const homeInside = join(project, "home");
    const file = defaultKeyFile({ env: {}, homeDir: homeInside });
    await assert.rejects(writeKeyFile(file, undefined, { projectDir: project }), (error: unknown) => {
      assert.equal((error as { code?: string }).code, "SECRET_KEY_INSECURE");
      assert.match((error as { hint: string }).hint, /ENGINEROOM_SECRETS_KEY/);
      assert.match((error as { hint: string }).hint, /XDG_CONFIG_HOME/);
      return true;
    });
    assert.equal(existsSync(homeInside), false);
    const outside = join(root, "outside-home", "secrets.key");
    await writeKeyFile(outside, undefined, { projectDir: project });
    assert.ok(existsSync(outside));
  });

  it("says SECRET_KEY_INVALID for a key file holding something else, without quoting it", async () => {
    const file = join(root, "junk.key");
    await writeFile(file, "this-is-not-a-key-but-a-passphrase\n", { mode: 0o600 });
    await assert.rejects(loadSecretsKey({ env: {}, keyFile: file, homeDir: home }), coded("SECRET_KEY_INVALID", "passphrase"));
    await assert.rejects(loadSecretsKey({ env: {}, keyFile: root, homeDir: home }), coded("SECRET_KEY_INVALID"));
  });
});
