import { chmod, cp, lstat, mkdir, mkdtemp, open as openFile, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import * as tar from "tar";
import { EngineError } from "../core/index.js";
import { digestFolder, escapingLinks, escapingLinksOnDisk, linkEscapes, pathEscapes, scanTree, skippedTopLevel } from "./digest.js";
import { hashFile, packArtifact, type ArtifactBlobStore } from "./remote.js";

export interface ArtifactStoreOptions {
  /** Where artifacts are kept, e.g. `.engineroom/artifacts`. */
  dir: string;
  /** A shared store every added artifact is pushed to, and a missing one fetched from (`artifacts.store: postgres`). */
  remote?: ArtifactBlobStore;
}

/** What `add` stored, or found already stored. */
export interface AddedArtifact {
  /** `sha256:<hex>` of the artifact's tree. */
  digest: string;
  /** The folder the artifact lives in, read-only. */
  path: string;
  /** Total bytes of its regular files. */
  sizeBytes: number;
  /** Its regular files and symlinks. */
  fileCount: number;
  /** True when an artifact with this digest was stored before. */
  existed: boolean;
}

const digestPattern = /^sha256:([0-9a-f]{64})$/;

/**
 * A content-addressed store of artifacts on disk: each is an immutable folder at
 * `<dir>/sha256/<hex>/`, named by the digest of its tree (see `digestFolder`). A folder and a .tgz of
 * the same folder are the same artifact.
 *
 * @example
 * const store = new ArtifactStore({ dir: ".engineroom/artifacts" });
 * const { digest, path } = await store.add("build/");        // or "build.tgz"
 * await runtime.start({ ..., cwd: path });
 */
export class ArtifactStore {
  readonly #dir: string;
  /** The engine's state folder (API token, store, logs), which no artifact may include: the one `dir` is in, as in `.engineroom/artifacts`. */
  readonly #stateDir: string;
  readonly #remote: ArtifactBlobStore | undefined;

  constructor(options: ArtifactStoreOptions) {
    this.#dir = options.dir;
    this.#stateDir = dirname(options.dir);
    this.#remote = options.remote;
  }

  /** The shared store's kind (`postgres`), or `local` when artifacts are kept on this machine only. */
  get kind(): string {
    return this.#remote?.kind ?? "local";
  }

  /** The digest a folder would be stored under; see `digestFolder` in digest.ts for what it covers. */
  digestFolder(path: string): Promise<string> {
    return digestFolder(path);
  }

  /**
   * Stores a folder or a gzip-compressed tar (.tgz) of one. The tree is copied (or extracted) into a
   * temporary folder inside the store, digested, made read-only and renamed into place, so a
   * half-written artifact is never seen. Top-level `.engineroom` and `.git` are left out.
   *
   * Rejects with ARTIFACT_NOT_FOUND when `source` does not exist, and ARTIFACT_INVALID when it is not
   * a folder or a valid .tgz, when it is the state folder or holds it (other than as a top-level
   * `.engineroom`, which is left out) — checked before anything is copied —, when it holds a FIFO,
   * socket or device, when an archive entry would land outside the tree, or when a symlink leads
   * outside it, with every link on its way followed. With `expectDigest`, a tree of another digest is
   * ARTIFACT_DIGEST_MISMATCH and nothing is kept.
   */
  async add(source: string, options: { expectDigest?: string } = {}): Promise<AddedArtifact> {
    const added = await this.#addLocally(source, options);
    await this.publish(added.digest);
    return added;
  }

  async #addLocally(source: string, options: { expectDigest?: string }): Promise<AddedArtifact> {
    const found = await stat(source).catch(() => undefined);
    if (!found) throw new EngineError("ARTIFACT_NOT_FOUND", `There is no artifact at ${source}.`);
    if (!found.isDirectory() && !found.isFile()) throw new EngineError("ARTIFACT_INVALID", `${source} is neither a folder nor a file.`);
    if (found.isDirectory()) await this.#refuseStateFolder(source);

    const temp = join(this.#dir, "tmp");
    await mkdir(temp, { recursive: true });
    const work = await mkdtemp(join(temp, "add-"));
    const tree = join(work, "tree");
    try {
      if (found.isDirectory()) await copyFolder(source, tree);
      else await extractArchive(source, tree);

      const scan = await scanTree(tree);
      const escaping = [...new Set([...escapingLinks(scan.entries), ...(await escapingLinksOnDisk(tree, scan.entries))])];
      if (escaping.length > 0) {
        const list = escaping.map((e) => `${e.path} -> ${e.content}`).join(", ");
        throw new EngineError("ARTIFACT_INVALID", `${source} has symlinks that point outside it: ${list}.`);
      }
      if (options.expectDigest !== undefined && scan.digest !== options.expectDigest) {
        throw new EngineError("ARTIFACT_DIGEST_MISMATCH", `The artifact's digest is ${scan.digest}, not the ${options.expectDigest} it was declared with. Nothing was kept.`);
      }
      const target = this.path(scan.digest);
      const result = { digest: scan.digest, path: target, sizeBytes: scan.sizeBytes, fileCount: scan.fileCount };
      if (await exists(target)) return { ...result, existed: true };

      await mkdir(join(this.#dir, "sha256"), { recursive: true });
      // Files first: a folder must stay writable until the rename, which rewrites its `..` entry.
      await setWritable(tree, false, "files");
      try {
        await rename(tree, target);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOTEMPTY" || code === "EEXIST") return { ...result, existed: true }; // a concurrent add won
        throw error;
      }
      await setWritable(target, false, "dirs");
      return { ...result, existed: false };
    } finally {
      // Only files may be read-only in here, and removing a file needs only its folder writable.
      await rm(work, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /** ARTIFACT_INVALID when `source` is the state folder or holds it where the copy would not leave it out. */
  async #refuseStateFolder(source: string): Promise<void> {
    const [real, state] = await Promise.all([realpath(source), realpath(this.#stateDir).catch(() => undefined)]);
    if (state === undefined) return;
    const inside = relative(real, state);
    if (inside.startsWith(`..${sep}`) || inside === ".." || isAbsolute(inside)) return;
    if (inside !== "" && skippedTopLevel.includes(inside.split(sep)[0]!)) return;
    const what = inside === "" ? "is the engine's state folder" : `holds the engine's state folder (at ${inside})`;
    throw new EngineError("ARTIFACT_INVALID", `${source} ${what}, with its API token and store; an artifact never includes it. Nothing was copied.`, {
      hint: "Deploy the folder your build writes to (e.g. dist/ or build/), or the project folder itself, whose top-level .engineroom is left out.",
    });
  }

  /** The folder of an artifact (whether or not it is stored). Throws ARTIFACT_INVALID for a malformed digest. */
  path(digest: string): string {
    const hex = digestPattern.exec(digest)?.[1];
    if (!hex) throw new EngineError("ARTIFACT_INVALID", `"${digest}" is not an artifact digest; one looks like sha256:<64 hex digits>.`);
    return join(this.#dir, "sha256", hex);
  }

  /** Whether an artifact with this digest is stored here, or in the shared store. */
  async has(digest: string): Promise<boolean> {
    if (!digestPattern.test(digest)) return false;
    return (await exists(this.path(digest))) || ((await this.#remote?.has(digest)) ?? false);
  }

  /**
   * The folder of an artifact, fetched first from the shared store when it is not here: streamed
   * into a temporary .tgz, checked against the archive's sha256 the store recorded, then unpacked
   * and checked against `digest` (ARTIFACT_DIGEST_MISMATCH, nothing kept). Without a shared store,
   * or when neither has it, the path it would have.
   */
  async local(digest: string): Promise<string> {
    const path = this.path(digest);
    if ((await exists(path)) || !this.#remote || !(await this.#remote.has(digest))) return path;
    await mkdir(join(this.#dir, "tmp"), { recursive: true });
    const work = await mkdtemp(join(this.#dir, "tmp", "fetch-"));
    try {
      const archive = join(work, "artifact.tgz");
      const said = await this.#remote.get(digest, archive);
      const got = await hashFile(archive);
      if (got.sha256 !== said.sha256 || got.sizeBytes !== said.sizeBytes) {
        throw new EngineError("ARTIFACT_DIGEST_MISMATCH", `The archive of ${digest} fetched from the ${this.#remote.kind} artifact store is ${got.sha256} (${got.sizeBytes} bytes), not the ${said.sha256} (${said.sizeBytes} bytes) it was kept as. Nothing was unpacked.`);
      }
      return (await this.#addLocally(archive, { expectDigest: digest })).path;
    } finally {
      await rm(work, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /** Pushes a stored artifact to the shared store unless it has it; resolves true when it was pushed. */
  async publish(digest: string): Promise<boolean> {
    if (!this.#remote || (await this.#remote.has(digest))) return false;
    await mkdir(join(this.#dir, "tmp"), { recursive: true });
    const work = await mkdtemp(join(this.#dir, "tmp", "push-"));
    try {
      const archive = join(work, "artifact.tgz");
      return await this.#remote.put(digest, archive, await packArtifact(this.path(digest), archive));
    } finally {
      await rm(work, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  /** Deletes an artifact stored here (the shared store keeps its copy, for a cold rollback elsewhere); resolves false when there was none. */
  async remove(digest: string): Promise<boolean> {
    const path = this.path(digest);
    if (!(await exists(path))) return false;
    await setWritable(path, true, "all");
    await rm(path, { recursive: true, force: true });
    return true;
  }

  /** The digests of every stored artifact, sorted. */
  async list(): Promise<string[]> {
    const names = await readdir(join(this.#dir, "sha256")).catch(() => [] as string[]);
    return names
      .filter((name) => /^[0-9a-f]{64}$/.test(name))
      .sort()
      .map((hex) => `sha256:${hex}`);
  }
}

async function copyFolder(source: string, tree: string): Promise<void> {
  await mkdir(tree);
  // A FIFO, socket or device is skipped by the filter and named after: cp would fail on it with an
  // error of its own (or block on a FIFO), and an artifact holds only files, folders and symlinks.
  const special: string[] = [];
  const filter = async (path: string) => {
    const stats = await lstat(path);
    if (stats.isFile() || stats.isDirectory() || stats.isSymbolicLink()) return true;
    special.push(relative(source, path));
    return false;
  };
  // Entry by entry rather than the whole folder: the store often lives in the source's own
  // `.engineroom`, and cp refuses to copy a folder into itself even when a filter would skip the way in.
  for (const name of await readdir(source)) {
    if (skippedTopLevel.includes(name)) continue;
    await cp(join(source, name), join(tree, name), {
      recursive: true,
      dereference: false,
      verbatimSymlinks: true, // keep relative link targets as they are; cp otherwise makes them absolute
      filter,
    });
  }
  if (special.length > 0) {
    throw new EngineError("ARTIFACT_INVALID", `${source} holds ${special.length === 1 ? "an entry" : "entries"} that are neither files, folders nor symlinks (a FIFO, socket or device): ${special.sort().join(", ")}.`, {
      hint: "Leave named pipes, sockets and devices out of the build folder; an artifact holds only files, folders and symlinks.",
    });
  }
}

async function extractArchive(source: string, tree: string): Promise<void> {
  const head = Buffer.alloc(2);
  const handle = await openFile(source, "r");
  try {
    await handle.read(head, 0, 2, 0);
  } finally {
    await handle.close();
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    throw new EngineError("ARTIFACT_INVALID", `${source} is not a gzip file, so not a .tgz artifact.`);
  }
  // Read the whole archive once before writing anything: tar.x rejects at the first bad entry while
  // earlier entries may still be being written, which would race with cleaning up.
  const outside: string[] = [];
  await runTar(source, () =>
    tar.t({
      file: source,
      strict: true,
      onReadEntry: (entry) => {
        const { path, type, linkpath } = entry;
        const escapes =
          pathEscapes(path) ||
          (type === "SymbolicLink" && linkEscapes(path, linkpath ?? "")) ||
          (type === "Link" && pathEscapes(linkpath ?? ""));
        if (escapes) outside.push(linkpath ? `${path} -> ${linkpath}` : path);
      },
    }),
  );
  if (outside.length > 0) throw new EngineError("ARTIFACT_INVALID", `${source} has entries outside its tree: ${outside.join(", ")}.`);
  await mkdir(tree);
  // strict: fail on anything tar would otherwise skip with a warning, which would store something
  // other than what was sent.
  await runTar(source, () => tar.x({ file: source, cwd: tree, strict: true, preserveOwner: false }));
  for (const name of skippedTopLevel) await rm(join(tree, name), { recursive: true, force: true });
  await unwrapSingleFolder(tree);
}

/** `tar czf app.tgz app/` and `npm pack` wrap the build in one folder; the artifact is what is inside it,
 * so that the archive gets the same digest as the folder it was made from. */
async function unwrapSingleFolder(tree: string): Promise<void> {
  const entries = await readdir(tree, { withFileTypes: true });
  if (entries.length !== 1 || !entries[0]!.isDirectory()) return;
  const inner = `${tree}.inner`;
  await rename(join(tree, entries[0]!.name), inner);
  await rm(tree, { recursive: true });
  await rename(inner, tree);
}

async function runTar(source: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    throw new EngineError("ARTIFACT_INVALID", `${source} is not a valid .tgz artifact: ${(error as Error).message}.`, { cause: error });
  }
}

/**
 * Adds or takes away the write bits of a tree's files, folders or both. Symlinks are left alone:
 * chmod would follow them.
 */
async function setWritable(root: string, writable: boolean, which: "files" | "dirs" | "all"): Promise<void> {
  const stats = await lstat(root);
  if (stats.isSymbolicLink()) return;
  const isDir = stats.isDirectory();
  if (isDir) {
    // Make a folder writable before working inside it; take its write bits away after.
    if (writable && which !== "files") await chmod(root, stats.mode | 0o200);
    for (const name of await readdir(root)) await setWritable(join(root, name), writable, which);
  }
  if (isDir ? which === "files" || writable : which === "dirs") return;
  await chmod(root, writable ? stats.mode | 0o200 : stats.mode & ~0o222);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
