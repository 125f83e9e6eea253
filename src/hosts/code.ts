/**
 * The engine's code on a host, for its data-plane daemon. Where the host sees the same files at the
 * same path (a shared filesystem, or the same install), they are used in place. Otherwise the built
 * code (`dist/`, package.json, node_modules) is shipped once per digest as a .tgz over ssh, checked
 * by its sha256 on arrival and unpacked into `<state_dir>/code/<digest>`; a digest already there is
 * skipped.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { EngineError } from "../core/index.js";
import { runSsh, shellQuote, type SshTarget } from "./ssh.js";

export interface CodeBundle {
  /** The folder the files are in (the package root). */
  root: string;
  /** What is shipped, relative to root (folders whole). */
  files: string[];
  /** What the digest covers, relative to root (what determines the rest, e.g. dist/ and the lockfile). */
  digestOf: string[];
}

/** The sha256 of the bundle's digested files: paths and contents, in order. */
export function bundleDigest(bundle: CodeBundle): string {
  const hash = createHash("sha256");
  for (const file of bundle.digestOf.flatMap((entry) => walk(bundle.root, entry)).sort()) {
    hash.update(file).update("\0").update(readFileSync(join(bundle.root, file))).update("\0");
  }
  return hash.digest("hex").slice(0, 32);
}

/** The sha256 of one local file, hex. */
export function fileSha256(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** True when the host has the local file `file` at the same path with the same content. */
export async function hostHasFile(target: SshTarget, file: string): Promise<boolean> {
  const result = await runSsh(target, `sha256sum ${shellQuote(file)} 2>/dev/null || true`);
  return result.stdout.split(/\s+/)[0] === fileSha256(file);
}

/**
 * Ships the bundle to `<remoteStateDir>/code/<digest>` unless that digest is there already.
 * Answers the folder on the host and whether it was shipped now.
 */
export async function shipCode(target: SshTarget, bundle: CodeBundle, remoteStateDir: string): Promise<{ dir: string; digest: string; shipped: boolean }> {
  const digest = bundleDigest(bundle);
  const dir = `${remoteStateDir}/code/${digest}`;
  const present = await runSsh(target, `test -f ${shellQuote(`${dir}/.complete`)} && echo present || true`);
  if (present.stdout.trim() === "present") return { dir, digest, shipped: false };
  const temp = mkdtempSync(join(tmpdir(), "engineroom-ship-"));
  try {
    const archive = join(temp, "code.tgz");
    execFileSync("tar", ["-czf", archive, "-C", bundle.root, ...bundle.files.filter((f) => existsSync(join(bundle.root, f)))], { stdio: ["ignore", "ignore", "pipe"] });
    const sha = fileSha256(archive);
    const script = [
      "set -e",
      "umask 077",
      `c=${shellQuote(`${remoteStateDir}/code`)}`,
      'mkdir -p "$c"',
      'tmp="$c/.incoming-$$"',
      'rm -rf "$tmp" "$tmp.tgz"',
      'cat > "$tmp.tgz"',
      `if ! echo "${sha}  $tmp.tgz" | sha256sum -c --status; then rm -f "$tmp.tgz"; echo "digest-mismatch"; exit 4; fi`,
      'mkdir "$tmp"',
      'tar -xzf "$tmp.tgz" -C "$tmp"',
      'rm -f "$tmp.tgz"',
      ': > "$tmp/.complete"',
      `rm -rf ${shellQuote(dir)}`,
      `mv "$tmp" ${shellQuote(dir)}`,
      "echo shipped",
    ].join("\n");
    const result = await runSsh(target, script, { inputFile: archive, timeoutMs: 600_000 });
    if (result.code !== 0) {
      const why = result.stdout.includes("digest-mismatch") ? "what arrived does not have the sha256 that was sent" : (result.stderr || result.stdout).trim().slice(-300);
      throw new EngineError("HOST_NOT_READY", `Could not ship the engine's code to host ${target.name}: ${why}.`, { details: { host: target.name } });
    }
    return { dir, digest, shipped: true };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

function walk(root: string, entry: string): string[] {
  const path = join(root, entry);
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [entry];
  return readdirSync(path).flatMap((name) => walk(root, relative(root, join(path, name))));
}
