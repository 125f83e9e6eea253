import { readFile } from "node:fs/promises";
import { z } from "zod";
import { EngineError } from "../../core/index.js";
import { assertSecretName, assertStorableValue } from "../names.js";
import type { WritableSecretProvider } from "../types.js";
import { writeFileAtomic } from "./atomic-write.js";
import { keyId, seal, unseal } from "./cipher.js";
import { emptyDocument, parseDocument, serializeDocument, type StoreDocument } from "./document.js";

/** Options of `type: local` under `secrets.providers`. */
export const localProviderOptions = z.strictObject({
  file: z
    .string()
    .min(1)
    .optional()
    .meta({ description: "The encrypted store file, relative to engineroom.yaml. Default: <state_dir>/secrets.json." }),
  key_file: z
    .string()
    .min(1)
    .optional()
    .meta({
      description:
        "Key file (32 bytes, base64 or hex; mode 0600; outside the project). $ENGINEROOM_SECRETS_KEY and $ENGINEROOM_SECRETS_KEY_FILE come first; default ~/.config/engineroom/secrets.key.",
    }),
});

export interface LocalSecretStoreOptions {
  /** The store file, e.g. `.engineroom/secrets.json`; created on the first `set`. */
  file: string;
  /** The 32-byte key, or a function that loads it (see `loadSecretsKey`); called once, when a value is first read or written. */
  key: Buffer | (() => Buffer | Promise<Buffer>);
}

/**
 * An encrypted secret store in one JSON file: names in clear, each value sealed on its own with
 * AES-256-GCM under a random 12-byte nonce, its name bound as additional authenticated data (so a
 * value moved to another name fails to open). The file also keeps a fingerprint of its key, so a
 * wrong key (SECRET_KEY_WRONG) is told apart from an altered file (SECRET_STORE_CORRUPT).
 *
 * Every write replaces the file atomically with mode 0600. Writes from one process are serialized;
 * two processes writing at the same moment may lose one write (the file stays whole).
 * `list` and `remove` need no key; `get` and `set` do.
 *
 * @example
 * const store = new LocalSecretStore({ file: ".engineroom/secrets.json", key: () => loadSecretsKey() });
 * await store.set("db_password", "hunter2-but-longer");
 * await store.get("db_password"); // "hunter2-but-longer"
 */
export class LocalSecretStore implements WritableSecretProvider {
  readonly type = "local";
  readonly #file: string;
  readonly #keySource: LocalSecretStoreOptions["key"];
  #key: Promise<Buffer> | undefined;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: LocalSecretStoreOptions) {
    this.#file = options.file;
    this.#keySource = options.key;
  }

  async get(name: string): Promise<string | undefined> {
    assertSecretName(name, `local store ${this.#file}`);
    const document = await this.#read();
    const sealed = document.secrets.get(name);
    if (!sealed) return undefined;
    const key = await this.#checkedKey(document);
    const value = unseal(key, name, sealed);
    if (value === undefined) {
      throw new EngineError(
        "SECRET_STORE_CORRUPT",
        `The value of secret "${name}" in ${this.#file} fails its integrity check: the file was altered, or a value was moved there from another name.`,
        { details: { secret: name, file: this.#file } },
      );
    }
    return value;
  }

  async list(): Promise<string[]> {
    return [...(await this.#read()).secrets.keys()].sort();
  }

  async set(name: string, value: string): Promise<void> {
    assertSecretName(name, `local store ${this.#file}`);
    assertStorableValue(name, value, `local store ${this.#file}`);
    return this.#serialize(async () => {
      const document = await this.#read();
      // An empty store may change key; a store with values keeps the one they are sealed with.
      const key = document.secrets.size === 0 ? await this.#loadKey() : await this.#checkedKey(document);
      document.keyId = keyId(key);
      document.secrets.set(name, seal(key, name, value));
      await this.#write(document);
    });
  }

  async remove(name: string): Promise<boolean> {
    assertSecretName(name, `local store ${this.#file}`);
    return this.#serialize(async () => {
      const document = await this.#read();
      if (!document.secrets.delete(name)) return false;
      await this.#write(document);
      return true;
    });
  }

  #serialize<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#writes.then(work);
    this.#writes = result.catch(() => undefined);
    return result;
  }

  async #read(): Promise<StoreDocument> {
    let text: string;
    try {
      text = await readFile(this.#file, "utf8");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return emptyDocument();
      throw new EngineError("SECRET_PROVIDER_FAILED", `Cannot read the secret store ${this.#file}: ${code ?? "error"}.`, { details: { file: this.#file } });
    }
    return parseDocument(text, this.#file);
  }

  async #write(document: StoreDocument): Promise<void> {
    try {
      await writeFileAtomic(this.#file, serializeDocument(document), { mode: 0o600 });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new EngineError("SECRET_PROVIDER_FAILED", `Cannot write the secret store ${this.#file}: ${code ?? "error"}; it was left as it was.`, {
        details: { file: this.#file },
      });
    }
  }

  #loadKey(): Promise<Buffer> {
    if (!this.#key) {
      const source = this.#keySource;
      this.#key = Promise.resolve(typeof source === "function" ? source() : source);
      this.#key.catch(() => (this.#key = undefined)); // a missing key may be provided before the next call
    }
    return this.#key;
  }

  async #checkedKey(document: StoreDocument): Promise<Buffer> {
    const key = await this.#loadKey();
    const id = keyId(key);
    if (document.keyId !== undefined && document.keyId !== id) {
      throw new EngineError(
        "SECRET_KEY_WRONG",
        `The key (fingerprint ${id}) does not open the secret store ${this.#file}, which was written with the key of fingerprint ${document.keyId}.`,
        { details: { file: this.#file, keyId: id, storeKeyId: document.keyId } },
      );
    }
    return key;
  }
}
