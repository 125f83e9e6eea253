/**
 * A host's data-plane control socket made local: a long-lived `ssh -N -L <local.sock>:<remote.sock>`
 * child (OpenSSH's Unix-socket forwarding), supervised: when it exits (the link was cut, the host
 * rebooted, sshd restarted) it is started again, with a growing pause, until `close()`. A client of
 * the local socket (the DataPlane client) sees a dropped connection and reconnects, as it does when
 * a local data plane restarts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { EngineError, silentLogger, type Logger } from "../core/index.js";
import { sshFailure, sshOptions, type SshTarget } from "./ssh.js";

export interface SocketForwardOptions {
  target: SshTarget;
  /** The Unix socket to create here (its folder is made owner-only). */
  localSocket: string;
  /** The Unix socket on the host to forward to. */
  remoteSocket: string;
  logger?: Logger;
  /** The first pause before starting ssh again; it doubles up to `maxRestartDelayMs`. Default 500 ms. */
  restartDelayMs?: number;
  /** Default 5 s. */
  maxRestartDelayMs?: number;
}

export type ForwardState = "connecting" | "up" | "closed";

export class SocketForward {
  readonly #options: SocketForwardOptions & { logger: Logger };
  #child: ChildProcess | undefined;
  #state: ForwardState = "connecting";
  #closed = false;
  #delay: number;
  #timer: NodeJS.Timeout | undefined;
  #upWaiters = new Set<() => void>();
  /** How often ssh was started (1 for the first). */
  starts = 0;
  /** Why the last ssh ended (an EngineError: HOST_UNREACHABLE or HOST_KEY_MISMATCH). */
  lastError: EngineError | undefined;

  constructor(options: SocketForwardOptions) {
    this.#options = { logger: silentLogger, ...options };
    this.#delay = options.restartDelayMs ?? 500;
    mkdirSync(dirname(options.localSocket), { recursive: true, mode: 0o700 });
    this.#start();
  }

  /**
   * Forwards the host's socket and resolves once the local socket is there; rejects with the
   * HOST_* error of ssh (and stops) when it is not up within `timeoutMs` (default 30 s).
   *
   *   const forward = await SocketForward.open({ target, localSocket, remoteSocket });
   *   // connect to forward.path ... then
   *   await forward.close();
   */
  static async open(options: SocketForwardOptions & { timeoutMs?: number }): Promise<SocketForward> {
    const forward = new SocketForward(options);
    if (await forward.waitUp(options.timeoutMs ?? 30_000)) return forward;
    const error = forward.lastError ?? new EngineError("HOST_UNREACHABLE", `Host ${options.target.name} did not forward its control socket in time.`);
    await forward.close();
    throw error;
  }

  /** The local socket's path. */
  get path(): string {
    return this.#options.localSocket;
  }

  get state(): ForwardState {
    return this.#state;
  }

  /** The pid of the ssh child now running, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Resolves true once the forwarding is up (at once if it is); false after `timeoutMs`, or as soon as the host key is refused. */
  waitUp(timeoutMs: number): Promise<boolean> {
    if (this.#state === "up") return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (up: boolean) => {
        clearTimeout(timer);
        this.#upWaiters.delete(onUp);
        resolve(up);
      };
      const onUp = () => done(this.#state === "up");
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#upWaiters.add(onUp);
    });
  }

  /** Stops the ssh child and removes the local socket; no restart after this. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#state = "closed";
    clearTimeout(this.#timer);
    for (const waiter of [...this.#upWaiters]) waiter();
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.#options.localSocket, { force: true });
    rmSync(pidFile(this.#options.localSocket), { force: true });
  }

  #start(): void {
    if (this.#closed) return;
    const { target, localSocket, remoteSocket, logger } = this.#options;
    endLeftover(localSocket, logger);
    rmSync(localSocket, { force: true });
    const args = [...sshOptions(target), "-N", "-T", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes", "-o", "StreamLocalBindMask=0177", "-L", `${localSocket}:${remoteSocket}`, "--", target.address];
    const child = spawn("ssh", args, { stdio: ["ignore", "ignore", "pipe"] });
    this.#child = child;
    // An engine killed with SIGKILL cannot end its ssh child: the next one does (endLeftover), by this file.
    if (child.pid !== undefined) writeFileSync(pidFile(localSocket), `${child.pid} ${process.pid}\n`, { mode: 0o600 });
    this.starts++;
    this.#state = "connecting";
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
    child.once("error", (error) => logger.warn("could not run ssh", { host: target.name, error: error.message }));
    // ssh binds the local socket once it is authenticated; -N then holds the connection open.
    const poll = setInterval(() => {
      if (this.#child !== child || child.exitCode !== null) return clearInterval(poll);
      if (existsSync(localSocket)) {
        clearInterval(poll);
        this.#state = "up";
        this.#delay = this.#options.restartDelayMs ?? 500;
        this.lastError = undefined;
        logger.info("control socket forwarded", { host: target.name, pid: child.pid });
        for (const waiter of [...this.#upWaiters]) waiter();
      }
    }, 50);
    child.once("close", (code, signal) => {
      clearInterval(poll);
      if (this.#child !== child) return;
      this.#child = undefined;
      if (this.#closed) return;
      this.lastError = sshFailure(target, stderr || `ssh exited (${signal ?? code})`);
      this.#state = "connecting";
      // A refused host key will not change by trying again: whoever waits hears of it now.
      if (this.lastError.code === "HOST_KEY_MISMATCH") for (const waiter of [...this.#upWaiters]) waiter();
      logger.warn("lost the forwarded control socket; starting ssh again", { host: target.name, code, error: this.lastError.message });
      this.#timer = setTimeout(() => this.#start(), this.#delay);
      this.#delay = Math.min(this.#delay * 2, this.#options.maxRestartDelayMs ?? 5_000);
    });
  }
}

/** Where a forwarding's ssh pid is kept, beside its local socket. */
function pidFile(localSocket: string): string {
  return `${localSocket}.pid`;
}

/**
 * Ends the ssh a previous engine left forwarding to this local socket (it was killed with SIGKILL,
 * so it could not end its child): only a live process whose command line is that ssh forwarding.
 */
function endLeftover(localSocket: string, logger: Logger): void {
  let pid: number;
  let owner: number;
  try {
    [pid, owner] = readFileSync(pidFile(localSocket), "utf8").trim().split(" ").map(Number) as [number, number];
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  // Only an ssh whose engine is gone: a live one (another process forwarding the same socket) keeps its own.
  if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) return;
  rmSync(pidFile(localSocket), { force: true });
  let command: string[];
  try {
    command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return; // gone already
  }
  if (!command[0]?.endsWith("ssh") || !command.some((arg) => arg.startsWith(`${localSocket}:`))) return;
  try {
    process.kill(pid, "SIGTERM");
    logger.info("ended the ssh forwarding a previous engine left running", { pid });
  } catch {
    // it ended meanwhile
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
