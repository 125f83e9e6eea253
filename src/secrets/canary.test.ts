import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { after, describe, it } from "node:test";
import { isEngineError, Redactor, type ErrorCode } from "../core/index.js";
import {
  createSecretProviders,
  FileSecretProvider,
  generateKey,
  LocalSecretStore,
  loadSecretsKey,
  providerFor,
  resolveSecrets,
  secretsConfigSchema,
  writableProviderFor,
  writeKeyFile,
  type SecretProvider,
} from "./index.js";

/**
 * The guardrail "no secret value in any error message or file" for this module: a canary secret is
 * planted, every error path is taken, and the canary (and the key) are looked for everywhere.
 */
describe("secret canary", async () => {
  const canary = `canary-${generateKey().replace(/[^A-Za-z0-9]/g, "")}`;
  const root = await mkdtemp(join(tmpdir(), "engineroom-canary-"));
  const project = join(root, "project");
  const stateDir = join(project, ".engineroom");
  const home = join(root, "home");
  const keyFile = join(home, ".config", "engineroom", "secrets.key");
  await mkdir(project, { recursive: true });
  const key = await writeKeyFile(keyFile);
  const keyBytes = Buffer.from(key, "base64");
  const forbidden = [canary, Buffer.from(canary).toString("base64"), Buffer.from(canary).toString("hex"), key, keyBytes.toString("hex"), keyBytes.toString("base64url")];
  after(() => rm(root, { recursive: true, force: true }));

  const env = { APP_CANARY: canary };
  const config = secretsConfigSchema.parse({
    default: "local",
    providers: { local: { type: "local" }, ci: { type: "env", prefix: "APP_" }, mounted: { type: "file", dir: "mounted" } },
  });
  const secrets = createSecretProviders(config, { projectDir: project, stateDir, env, homeDir: home });
  const local = writableProviderFor(secrets, "local").provider;
  const storeFile = join(stateDir, "secrets.json");
  await local.set("canary", canary);
  await local.set("neighbour", "neighbour-value");

  const errors: Array<{ path: string; error: unknown }> = [];
  async function expectError(path: string, code: ErrorCode, action: () => unknown): Promise<void> {
    try {
      await action();
    } catch (error) {
      assert.ok(isEngineError(error), `${path}: ${String(error)}`);
      assert.equal(error.code, code, `${path}: ${error.message}`);
      errors.push({ path, error });
      return;
    }
    assert.fail(`${path}: expected ${code}, nothing was thrown`);
  }

  it("is handed out where it belongs, and masked once resolved", async () => {
    const redactor = new Redactor();
    const resolved = await resolveSecrets({ FROM_STORE: { secret: "canary" }, FROM_ENV: { secret: "canary", provider: "ci" } }, secrets, redactor);
    assert.deepEqual(resolved, { FROM_STORE: canary, FROM_ENV: canary });
    assert.equal(redactor.redact(`the app printed ${canary}`), "the app printed [REDACTED:canary]");
  });

  it("appears in no error of any path", async () => {
    const read = (file: string, keyFrom: () => Buffer | Promise<Buffer>) => new LocalSecretStore({ file, key: keyFrom });
    const original = await readFile(storeFile, "utf8");

    // names and values
    await expectError("get, bad name", "SECRET_NAME_INVALID", () => local.get("../canary"));
    await expectError("set, bad name, canary value", "SECRET_NAME_INVALID", () => local.set("bad/name", canary));
    await expectError("file get, bad name", "SECRET_NAME_INVALID", () => providerFor(secrets, "mounted").provider.get(".."));
    await expectError("env get, bad name", "SECRET_NAME_INVALID", () => providerFor(secrets, "ci").provider.get("a/b"));
    await expectError("set, NUL in the canary", "SECRET_VALUE_INVALID", () => local.set("canary_two", `${canary}\0`));
    // providers
    await expectError("unknown provider", "SECRET_PROVIDER_UNKNOWN", () => providerFor(secrets, "vault"));
    await expectError("read-only provider", "SECRET_PROVIDER_READ_ONLY", () => writableProviderFor(secrets, "ci"));
    await writeFile(join(root, "not-a-folder"), "x");
    await expectError("file list, not a folder", "SECRET_PROVIDER_FAILED", () => new FileSecretProvider({ dir: join(root, "not-a-folder") }).list());
    await expectError("store is a folder", "SECRET_PROVIDER_FAILED", () => read(stateDir, () => keyBytes).list());
    await expectError("store cannot be written", "SECRET_PROVIDER_FAILED", () => read(join(root, "not-a-folder", "s.json"), () => keyBytes).set("canary", canary));
    const leaky: SecretProvider = { type: "test", list: async () => [], get: async () => { throw new Error(`backend echoed ${canary}`); } };
    const redactor = new Redactor();
    await resolveSecrets({ C: { secret: "canary" } }, secrets, redactor);
    await expectError("uncoded provider failure", "SECRET_PROVIDER_FAILED", () => resolveSecrets({ C: { secret: "canary" } }, { providers: { leaky } , default: "leaky" }, redactor));
    // keys
    await expectError("no key", "SECRET_KEY_MISSING", () => read(storeFile, () => loadSecretsKey({ env: {}, homeDir: join(root, "nohome") })).get("canary"));
    await expectError("key not 32 bytes", "SECRET_KEY_INVALID", () => loadSecretsKey({ env: { ENGINEROOM_SECRETS_KEY: key.slice(0, 40) } }));
    const openKey = join(root, "open.key");
    await writeFile(openKey, key, { mode: 0o644 });
    await chmod(openKey, 0o644);
    await expectError("key file 0644", "SECRET_KEY_INSECURE", () => loadSecretsKey({ env: {}, keyFile: openKey, homeDir: home }));
    await writeKeyFile(join(project, "in-project.key"), key);
    await expectError("key file in the project", "SECRET_KEY_INSECURE", () => loadSecretsKey({ env: {}, keyFile: "in-project.key", projectDir: project, homeDir: home }));
    await expectError("wrong key", "SECRET_KEY_WRONG", () => read(storeFile, () => Buffer.from(generateKey(), "base64")).get("canary"));
    // the store file
    const document = JSON.parse(original);
    [document.secrets.canary, document.secrets.neighbour] = [document.secrets.neighbour, document.secrets.canary];
    await writeFile(storeFile, JSON.stringify(document));
    await expectError("swapped values", "SECRET_STORE_CORRUPT", () => local.get("neighbour"));
    // Flip one bit of the canary's own tag (a textual edit could hit the other secret's, or change nothing).
    const altered = JSON.parse(original);
    const tag = Buffer.from(altered.secrets.canary.tag, "base64");
    tag[0]! ^= 1;
    altered.secrets.canary.tag = tag.toString("base64");
    await writeFile(storeFile, JSON.stringify(altered));
    await expectError("altered tag", "SECRET_STORE_CORRUPT", () => local.get("canary"));
    await writeFile(storeFile, original.slice(0, original.length / 2));
    await expectError("half a file", "SECRET_STORE_CORRUPT", () => local.list());
    await writeFile(storeFile, original);
    // resolution
    await expectError("missing secret next to the canary", "SECRET_NOT_FOUND", () =>
      resolveSecrets({ C: { secret: "canary" }, M: { secret: "missing_one" } }, secrets, new Redactor()),
    );

    const codes = new Set(errors.map(({ error }) => (error as { code: string }).code));
    assert.equal(codes.size, 11, `every SECRET_* code is exercised: ${[...codes].join(", ")}`);
    for (const { path, error } of errors) {
      const e = error as Error & { hint: string };
      const seen = [e.message, e.hint, JSON.stringify(error), String(e.stack), inspect(error, { depth: 10 })].join("\n");
      for (const text of forbidden) assert.ok(!seen.includes(text), `${path}: the error holds a secret or the key`);
    }
  });

  it("is in no file but the encrypted store, and there only as ciphertext", async () => {
    const files: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else files.push(path);
      }
    };
    await walk(root);
    assert.ok(files.includes(storeFile));
    for (const file of files) {
      const bytes = await readFile(file);
      for (const text of forbidden.slice(0, 3)) assert.equal(bytes.indexOf(text), -1, `${file} holds the canary`);
    }
    assert.equal(await new LocalSecretStore({ file: storeFile, key: keyBytes }).get("canary"), canary, "the store still opens with its key");
  });
});
