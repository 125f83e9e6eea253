import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runSecretProviderContract } from "../provider.contract.js";
import { coded } from "../test-support.js";
import { writeFileAtomic } from "./atomic-write.js";
import { generateKey, isTemporaryOf, LocalSecretStore } from "./index.js";

const keyOf = (base64: string) => Buffer.from(base64, "base64");

runSecretProviderContract("local", async (secrets) => {
  const dir = await mkdtemp(join(tmpdir(), "engineroom-local-contract-"));
  const provider = new LocalSecretStore({ file: join(dir, "secrets.json"), key: keyOf(generateKey()) });
  for (const [name, value] of Object.entries(secrets)) await provider.set(name, value);
  return { provider, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe("LocalSecretStore", async () => {
  const root = await mkdtemp(join(tmpdir(), "engineroom-local-store-"));
  after(() => rm(root, { recursive: true, force: true }));
  let count = 0;
  const fresh = (key = keyOf(generateKey())) => {
    const file = join(root, `store-${++count}`, "secrets.json");
    return { file, key, store: new LocalSecretStore({ file, key }) };
  };

  it("round-trips values, lists names, replaces and removes", async () => {
    const { store } = fresh();
    assert.deepEqual(await store.list(), []);
    assert.equal(await store.get("db_password"), undefined);
    await store.set("db_password", "first-value");
    await store.set("api_token", "second-value");
    await store.set("db_password", "replaced-value");
    assert.equal(await store.get("db_password"), "replaced-value");
    assert.deepEqual(await store.list(), ["api_token", "db_password"]);
    assert.equal(await store.remove("api_token"), true);
    assert.equal(await store.remove("api_token"), false);
    assert.deepEqual(await store.list(), ["db_password"]);
  });

  it("keeps no plaintext on disk, writes mode 0600, and seals each write under a new nonce", async () => {
    const { store, file, key } = fresh();
    const value = "plaintext-must-not-appear-0123456789";
    await store.set("db_password", value);
    const first = await readFile(file);
    await store.set("db_password", value);
    const second = await readFile(file);
    for (const bytes of [first, second]) {
      assert.equal(bytes.indexOf(Buffer.from(value)), -1);
      assert.equal(bytes.indexOf(Buffer.from(value).toString("base64")), -1);
      assert.equal(bytes.indexOf(key), -1);
      assert.equal(bytes.indexOf(key.toString("base64")), -1);
    }
    assert.notDeepEqual(first, second, "same value, new nonce, other ciphertext");
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const document = JSON.parse(second.toString("utf8"));
    assert.equal(document.format, "engineroom-secrets");
    assert.equal(document.cipher, "aes-256-gcm");
    assert.equal(Buffer.from(document.secrets.db_password.nonce, "base64").length, 12);
  });

  it("says SECRET_STORE_CORRUPT for altered ciphertext or tag", async () => {
    const { store, file } = fresh();
    await store.set("db_password", "value-to-tamper-with");
    const original = JSON.parse(await readFile(file, "utf8"));
    for (const field of ["data", "tag", "nonce"] as const) {
      const document = structuredClone(original);
      const bytes = Buffer.from(document.secrets.db_password[field], "base64");
      bytes[0]! ^= 1;
      document.secrets.db_password[field] = bytes.toString("base64");
      await writeFile(file, JSON.stringify(document));
      await assert.rejects(store.get("db_password"), coded("SECRET_STORE_CORRUPT", "value-to-tamper-with"), field);
    }
  });

  it("says SECRET_STORE_CORRUPT when values are swapped or copied between names", async () => {
    const { store, file } = fresh();
    await store.set("admin_password", "admin-value-xyz");
    await store.set("guest_password", "guest-value-xyz");
    const document = JSON.parse(await readFile(file, "utf8"));
    [document.secrets.admin_password, document.secrets.guest_password] = [document.secrets.guest_password, document.secrets.admin_password];
    document.secrets.copied = document.secrets.admin_password;
    await writeFile(file, JSON.stringify(document));
    for (const name of ["admin_password", "guest_password", "copied"]) {
      await assert.rejects(store.get(name), coded("SECRET_STORE_CORRUPT", "admin-value-xyz", "guest-value-xyz"), name);
    }
  });

  it("says SECRET_STORE_CORRUPT for a file that is not a store", async () => {
    const { store, file } = fresh();
    await store.set("a_secret", "some-value");
    for (const text of ["{not json", "[]", JSON.stringify({ format: "engineroom-secrets", version: 9, secrets: {} }), JSON.stringify({ format: "engineroom-secrets", version: 1, secrets: { "../x": { nonce: "", data: "", tag: "" } } })]) {
      await writeFile(file, text);
      await assert.rejects(store.list(), coded("SECRET_STORE_CORRUPT"));
    }
  });

  it("says SECRET_KEY_WRONG for another key, naming neither key nor value, and will not mix keys in one store", async () => {
    const { store, file } = fresh();
    await store.set("db_password", "value-under-key-one");
    const wrongKey = generateKey();
    const other = new LocalSecretStore({ file, key: keyOf(wrongKey) });
    assert.deepEqual(await other.list(), ["db_password"], "names need no key");
    await assert.rejects(other.get("db_password"), coded("SECRET_KEY_WRONG", wrongKey, keyOf(wrongKey).toString("hex"), "value-under-key-one"));
    await assert.rejects(other.set("new_one", "x-value"), coded("SECRET_KEY_WRONG", wrongKey));
    assert.equal(await other.remove("db_password"), true, "removing needs no key");
    await other.set("new_one", "value-under-key-two");
    assert.equal(await other.get("new_one"), "value-under-key-two", "an emptied store takes a new key");
  });

  it("loads the key lazily, once, and tries again after a failure", async () => {
    const file = join(root, "lazy", "secrets.json");
    let calls = 0;
    let key: Buffer | undefined;
    const store = new LocalSecretStore({
      file,
      key: () => {
        calls++;
        if (!key) throw new Error("no key yet");
        return key;
      },
    });
    assert.deepEqual(await store.list(), []);
    assert.equal(await store.get("x_name"), undefined);
    assert.equal(calls, 0, "nothing stored, nothing to open");
    await assert.rejects(store.set("x_name", "value-1"), /no key yet/);
    key = keyOf(generateKey());
    await store.set("x_name", "value-1");
    await store.set("y_name", "value-2");
    assert.equal(await store.get("x_name"), "value-1");
    assert.equal(calls, 2);
  });

  it("serializes concurrent writes of one process, so none is lost", async () => {
    const { store } = fresh();
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`secret_${i}`, `value-${i}`)));
    assert.equal((await store.list()).length, 20);
    for (let i = 0; i < 20; i++) assert.equal(await store.get(`secret_${i}`), `value-${i}`);
  });

  it("refuses a value no environment variable can hold", async () => {
    const { store } = fresh();
    await assert.rejects(store.set("nul", "before\0after-value"), coded("SECRET_VALUE_INVALID", "after-value"));
  });

  it("refuses an empty value and one too short to redact, storing nothing", async () => {
    const { store } = fresh();
    await assert.rejects(store.set("empty", ""), { code: "SECRET_VALUE_INVALID", message: /is empty/ });
    await assert.rejects(store.set("pin", "x7q"), { code: "SECRET_VALUE_INVALID", message: /shorter than 4 characters/ });
    assert.deepEqual(await store.list(), []);
  });
});

