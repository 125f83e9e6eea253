import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isEngineError } from "../core/index.js";
import {
  createSecretProviders,
  envValueSchema,
  EnvSecretProvider,
  FileSecretProvider,
  generateKey,
  LocalSecretStore,
  providerFor,
  secretProviderTypes,
  secretsConfigSchema,
  writableProviderFor,
} from "./index.js";

describe("secrets config", () => {
  it("defaults to one encrypted local store, which is the default provider", () => {
    assert.deepEqual(secretsConfigSchema.parse(undefined), { providers: { local: { type: "local" } }, default: "local" });
    assert.deepEqual(secretsConfigSchema.parse({}), { providers: { local: { type: "local" } }, default: "local" });
  });

  it("takes named providers of every registered type, and their options", () => {
    const parsed = secretsConfigSchema.parse({
      default: "vault1",
      providers: { vault1: { type: "file", dir: "/run/secrets" }, ci: { type: "env", prefix: "APP_" }, store: { type: "local", key_file: "~/k.key" } },
    });
    assert.equal(parsed.default, "vault1");
    assert.deepEqual(parsed.providers.ci, { type: "env", prefix: "APP_" });
    assert.deepEqual(Object.keys(secretProviderTypes).sort(), ["env", "file", "local"]);
  });

  it("takes the only provider as the default, and wants one named when there are several", () => {
    assert.equal(secretsConfigSchema.parse({ providers: { mounted: { type: "file", dir: "/s" } } }).default, "mounted");
    assert.equal(secretsConfigSchema.parse({ providers: { a: { type: "env" }, b: { type: "local" } } }).default, undefined);
  });

  it("refuses unknown types, unknown options, a missing option and a default that is not declared, with paths", () => {
    const issues = (input: unknown) => secretsConfigSchema.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.code}`);
    assert.deepEqual(issues({ providers: { v: { type: "vault" } } }), ["providers.v.type: invalid_union"]);
    assert.deepEqual(issues({ providers: { v: { type: "file", dir: "/s", prefix: "X" } } }), ["providers.v: unrecognized_keys"]);
    assert.deepEqual(issues({ providers: { v: { type: "file" } } }), ["providers.v.dir: invalid_type"]);
    assert.deepEqual(issues({ providers: { v: { type: "env" } }, default: "w" }), ["default: custom"]);
    assert.deepEqual(issues({ providers: { Bad_Name: { type: "env" } } }), ["providers.Bad_Name: invalid_key"]);
  });

  it("reads an env value as plain text or a reference by name, never anything else", () => {
    assert.equal(envValueSchema.parse("info"), "info");
    assert.deepEqual(envValueSchema.parse({ secret: "db_password" }), { secret: "db_password" });
    assert.deepEqual(envValueSchema.parse({ secret: "db_password", provider: "vault1" }), { secret: "db_password", provider: "vault1" });
    for (const bad of [{ secret: "../x" }, { secret: "a", value: "inline" }, { provider: "local" }, 42]) {
      assert.equal(envValueSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

describe("createSecretProviders", async () => {
  const root = await mkdtemp(join(tmpdir(), "engineroom-registry-"));
  after(() => rm(root, { recursive: true, force: true }));

  it("makes each provider from its type, paths relative to the project, the local store in the state folder", async () => {
    const project = join(root, "project");
    await mkdir(join(project, "mounted"), { recursive: true });
    await writeFile(join(project, "mounted", "api_token"), "from-file\n");
    const key = generateKey();
    const config = secretsConfigSchema.parse({
      default: "store",
      providers: { store: { type: "local" }, files: { type: "file", dir: "mounted" }, ci: { type: "env", prefix: "APP_" } },
    });
    const secrets = createSecretProviders(config, {
      projectDir: project,
      stateDir: join(project, ".engineroom"),
      env: { APP_DB_PASSWORD: "from-env", ENGINEROOM_SECRETS_KEY: key },
      homeDir: join(root, "home"),
    });
    assert.ok(secrets.providers.store instanceof LocalSecretStore);
    assert.ok(secrets.providers.files instanceof FileSecretProvider);
    assert.ok(secrets.providers.ci instanceof EnvSecretProvider);
    assert.equal(await secrets.providers.ci!.get("db_password"), "from-env");
    assert.equal(await secrets.providers.files!.get("api_token"), "from-file");
    const store = writableProviderFor(secrets);
    assert.equal(store.name, "store");
    await store.provider.set("session_key", "from-store");
    const again = new LocalSecretStore({ file: join(project, ".engineroom", "secrets.json"), key: Buffer.from(key, "base64") });
    assert.equal(await again.get("session_key"), "from-store");
  });

  it("does not touch a provider's files or key until it is asked", () => {
    const config = secretsConfigSchema.parse({ providers: { l: { type: "local", key_file: "/nowhere/k.key" }, f: { type: "file", dir: "/nowhere" } } });
    assert.doesNotThrow(() => createSecretProviders(config, { projectDir: root, stateDir: "/nowhere", env: {} }));
  });

  it("picks providers by name, or the default, and refuses unknown and read-only ones with codes", () => {
    const secrets = createSecretProviders(secretsConfigSchema.parse({ providers: { ci: { type: "env" }, store: { type: "local" } } }), { projectDir: root, stateDir: root, env: {} });
    assert.equal(providerFor(secrets, "ci").provider.type, "env");
    const code = (expected: string) => (error: unknown) => isEngineError(error) && error.code === expected;
    assert.throws(() => providerFor(secrets), code("SECRET_PROVIDER_UNKNOWN"));
    assert.throws(() => providerFor(secrets, "vault"), (error: unknown) => code("SECRET_PROVIDER_UNKNOWN")(error) && /declared: ci, store/.test((error as Error).message));
    assert.throws(() => providerFor(secrets, "toString"), code("SECRET_PROVIDER_UNKNOWN"));
    assert.throws(() => writableProviderFor(secrets, "ci"), code("SECRET_PROVIDER_READ_ONLY"));
    assert.equal(writableProviderFor(secrets, "store").provider.type, "local");
  });
});
