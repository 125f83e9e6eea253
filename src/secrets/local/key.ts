import { randomBytes } from "node:crypto";
import { mkdir, readFile, realpath, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { EngineError } from "../../core/index.js";

/** The environment variable holding the key itself (base64 or hex of 32 bytes). */
export const secretsKeyVariable = "ENGINEROOM_SECRETS_KEY";
/** The environment variable naming a key file. */
export const secretsKeyFileVariable = "ENGINEROOM_SECRETS_KEY_FILE";

const keyBytes = 32;

/** Where the key is looked for; each field has a default, see `loadSecretsKey`. */
export interface SecretsKeySource {
  /** Environment to read ENGINEROOM_SECRETS_KEY(_FILE) and XDG_CONFIG_HOME from. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A key file named in engineroom.yaml (`key_file:`); `~/` is the home folder, relative paths start at `projectDir`. */
  keyFile?: string | undefined;
  /** The project's folder (where engineroom.yaml is). A key file inside it is refused. */
  projectDir?: string | undefined;
  /** The home folder, for `~/` and the default key file. Default: `os.homedir()`. */
  homeDir?: string | undefined;
}

/** A new random key for the local secret store, as base64 of 32 bytes. */
export function generateKey(): string {
  return randomBytes(keyBytes).toString("base64");
}

/** The default key file: `$XDG_CONFIG_HOME/engineroom/secrets.key`, or `~/.config/engineroom/secrets.key`. */
export function defaultKeyFile(source: Pick<SecretsKeySource, "env" | "homeDir"> = {}): string {
  const env = source.env ?? process.env;
  const config = env.XDG_CONFIG_HOME || join(source.homeDir ?? homedir(), ".config");
  return join(config, "engineroom", "secrets.key");
}

/**
 * Loads the 32-byte key of the local secret store, from the first of:
 * 1. `ENGINEROOM_SECRETS_KEY` — the key itself, base64 or hex;
 * 2. `ENGINEROOM_SECRETS_KEY_FILE` — a key file;
 * 3. `key_file:` from engineroom.yaml (`source.keyFile`);
 * 4. the default key file, `~/.config/engineroom/secrets.key` (`$XDG_CONFIG_HOME` is honoured).
 *
 * The environment comes first so CI and containers can override a developer's setup. The default
 * is outside the project's folder on purpose: a key kept next to the store it opens, or committed
 * with it, protects nothing. For the same reason a key file inside `projectDir` is refused, and so
 * is a key file that group or others may read (like ssh with its keys).
 *
 * Rejects with SECRET_KEY_MISSING, SECRET_KEY_INVALID or SECRET_KEY_INSECURE; no message ever holds
 * the key or any part of it.
 */
export async function loadSecretsKey(source: SecretsKeySource = {}): Promise<Buffer> {
  const env = source.env ?? process.env;
  const inline = env[secretsKeyVariable];
  if (inline) return parseKey(inline, `$${secretsKeyVariable}`);

  const named = env[secretsKeyFileVariable] || source.keyFile;
  const file = named ? expandPath(named, source) : defaultKeyFile(source);
  const found = await stat(file).catch((error: NodeJS.ErrnoException) => error);
  if (found instanceof Error) {
    if (found.code !== "ENOENT") throw new EngineError("SECRET_KEY_INVALID", `Cannot read the key file ${file}: ${found.code ?? "error"}.`);
    const tried = named ? `the key file ${file} does not exist` : `neither $${secretsKeyVariable} nor the key file ${file} is there`;
    throw new EngineError("SECRET_KEY_MISSING", `The local secret store needs a key, and ${tried}.`);
  }
  if (!found.isFile()) throw new EngineError("SECRET_KEY_INVALID", `The key file ${file} is not a file.`);
  if (process.platform !== "win32" && (found.mode & 0o077) !== 0) {
    const mode = (found.mode & 0o777).toString(8).padStart(4, "0");
    throw new EngineError("SECRET_KEY_INSECURE", `The key file ${file} has mode ${mode}: group or others may read it.`, {
      hint: `Make it readable by its owner only: chmod 600 ${file}`,
    });
  }
  if (source.projectDir && (await isInside(file, source.projectDir))) {
    throw new EngineError("SECRET_KEY_INSECURE", `The key file ${file} is inside the project's folder, where it could be committed or copied with the store it opens.`, {
      hint: outsideHint(file),
    });
  }
  return parseKey(await readFile(file, "utf8"), `the key file ${file}`);
}

/**
 * Writes a new key file with mode 0600 (its folder 0700), refusing to replace one that exists, and
 * refusing (SECRET_KEY_INSECURE) a file inside `options.projectDir`, which `loadSecretsKey` would
 * refuse to read: that happens when HOME or XDG_CONFIG_HOME lies inside the project. Returns the key, base64.
 */
export async function writeKeyFile(file: string, key: string = generateKey(), options: { projectDir?: string | undefined } = {}): Promise<string> {
  parseKey(key, "the new key");
  if (options.projectDir && (await isInside(file, options.projectDir))) {
    throw new EngineError("SECRET_KEY_INSECURE", `Will not write the key to ${file}: it is inside the project's folder ${options.projectDir}, where it could be committed or copied with the store it opens.`, {
      hint: outsideHint(file),
    });
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, key + "\n", { mode: 0o600, flag: "wx" });
  return key;
}

/** Decodes a key written as 64 hex digits or base64 (standard or URL-safe) of 32 bytes. */
export function parseKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) key = Buffer.from(trimmed, "hex");
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) key = Buffer.from(trimmed, "base64");
  if (key?.length !== keyBytes) {
    throw new EngineError("SECRET_KEY_INVALID", `The key in ${where} is not ${keyBytes} bytes written as base64 or hex.`);
  }
  return key;
}

function expandPath(path: string, source: SecretsKeySource): string {
  if (path === "~" || path.startsWith("~/")) return join(source.homeDir ?? homedir(), path.slice(1));
  return isAbsolute(path) ? path : resolve(source.projectDir ?? ".", path);
}

function outsideHint(file: string): string {
  return (
    `Keep the key outside the project: set ${secretsKeyVariable} to the key itself (\`openssl rand -base64 32\`), ` +
    `or ${secretsKeyFileVariable} to a file elsewhere, or point HOME or XDG_CONFIG_HOME to a folder outside the project ` +
    `(the default key file is $XDG_CONFIG_HOME/engineroom/secrets.key, else ~/.config/engineroom/secrets.key); ${file} is inside it.`
  );
}

/** Whether `file` (which need not exist yet) lies inside `dir`, with symlinks resolved. */
async function isInside(file: string, dir: string): Promise<boolean> {
  const [real, realDir] = await Promise.all([realpathOfNearest(resolve(file)), realpath(dir).catch(() => resolve(dir))]);
  const path = relative(realDir, real);
  return path !== "" && path.split(sep)[0] !== ".." && !isAbsolute(path);
}

/** The real path of `path`, or of its nearest folder that exists with the rest appended. */
async function realpathOfNearest(path: string): Promise<string> {
  const found = await realpath(path).catch(() => undefined);
  if (found !== undefined) return found;
  const parent = dirname(path);
  return parent === path ? path : join(await realpathOfNearest(parent), basename(path));
}
