import assert from "node:assert/strict";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import * as tar from "tar";
import type { ErrorCode } from "../core/index.js";
import { ArtifactStore, digestFolder } from "./index.js";

let scratch: string;
let counter = 0;

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "engineroom-artifact-"));
});
after(async () => {
  // Stored trees are read-only; a store's remove() is not what is under test here.
  await chmodAll(scratch);
  await rm(scratch, { recursive: true, force: true });
});

/** A file's text, or `{ text, mode }`; a `->` prefix makes a symlink; a trailing `/` an empty folder. */
type Spec = Record<string, string | { text: string; mode: number }>;

/** Writes a tree in the order given and returns its folder. */
async function makeTree(spec: Spec): Promise<string> {
  const root = join(scratch, `tree-${++counter}`);
  await mkdir(root, { recursive: true });
  for (const [path, value] of Object.entries(spec)) {
    const full = join(root, path);
    await mkdir(dirname(full), { recursive: true });
    const text = typeof value === "string" ? value : value.text;
    if (path.endsWith("/")) await mkdir(full, { recursive: true });
    else if (text.startsWith("->")) await symlink(text.slice(2), full);
    else await writeFile(full, text, { mode: typeof value === "string" ? 0o644 : value.mode });
  }
  return root;
}

const sample: Spec = {
  "package.json": '{"name":"app"}',
  "bin/run": { text: "#!/bin/sh\necho run\n", mode: 0o755 },
  "src/index.js": "console.log('hi')\n",
  "src/lib/util.js": "export const x = 1;\n",
  "current": "->src",
  "empty/": "",
};

async function makeTgz(folder: string): Promise<string> {
  const file = join(scratch, `archive-${++counter}.tgz`);
  await tar.c({ gzip: true, file, cwd: folder, portable: true }, ["."]);
  return file;
}

function hasCode(code: ErrorCode) {
  return (error: unknown) => {
    assert.equal((error as { code?: string }).code, code, String(error));
    return true;
  };
}

async function chmodAll(path: string): Promise<void> {
  const stats = await lstat(path);
  if (stats.isSymbolicLink()) return;
  await chmod(path, stats.mode | 0o200);
  if (stats.isDirectory()) for (const name of await readdir(path)) await chmodAll(join(path, name));
}

describe("digestFolder", () => {
  it("depends on content, not on folder, mtimes or creation order", async () => {
    const a = await makeTree(sample);
    const b = await makeTree(Object.fromEntries(Object.entries(sample).reverse()));
    await utimes(join(b, "package.json"), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const digest = await digestFolder(a);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await digestFolder(b), digest);
  });

  const changes: Record<string, Spec> = {
    "one byte changes": { ...sample, "src/index.js": "console.log('ho')\n" },
    "a file is renamed": { ...Object.fromEntries(Object.entries(sample).filter(([k]) => k !== "src/index.js")), "src/main.js": "console.log('hi')\n" },
    "the exec bit changes": { ...sample, "bin/run": { text: "#!/bin/sh\necho run\n", mode: 0o644 } },
    "a symlink's target changes": { ...sample, current: "->src/lib" },
    "an empty folder is removed": Object.fromEntries(Object.entries(sample).filter(([k]) => k !== "empty/")),
  };
  for (const [what, spec] of Object.entries(changes)) {
    it(`changes when ${what}`, async () => {
      assert.notEqual(await digestFolder(await makeTree(spec)), await digestFolder(await makeTree(sample)));
    });
  }

  it("leaves out top-level .git and .engineroom, but not deeper ones", async () => {
    const plain = await digestFolder(await makeTree(sample));
    assert.equal(await digestFolder(await makeTree({ ...sample, ".git/HEAD": "ref", ".engineroom/state": "x" })), plain);
    assert.notEqual(await digestFolder(await makeTree({ ...sample, "src/.git/HEAD": "ref" })), plain);
  });

  it("gives a folder and a .tgz of it the same digest once stored", async () => {
    const folder = await makeTree(sample);
    const store = new ArtifactStore({ dir: join(scratch, "store-tgz") });
    const added = await store.add(await makeTgz(folder));
    assert.equal(added.digest, await digestFolder(folder));
    assert.equal((await store.add(folder)).existed, true);
  });

  it("unwraps a .tgz whose only entry is one folder (tar czf app.tgz app/, npm pack)", async () => {
    const folder = await makeTree(sample);
    const file = join(scratch, "wrapped.tgz");
    await tar.c({ gzip: true, file, cwd: dirname(folder), portable: true }, [basename(folder)]);
    const store = new ArtifactStore({ dir: join(scratch, "store-wrapped") });
    assert.equal((await store.add(file)).digest, await digestFolder(folder));
  });
});

