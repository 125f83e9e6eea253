/**
 * An artifact shipped to an ssh host by digest. The host's agent is asked first (nothing is sent when
 * it has the digest); otherwise the folder goes as a tar stream over one ssh session into a fresh
 * owner-only folder under the agent's `artifacts/incoming/`, and the agent verifies its digest there
 * and moves it into place (`artifact.ensure`). Two ships of one digest to one host land in two
 * incoming folders: the first move wins, the other copy is removed.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { lstat } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { skippedTopLevel } from "../artifact/index.js";
import { EngineError, toEngineError } from "../core/index.js";
import { agentArtifactPaths } from "../dataplane/index.js";
import { runSsh, shellQuote, sshArgs, sshFailure, type SshTarget } from "./ssh.js";

/** What shipArtifact needs of the host's agent: its requests (the data plane's client is one). */
export interface ArtifactAgent {
  request<T>(op: string, args?: Record<string, unknown>): Promise<T>;
}

/** A stream that has not finished in this long counts as a lost host (ssh's keep-alives find a dead link sooner). */
const streamTimeoutMs = 600_000;

/** The exit code of the remote script when tar could not unpack what arrived. */
const unpackFailed = 5;

/**
 * Makes the artifact `digest` (the local folder `folder`) present on the host, in its agent's cache.
 * Resolves with its folder on the host and whether it was sent now.
 *
 * Rejects with ARTIFACT_DIGEST_MISMATCH (naming the host) when what arrived does not have `digest`,
 * ARTIFACT_INVALID when the host could not unpack the stream, ARTIFACT_NOT_FOUND when `folder` is not
 * there, HOST_UNREACHABLE / HOST_KEY_MISMATCH when ssh fails; nothing is left in incoming/ then.
 *
 * @example
 * const { path } = await shipArtifact({ target, remoteStateDir: "/var/lib/engineroom", digest, folder: artifacts.path(digest), agent: plane });
 */
export async function shipArtifact(options: { target: SshTarget; remoteStateDir: string; digest: string; folder: string; agent: ArtifactAgent }): Promise<{ shipped: boolean; path: string }> {
  const { target, digest, agent } = options;
  const hex = /^sha256:([0-9a-f]{64})$/.exec(digest)?.[1];
  if (!hex) throw new EngineError("ARTIFACT_INVALID", `An artifact digest is sha256:<64 hex digits>, not ${JSON.stringify(digest)}.`);
  const here = await agent.request<{ present: boolean; path: string }>("artifact.has", { digest });
  if (here.present) return { shipped: false, path: here.path };
  const incoming = await streamFolder(target, options.folder, agentArtifactPaths(options.remoteStateDir).incoming, hex);
  try {
    return await agent.request<{ shipped: boolean; path: string }>("artifact.ensure", { digest, source: incoming });
  } catch (error) {
    // The agent removes a copy it refused; one it never saw (a lost connection) is removed here.
    await runSsh(target, `rm -rf ${shellQuote(incoming)}`).catch(() => undefined);
    const e = toEngineError(error);
    if (e.code !== "ARTIFACT_DIGEST_MISMATCH") throw e;
    throw new EngineError("ARTIFACT_DIGEST_MISMATCH", `The artifact shipped to host ${target.name} does not have digest ${digest} there; nothing was kept on the host.`, {
      cause: error,
      details: { ...e.details, host: target.name },
      hint: "The folder changed since it was stored, or the bytes were altered on the way: check the engine's artifact (it is read-only) and the host's disk, then deploy again.",
    });
  }
}

