import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { EngineError } from "../../core/index.js";
import { assertSecretName, isSecretName } from "../names.js";
import type { SecretProvider } from "../types.js";

/** Options of `type: file` under `secrets.providers`. */
export const fileProviderOptions = z.strictObject({
  dir: z
    .string()
    .min(1)
    .meta({ description: "Folder holding one file per secret, as Docker (/run/secrets) and Kubernetes mount them; relative to engineroom.yaml." }),
});

export interface FileSecretProviderOptions {
  /** The folder of secret files. */
  dir: string;
}

/**
 * Reads secrets from a folder holding one file per secret, the way Docker (`/run/secrets`) and
 * Kubernetes (a mounted Secret volume) provide them: the secret's name is the file's name and its
 * value the file's content, with one trailing newline (`\n` or `\r\n`) removed.
 *
 * Names follow the rule of names.ts, so `/`, `..` and hidden files are refused by `get` and skipped
 * by `list`, and Kubernetes' `..data` and `..<timestamp>` folders never show; its per-key symlinks
 * into them are followed. Read-only; the folder is read at each call, so a rotated mount shows.
 *
 * @example
 * const provider = new FileSecretProvider({ dir: "/run/secrets" });
 * await provider.get("db_password"); // content of /run/secrets/db_password
 */
export class FileSecretProvider implements SecretProvider {
  readonly type = "file";
  readonly #dir: string;

  constructor(options: FileSecretProviderOptions) {
    this.#dir = options.dir;
  }

  async get(name: string): Promise<string | undefined> {
    assertSecretName(name, `file provider, folder ${this.#dir}`);
    let content: string;
    try {
      content = await readFile(join(this.#dir, name), "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR") return undefined;
      throw this.#failed(`Cannot read secret "${name}" from ${this.#dir}`, error);
    }
    return content.replace(/\r?\n$/, "");
  }

  async list(): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.#dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw this.#failed(`Cannot list the secret folder ${this.#dir}`, error);
    }
    const names: string[] = [];
    for (const entry of entries.filter(isSecretName).sort()) {
      // stat follows Kubernetes' symlinks into ..data; a broken link or a folder is no secret.
      const found = await stat(join(this.#dir, entry)).catch(() => undefined);
      if (found?.isFile()) names.push(entry);
    }
    return names;
  }

  #failed(message: string, error: unknown): EngineError {
    // The errno message names the path and the reason, never the content.
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    return new EngineError("SECRET_PROVIDER_FAILED", `${message}: ${code}.`, { details: { dir: this.#dir, reason: code } });
  }
}
