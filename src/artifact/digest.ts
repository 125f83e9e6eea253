import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { EngineError } from "../core/index.js";

/**
 * Top-level folders an artifact never includes: the engine's own state and git's. They are skipped
 * only at the top of the tree; a `.git` deeper down is content like any other.
 */
export const skippedTopLevel: readonly string[] = [".engineroom", ".git"];

export type EntryType = "file" | "dir" | "symlink";

/** One entry of a folder tree, as the digest sees it. */
export interface TreeEntry {
  /** Relative to the tree's root, with `/` separators. */
  path: string;
  type: EntryType;
  /** The owner's execute bit; always false for folders and symlinks. */
  executable: boolean;
  /** Bytes of a file, bytes of a symlink's target text, 0 for a folder. */
  size: number;
  /** sha256 hex of a file's content; a symlink's target text; "" for a folder. */
  content: string;
}

export interface TreeScan {
  /** `sha256:<hex>` over the sorted entries. */
  digest: string;
  entries: TreeEntry[];
  /** Total bytes of the regular files. */
  sizeBytes: number;
  /** Regular files and symlinks (folders not counted). */
  fileCount: number;
}

/** Changing how entries are encoded changes every digest; bump this with it. */
const formatTag = "engineroom-artifact-v1\n";

/**
 * The sha256 digest of a folder's tree, as `sha256:<hex>`. It covers, for every entry in sorted
 * order of relative path: its type (file, folder, symlink), path, executable bit, size, and content
 * (file: sha256 of the bytes, read as a stream; symlink: its target text, never followed). It does
 * not depend on mtimes, owners, other mode bits or the order readdir returns entries in. Top-level
 * `.engineroom` and `.git` folders are left out.
 *
 * @example
 * await digestFolder("build/") // "sha256:3b0c…"
 */
export async function digestFolder(root: string): Promise<string> {
  return (await scanTree(root)).digest;
}

/** Walks a folder tree and digests it; see digestFolder. */
export async function scanTree(root: string): Promise<TreeScan> {
  const top = await lstat(root).catch(() => undefined);
  if (!top) throw new EngineError("ARTIFACT_NOT_FOUND", `There is no folder at ${root}.`);
  if (!top.isDirectory()) throw new EngineError("ARTIFACT_INVALID", `${root} is not a folder.`);

  const entries: TreeEntry[] = [];
  await walk(root, "", entries);
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const hash = createHash("sha256").update(formatTag);
  let sizeBytes = 0;
  let fileCount = 0;
  for (const entry of entries) {
    // NUL ends each field: it is the one byte no path or symlink target can hold, so no two trees
    // encode alike.
    hash.update(`${entry.type}\0${entry.path}\0${entry.executable ? 1 : 0}\0${entry.size}\0${entry.content}\0`);
    if (entry.type === "file") sizeBytes += entry.size;
    if (entry.type !== "dir") fileCount++;
  }
  return { digest: `sha256:${hash.digest("hex")}`, entries, sizeBytes, fileCount };
}

async function walk(root: string, relative: string, into: TreeEntry[]): Promise<void> {
  const names = await readdir(join(root, relative));
  for (const name of names) {
    if (relative === "" && skippedTopLevel.includes(name)) continue;
    const path = relative === "" ? name : `${relative}/${name}`;
    const absolute = join(root, path);
    const stats = await lstat(absolute);
    if (stats.isDirectory()) {
      into.push({ path, type: "dir", executable: false, size: 0, content: "" });
      await walk(root, path, into);
    } else if (stats.isSymbolicLink()) {
      const target = await readlink(absolute);
      into.push({ path, type: "symlink", executable: false, size: Buffer.byteLength(target), content: target });
    } else if (stats.isFile()) {
      into.push({ path, type: "file", executable: (stats.mode & 0o100) !== 0, size: stats.size, content: await hashFile(absolute) });
    } else {
      throw new EngineError("ARTIFACT_INVALID", `${path} is neither a file, a folder nor a symlink; an artifact holds only those.`);
    }
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * The symlinks of a tree whose target lies outside it: absolute targets, and relative ones that climb
 * above the root. The check is on the text of the target (it does not follow links in between).
 */
export function escapingLinks(entries: readonly TreeEntry[]): TreeEntry[] {
  return entries.filter((entry) => entry.type === "symlink" && linkEscapes(entry.path, entry.content));
}

/** Links followed in one resolution before it counts as a loop, as Linux's ELOOP limit. */
const maxLinkHops = 40;

/**
 * The symlinks of a tree on disk that lead outside it once every link on the way is followed for real:
 * `a/b/c/up -> ../../..` stays inside, but `esc -> a/b/c/up/../../..` climbs through `up` and out.
 * Judging each target's text alone misses such chains. A component that does not exist is taken as
 * written (the walk goes on by the text), which errs on the side of refusing.
 */
export async function escapingLinksOnDisk(root: string, entries: readonly TreeEntry[]): Promise<TreeEntry[]> {
  const escaping: TreeEntry[] = [];
  for (const entry of entries) {
    if (entry.type === "symlink" && (await resolvesOutside(root, entry.path))) escaping.push(entry);
  }
  return escaping;
}

/** Whether following `path` (relative to `root`, with `/`) inside the tree ever climbs above `root`. */
async function resolvesOutside(root: string, path: string): Promise<boolean> {
  const walked: string[] = []; // the parts followed so far, none of them a link or ".."
  // The parts still to walk: a link met on the way puts its target's parts in front.
  const remaining = path.split("/");
  let hops = 0;
  while (remaining.length > 0) {
    const part = remaining.shift()!;
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (walked.length === 0) return true;
      walked.pop();
      continue;
    }
    const here = join(root, ...walked, part);
    const stats = await lstat(here).catch(() => undefined);
    if (!stats?.isSymbolicLink()) {
      walked.push(part);
      continue;
    }
    if (++hops > maxLinkHops) return true; // a loop: nothing could use it, and it is not worth the doubt
    const target = await readlink(here);
    if (posix.isAbsolute(target)) return true;
    remaining.unshift(...target.split("/"));
  }
  return false;
}

/** Whether a path, relative to a tree's root, names something outside the tree (judged on its text). */
export function pathEscapes(path: string): boolean {
  const normal = posix.normalize(path);
  return posix.isAbsolute(normal) || normal === ".." || normal.startsWith("../");
}

/** Whether a symlink at `path` with this target points outside the tree. */
export function linkEscapes(path: string, target: string): boolean {
  return posix.isAbsolute(target) || pathEscapes(posix.join(posix.dirname(path), target));
}