describe("ArtifactStore", () => {
  it("adds a folder once, and finds it there the second time", async () => {
    const store = new ArtifactStore({ dir: join(scratch, "store-add") });
    const folder = await makeTree(sample);
    const first = await store.add(folder);
    assert.equal(first.existed, false);
    assert.equal(first.path, store.path(first.digest));
    assert.equal(first.fileCount, 5); // four files and a symlink
    assert.equal(first.sizeBytes, Object.values(sample).reduce<number>((n, v) => n + (typeof v === "string" ? (v.startsWith("->") ? 0 : v.length) : v.text.length), 0));
    const second = await store.add(folder);
    assert.deepEqual(second, { ...first, existed: true });
    assert.equal(await store.has(first.digest), true);
    assert.deepEqual(await store.list(), [first.digest]);
    assert.deepEqual(await readdir(join(scratch, "store-add", "tmp")), [], "no temporary folders left behind");
  });

  it("adds a project folder whose own .engineroom holds the store", async () => {
    const project = await makeTree({ ...sample, ".engineroom/state.db": "x" });
    const store = new ArtifactStore({ dir: join(project, ".engineroom", "artifacts") });
    const added = await store.add(project);
    assert.equal(added.digest, await digestFolder(await makeTree(sample)));
    assert.deepEqual((await readdir(added.path)).sort(), ["bin", "current", "empty", "package.json", "src"]);
  });

  it("stores a read-only tree with the same content and modes", async () => {
    const store = new ArtifactStore({ dir: join(scratch, "store-ro") });
    const { digest, path } = await store.add(await makeTree(sample));
    assert.equal(await digestFolder(path), digest, "the stored tree digests to its name");
    const check = async (dir: string): Promise<void> => {
      for (const name of await readdir(dir)) {
        const stats = await lstat(join(dir, name));
        if (stats.isSymbolicLink()) continue;
        assert.equal(stats.mode & 0o222, 0, `${name} has write bits: ${(stats.mode & 0o777).toString(8)}`);
        if (stats.isDirectory()) await check(join(dir, name));
      }
    };
    await check(path);
    assert.equal((await lstat(join(path, "bin/run"))).mode & 0o111, 0o111, "the exec bits survive");
    if (process.getuid?.() !== 0) await assert.rejects(writeFile(join(path, "package.json"), "changed"), { code: "EACCES" });
  });

  it("removes an artifact, read-only as it is", async () => {
    const store = new ArtifactStore({ dir: join(scratch, "store-rm") });
    const { digest, path } = await store.add(await makeTree(sample));
    assert.equal(await store.remove(digest), true);
    assert.equal(await store.has(digest), false);
    await assert.rejects(lstat(path), { code: "ENOENT" });
    assert.deepEqual(await store.list(), []);
    assert.equal(await store.remove(digest), false);
  });

  it("refuses a .tgz with an entry outside the tree, and writes nothing there", async () => {
    const store = new ArtifactStore({ dir: join(scratch, "store-evil") });
    const folder = await makeTree({ "inner/app.js": "ok" });
    await writeFile(join(folder, "evil.txt"), "escaped");
    const file = join(scratch, "evil.tgz");
    await tar.c({ gzip: true, file, cwd: join(folder, "inner"), preservePaths: true }, ["app.js", "../evil.txt"]);
    await rm(join(folder, "evil.txt"));
    await assert.rejects(store.add(file), (error: Error) => hasCode("ARTIFACT_INVALID")(error) && /\.\.\/evil\.txt/.test(error.message));
    await assert.rejects(lstat(join(scratch, "store-evil", "tmp", "evil.txt")), { code: "ENOENT" });
    assert.deepEqual(await readdir(join(scratch, "store-evil", "tmp")), []);
    assert.deepEqual(await store.list(), []);
  });

  it("refuses symlinks that point outside the tree, from a folder or a .tgz", async () => {
    const store = new ArtifactStore({ dir: join(scratch, "store-links") });
    for (const target of ["../../etc", "/etc/passwd"]) {
      const folder = await makeTree({ "app.js": "ok", "sub/link": `->${target}` });
      await assert.rejects(store.add(folder), hasCode("ARTIFACT_INVALID"), target);
      await assert.rejects(store.add(await makeTgz(folder)), hasCode("ARTIFACT_INVALID"), target);
    }
    assert.deepEqual(await store.list(), []);
  });

  it("answers ARTIFACT_NOT_FOUND for a missing source and ARTIFACT_INVALID for a bad archive", async () => {
    const store = new ArtifactStore({ dir: join(scratch, "store-bad") });
    await assert.rejects(store.add(join(scratch, "nothing-here")), hasCode("ARTIFACT_NOT_FOUND"));
    await assert.rejects(digestFolder(join(scratch, "nothing-here")), hasCode("ARTIFACT_NOT_FOUND"));
    const garbage = join(scratch, "garbage.tgz");
    await writeFile(garbage, "this is not an archive at all");
    await assert.rejects(store.add(garbage), hasCode("ARTIFACT_INVALID"));
    const gzippedGarbage = join(scratch, "gzipped-garbage.tgz");
    await writeFile(gzippedGarbage, gzipSync(Buffer.from("still not a tar ".repeat(64))));
    await assert.rejects(store.add(gzippedGarbage), hasCode("ARTIFACT_INVALID"));
    const truncated = join(scratch, "truncated.tgz");
    const whole = await readFile(await makeTgz(await makeTree(sample)));
    await writeFile(truncated, whole.subarray(0, whole.length / 2));
    await assert.rejects(store.add(truncated), hasCode("ARTIFACT_INVALID"));
    assert.throws(() => store.path("sha256:nothex"), hasCode("ARTIFACT_INVALID"));
    assert.equal(await store.has("md5:abc"), false);
    assert.deepEqual(await readdir(join(scratch, "store-bad", "tmp")), []);
  });

  it("follows symlink chains for real: one that is inside on paper but climbs out through a link is refused", async () => {
    const store = new ArtifactStore({ dir: join(scratch, "store-chain") });
    // up -> ../../.. is the tree's root; esc -> a/b/c/up/../../.. reads as "a" but goes three above the root.
    const evil = await makeTree({ "app.js": "ok", "a/b/c/up": "->../../..", esc: "->a/b/c/up/../../.." });
    for (const source of [evil, await makeTgz(evil)]) {
      await assert.rejects(store.add(source), (error: Error) => hasCode("ARTIFACT_INVALID")(error) && /esc -> a\/b\/c\/up\/\.\.\/\.\.\/\.\./.test(error.message));
    }
    const fine = await makeTree({ "app.js": "ok", "a/b/c/up": "->../../..", back: "->a/b/c/up/app.js", gone: "->a/missing/x" });
    assert.equal((await store.add(fine)).fileCount, 4);
  });

  it("refuses a folder holding a FIFO with ARTIFACT_INVALID naming it, and leaves nothing behind", async () => {
    const store = new ArtifactStore({ dir: join(scratch, "store-fifo") });
    const folder = await makeTree({ "app.js": "ok", "run/": "" });
    const made = spawnSync("mkfifo", [join(folder, "run", "pipe")]);
    assert.equal(made.status, 0, String(made.stderr));
    await assert.rejects(store.add(folder), (error: Error) => hasCode("ARTIFACT_INVALID")(error) && /run\/pipe/.test(error.message));
    assert.deepEqual(await readdir(join(scratch, "store-fifo", "tmp")), []);
  });

  it("refuses the state folder, or a folder holding it, before copying anything", async () => {
    const parent = join(scratch, `parent-${++counter}`);
    const project = join(parent, "project");
    const state = join(project, ".engineroom");
    await mkdir(join(state, "artifacts"), { recursive: true });
    await writeFile(join(state, "api-token"), "token-must-stay-home");
    await writeFile(join(project, "app.js"), "ok");
    const store = new ArtifactStore({ dir: join(state, "artifacts") });
    for (const source of [state, parent]) {
      await assert.rejects(store.add(source), (error: Error) => hasCode("ARTIFACT_INVALID")(error) && /state folder/.test(error.message), source);
    }
    assert.deepEqual(await readdir(join(state, "artifacts")), [], "nothing copied, not even a temporary folder");
    assert.equal((await store.add(project)).fileCount, 1, "the project folder itself is fine: its top-level .engineroom is left out");
    // A state folder under another name is not left out, so a project holding it is refused too.
    const other = new ArtifactStore({ dir: join(project, "state", "artifacts") });
    await mkdir(join(project, "state", "artifacts"), { recursive: true });
    await assert.rejects(other.add(project), hasCode("ARTIFACT_INVALID"));
  });
});
