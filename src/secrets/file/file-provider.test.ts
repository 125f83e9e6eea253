import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { runSecretProviderContract } from "../provider.contract.js";
import { coded } from "../test-support.js";
import { FileSecretProvider } from "./index.js";

runSecretProviderContract("file", async (secrets) => {
  const dir = await mkdtemp(join(tmpdir(), "engineroom-file-secrets-"));
  for (const [name, value] of Object.entries(secrets)) await writeFile(join(dir, name), value + "\n");
  return { provider: new FileSecretProvider({ dir }), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe("FileSecretProvider", async () => {
  const root = await mkdtemp(join(tmpdir(), "engineroom-file-provider-"));
  after(() => rm(root, { recursive: true, force: true }));

  it("trims exactly one trailing newline, \\n or \\r\\n", async () => {
    const dir = join(root, "trim");
    await mkdir(dir);
    await writeFile(join(dir, "one"), "value\n");
    await writeFile(join(dir, "two"), "value\n\n");
    await writeFile(join(dir, "crlf"), "value\r\n");
    await writeFile(join(dir, "none"), "value");
    await writeFile(join(dir, "empty"), "");
    const provider = new FileSecretProvider({ dir });
    assert.equal(await provider.get("one"), "value");
    assert.equal(await provider.get("two"), "value\n");
    assert.equal(await provider.get("crlf"), "value");
    assert.equal(await provider.get("none"), "value");
    assert.equal(await provider.get("empty"), "");
  });

  it("reads a Kubernetes secret volume: follows the per-key links, hides ..data and its timestamped folder", async () => {
    const dir = join(root, "k8s");
    const stamped = join(dir, "..2024_05_01_10_00_00.123456789");
    await mkdir(stamped, { recursive: true });
    await writeFile(join(stamped, "db_password"), "from-kubernetes");
    await writeFile(join(stamped, "api_token"), "token-from-kubernetes");
    await symlink("..2024_05_01_10_00_00.123456789", join(dir, "..data"));
    await symlink("..data/db_password", join(dir, "db_password"));
    await symlink("..data/api_token", join(dir, "api_token"));
    await symlink("..data/gone", join(dir, "broken"));
    await mkdir(join(dir, "subfolder"));
    await writeFile(join(dir, ".hidden"), "hidden");
    const provider = new FileSecretProvider({ dir });
    assert.deepEqual(await provider.list(), ["api_token", "db_password"]);
    assert.equal(await provider.get("db_password"), "from-kubernetes");
    assert.equal(await provider.get("subfolder"), undefined);
    assert.equal(await provider.get("broken"), undefined);
    await assert.rejects(provider.get("..data"), coded("SECRET_NAME_INVALID"));
  });

  it("refuses names that leave the folder, without reading outside it", async () => {
    const dir = join(root, "inside");
    await mkdir(dir);
    await writeFile(join(root, "outside"), "outside-value");
    const provider = new FileSecretProvider({ dir });
    for (const name of ["../outside", "..", "sub/../../outside", "/etc/passwd"]) {
      await assert.rejects(provider.get(name), coded("SECRET_NAME_INVALID", "outside-value"));
    }
  });

  it("lists nothing for a folder that does not exist, and says SECRET_PROVIDER_FAILED for one it cannot read", async () => {
    assert.deepEqual(await new FileSecretProvider({ dir: join(root, "absent") }).list(), []);
    assert.equal(await new FileSecretProvider({ dir: join(root, "absent") }).get("x_y"), undefined);
    if (process.getuid?.() === 0) return; // root reads any file whatever its mode
    const dir = join(root, "locked");
    await mkdir(dir);
    await writeFile(join(dir, "secret"), "unreadable-value");
    await chmod(join(dir, "secret"), 0o000);
    const provider = new FileSecretProvider({ dir });
    await assert.rejects(provider.get("secret"), coded("SECRET_PROVIDER_FAILED", "unreadable-value"));
  });
});