describe("writeFileAtomic", async () => {
  const root = await mkdtemp(join(tmpdir(), "engineroom-atomic-"));
  after(() => rm(root, { recursive: true, force: true }));

  it("leaves the old file whole and no temporary file when the write fails before the rename", async () => {
    const file = join(root, "secrets.json");
    await writeFileAtomic(file, "old content\n");
    let temporary = "";
    await assert.rejects(
      writeFileAtomic(file, "new content that never lands\n", {
        beforeRename: async (path) => {
          temporary = path;
          assert.equal(await readFile(path, "utf8"), "new content that never lands\n");
          assert.equal((await stat(path)).mode & 0o777, 0o600);
          throw new Error("simulated crash");
        },
      }),
      /simulated crash/,
    );
    assert.ok(isTemporaryOf(file, temporary.split("/").pop()!), temporary);
    assert.equal(await readFile(file, "utf8"), "old content\n");
    assert.deepEqual(await readdir(root), ["secrets.json"]);
  });

  it("is not fooled by a temporary file a crashed writer left behind", async () => {
    const dir = join(root, "crashed");
    const file = join(dir, "secrets.json");
    const store = new LocalSecretStore({ file, key: keyOf(generateKey()) });
    await store.set("kept", "kept-value");
    const leftover = join(dir, `.secrets.json.99999.abcdef.tmp`);
    await writeFile(leftover, '{"format": "engineroom-secrets", "vers');
    assert.equal(await store.get("kept"), "kept-value");
    await store.set("next", "next-value");
    assert.deepEqual(await store.list(), ["kept", "next"]);
    assert.ok(isTemporaryOf(file, ".secrets.json.99999.abcdef.tmp"));
    assert.deepEqual((await readdir(dir)).filter((entry) => isTemporaryOf(file, entry) && entry !== ".secrets.json.99999.abcdef.tmp"), []);
  });
});