/** Streams `folder` as a tar over one ssh session into a new folder under `incomingDir` on the host; answers that folder. */
async function streamFolder(target: SshTarget, folder: string, incomingDir: string, hex: string): Promise<string> {
  const top = await lstat(folder).catch(() => undefined);
  if (!top?.isDirectory()) throw new EngineError("ARTIFACT_NOT_FOUND", `There is no artifact folder at ${folder} to ship to host ${target.name}.`);
  const script = [
    "set -e",
    "umask 077",
    `d=${shellQuote(incomingDir)}`,
    'mkdir -p "$d"',
    // mktemp fills the XXXXXX with random characters: each ship gets a folder of its own.
    `t=$(mktemp -d "$d/${hex}.XXXXXX")`,
    // The incoming folder keeps its own owner-only mode (--no-overwrite-dir): the artifact's root may be read-only.
    `if ! tar -xf - -C "$t" --no-same-owner --no-overwrite-dir; then rm -rf "$t"; exit ${unpackFailed}; fi`,
    'echo "$t"',
  ].join("\n");
  // What the digest leaves out (top-level .engineroom and .git) is not sent.
  const excluded = skippedTopLevel.map((name) => `--exclude=./${name}`);
  const tar = spawn("tar", ["-cf", "-", "-C", folder, "--anchored", ...excluded, "."], { stdio: ["ignore", "pipe", "pipe"] });
  const ssh = spawn("ssh", sshArgs(target, script), { stdio: ["pipe", "pipe", "pipe"] });
  const exits = Promise.all([finished(tar, { keepStdout: false }), finished(ssh, { keepStdout: true })]);
  tar.stdout.pipe(ssh.stdin);
  ssh.stdin.on("error", () => undefined); // ssh gone early: its exit says why
  ssh.once("close", () => tar.stdout.destroy()); // and tar, blocked on a full pipe, ends too
  const timer = setTimeout(() => {
    tar.kill("SIGKILL");
    ssh.kill("SIGKILL");
  }, streamTimeoutMs);
  const [tarExit, sshExit] = await exits.finally(() => clearTimeout(timer));
  const path = sshExit.stdout.trim().split("\n").pop() ?? "";
  const landed = sshExit.code === 0 && path.startsWith(`${incomingDir}/`);
  if (tarExit.code !== 0 || sshExit.code !== 0 || !landed) {
    if (landed) await runSsh(target, `rm -rf ${shellQuote(path)}`).catch(() => undefined);
    throw streamError(target, folder, tarExit, sshExit);
  }
  return path;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The child's exit, with its stderr and, unless `stdout` is piped on, its stdout. */
function finished(child: ChildProcessByStdio<Writable | null, Readable, Readable>, options: { keepStdout: boolean }): Promise<Exit> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  if (options.keepStdout) child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  return new Promise<Exit>((resolve) => {
    child.once("error", (error) => resolve({ code: -1, signal: null, stdout: "", stderr: error.message }));
    child.once("close", (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

function streamError(target: SshTarget, folder: string, tar: Exit, ssh: Exit): EngineError {
  const said = (exit: Exit) => exit.stderr.trim().split("\n").slice(-2).join(" ").slice(0, 300);
  if (ssh.code === 255) return sshFailure(target, ssh.stderr);
  if (ssh.signal === "SIGKILL" || tar.signal === "SIGKILL") {
    return new EngineError("HOST_UNREACHABLE", `Shipping an artifact to host ${target.name} did not finish within ${streamTimeoutMs / 1000} s.`, { details: { host: target.name } });
  }
  if (tar.code !== 0) return new EngineError("ARTIFACT_INVALID", `Could not read the artifact at ${folder} to ship it to host ${target.name}: ${said(tar) || `tar exited with ${tar.code}`}.`, { details: { host: target.name } });
  if (ssh.code === unpackFailed) {
    return new EngineError("ARTIFACT_INVALID", `Host ${target.name} could not unpack the artifact it was sent: ${said(ssh) || "tar failed"}; nothing was kept.`, { details: { host: target.name } });
  }
  return new EngineError("HOST_NOT_READY", `Could not ship an artifact to host ${target.name}: ${said(ssh) || `the command exited with ${ssh.code}`}.`, { details: { host: target.name } });
}
