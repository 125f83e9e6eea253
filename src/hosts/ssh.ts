/**
 * Commands on a host over the system's OpenSSH client, always in batch mode against a pinned
 * known_hosts file: a host whose key is not the pinned one is refused before anything runs there
 * (HOST_KEY_MISMATCH), a host that cannot be reached is HOST_UNREACHABLE.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { EngineError } from "../core/index.js";

/** How to reach one host. */
export interface SshTarget {
  /** The host's name in the config (for messages). */
  name: string;
  address: string;
  port: number;
  user: string;
  /** The private key, in an owner-only file. */
  keyFile: string;
  /** The known_hosts file that pins the host's key. */
  knownHostsFile: string;
  /** Accept and record a key the file has none for (never a changed one). Default false. */
  trustOnFirstUse?: boolean;
  /** Seconds without an answer from the server before the connection counts as lost. Default 5 (x3). */
  aliveIntervalSeconds?: number;
  /** Seconds to wait for the TCP connection. Default 10. */
  connectTimeoutSeconds?: number;
}

export interface SshResult {
  /** The remote command's exit code. */
  code: number;
  stdout: string;
  stderr: string;
}

/** The options every ssh of ours runs with; no user or system ssh_config is read. */
export function sshOptions(target: SshTarget): string[] {
  const alive = target.aliveIntervalSeconds ?? 5;
  const options = [
    "BatchMode=yes",
    `StrictHostKeyChecking=${target.trustOnFirstUse ? "accept-new" : "yes"}`,
    `UserKnownHostsFile=${target.knownHostsFile}`,
    "GlobalKnownHostsFile=/dev/null",
    "UpdateHostKeys=no",
    "IdentitiesOnly=yes",
    "IdentityAgent=none",
    "PasswordAuthentication=no",
    "KbdInteractiveAuthentication=no",
    `ConnectTimeout=${target.connectTimeoutSeconds ?? 10}`,
    `ServerAliveInterval=${alive}`,
    "ServerAliveCountMax=3",
    "LogLevel=ERROR",
  ];
  return ["-F", "/dev/null", ...options.flatMap((o) => ["-o", o]), "-i", target.keyFile, "-p", String(target.port), "-l", target.user];
}

/** The argv of an ssh that runs `command` on the host. */
export function sshArgs(target: SshTarget, command: string, extra: string[] = []): string[] {
  return [...sshOptions(target), ...extra, "--", target.address, command];
}

/** True when ssh's own error output says the host key was refused. */
export function hostKeyRefused(stderr: string): boolean {
  return /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key .* (has changed|is not known)|No \S+ host key is known/i.test(stderr);
}

/** The error of an ssh that exited with 255 (its own failure, not the command's). */
export function sshFailure(target: SshTarget, stderr: string): EngineError {
  const said = lastLine(stderr);
  if (hostKeyRefused(stderr)) {
    return new EngineError("HOST_KEY_MISMATCH", `The key of host ${target.name} (${target.address}:${target.port}) is not the pinned one; nothing was run there.`, {
      details: { host: target.name, ssh: said },
    });
  }
  return new EngineError("HOST_UNREACHABLE", `Host ${target.name} (${target.user}@${target.address}:${target.port}) cannot be reached over ssh: ${said || "no answer"}.`, {
    details: { host: target.name },
  });
}

/**
 * Runs `command` (a shell command line) on the host and gives back its exit code and output; its
 * standard input is `input`, or the file `inputFile` streamed.
 * Rejects with HOST_KEY_MISMATCH or HOST_UNREACHABLE when ssh itself fails, and with
 * HOST_UNREACHABLE when it has not finished after `timeoutMs` (default 60 s).
 */
export function runSsh(target: SshTarget, command: string, options: { input?: Buffer | string; inputFile?: string; timeoutMs?: number } = {}): Promise<SshResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", sshArgs(target, command), { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new EngineError("HOST_UNREACHABLE", `Host ${target.name} did not finish a command within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s.`, { details: { host: target.name } }));
    }, options.timeoutMs ?? 60_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new EngineError("HOST_UNREACHABLE", `Could not run ssh: ${error.message}.`, { hint: "Install the OpenSSH client (apt-get install openssh-client)." }));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      if (code === 255) return reject(sshFailure(target, stderr));
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr });
    });
    child.stdin.on("error", () => {});
    if (options.inputFile) createReadStream(options.inputFile).on("error", () => child.stdin.destroy()).pipe(child.stdin);
    else child.stdin.end(options.input ?? "");
  });
}

/** Quotes a word for the remote POSIX shell. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).slice(-1)[0]?.trim().slice(0, 300) ?? "";
}
