import { EngineError } from "../../core/index.js";
import { isSecretName } from "../names.js";
import type { SealedValue } from "./cipher.js";

/** The store file, `secrets.json`: names in clear, values sealed. */
export interface StoreDocument {
  /** Fingerprint of the key the values are sealed with; absent while the store is new. */
  keyId: string | undefined;
  /** Sealed values by secret name (a Map, so a name such as `__proto__` is only a name). */
  secrets: Map<string, SealedValue>;
}

const format = "engineroom-secrets";
const version = 1;

/** An empty store. */
export function emptyDocument(): StoreDocument {
  return { keyId: undefined, secrets: new Map() };
}

/** The JSON text of a store file, names sorted so a change diffs cleanly. */
export function serializeDocument(document: StoreDocument): string {
  const secrets = Object.fromEntries([...document.secrets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return JSON.stringify({ format, version, cipher: "aes-256-gcm", key_id: document.keyId, secrets }, null, 2) + "\n";
}

/**
 * Reads a store file's text. Throws SECRET_STORE_CORRUPT, naming the file and what is wrong (never
 * any content), when it is not a store this version can read.
 */
export function parseDocument(text: string, file: string): StoreDocument {
  const corrupt = (what: string) => new EngineError("SECRET_STORE_CORRUPT", `The secret store ${file} is damaged: ${what}.`, { details: { file } });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw corrupt("it is not valid JSON");
  }
  if (!isRecord(raw) || raw.format !== format) throw corrupt("it is not an Engineroom secret store");
  if (raw.version !== version) throw corrupt(`its format version ${JSON.stringify(raw.version)} is not ${version}; a newer Engineroom wrote it`);
  if (raw.key_id !== undefined && (typeof raw.key_id !== "string" || !/^[0-9a-f]{16}$/.test(raw.key_id))) throw corrupt("its key_id is malformed");
  if (!isRecord(raw.secrets)) throw corrupt("it has no secrets table");
  const secrets = new Map<string, SealedValue>();
  for (const [name, entry] of Object.entries(raw.secrets)) {
    if (!isSecretName(name)) throw corrupt("an entry's name is not a valid secret name");
    if (!isRecord(entry) || !isBase64(entry.nonce) || !isBase64(entry.data) || !isBase64(entry.tag)) throw corrupt(`the entry of secret "${name}" is malformed`);
    secrets.set(name, { nonce: entry.nonce, data: entry.data, tag: entry.tag });
  }
  return { keyId: raw.key_id, secrets };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isBase64(value: unknown): value is string {
  return typeof value === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(value);
}
