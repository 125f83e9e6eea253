import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { ciPublicKeyPattern, stableStringify } from "../config/index.js";
import { EngineError } from "../core/index.js";

/** A CI key the project trusts (`ci.trusted_keys`): its name (or its fingerprint) and the public key. */
export interface TrustedKey {
  name: string;
  /** `ed25519:<base64 of the 32 raw bytes>`. */
  key: string;
}

/** The DER prefix of an ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it. */
const spkiPrefix = Buffer.from("302a300506032b6570032100", "hex");

/** `ed25519:<base64>` of a public key. */
export function publicKeyText(key: KeyObject): string {
  const der = key.export({ type: "spki", format: "der" });
  return `ed25519:${der.subarray(spkiPrefix.length).toString("base64")}`;
}

/** A short stable name of a public key: the first 16 hex digits of the sha256 of its `ed25519:…` text. */
export function keyFingerprint(publicKey: string): string {
  return createHash("sha256").update(publicKey).digest("hex").slice(0, 16);
}

function publicKeyObject(text: string): KeyObject {
  if (!ciPublicKeyPattern.test(text)) throw new EngineError("CI_KEY_INVALID", "A CI public key looks like ed25519:<44 base64 characters>.");
  const raw = Buffer.from(text.slice("ed25519:".length), "base64");
  return createPublicKey({ key: Buffer.concat([spkiPrefix, raw]), format: "der", type: "spki" });
}

/** The keys of `ci.trusted_keys`, each with a name (its fingerprint when none is given). */
export function trustedKeys(config: readonly (string | { name: string; key: string })[]): TrustedKey[] {
  return config.map((entry) => (typeof entry === "string" ? { name: keyFingerprint(entry), key: entry } : entry));
}

/**
 * Writes a new ed25519 key pair for CI: the private key as PKCS#8 PEM to `file`, owner-only (0600),
 * never over an existing file. Answers the public key as `ed25519:<base64>`, for `ci.trusted_keys`.
 */
export function generateCiKey(file: string): { publicKey: string; fingerprint: string } {
  if (existsSync(file)) throw new EngineError("CI_KEY_INVALID", `${file} exists already; a key file is never overwritten.`, { hint: "Choose another --out, or remove the old key file once nothing signs with it." });
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  chmodSync(file, 0o600); // whatever the umask
  const text = publicKeyText(publicKey);
  return { publicKey: text, fingerprint: keyFingerprint(text) };
}

/** Reads a private key file that `generateCiKey` wrote (or the key's PEM text itself, as a CI secret gives it). */
export function readCiKey(fileOrPem: string): KeyObject {
  let pem = fileOrPem;
  if (!fileOrPem.includes("-----BEGIN")) {
    let mode: number;
    try {
      mode = statSync(fileOrPem).mode;
      pem = readFileSync(fileOrPem, "utf8");
    } catch {
      throw new EngineError("CI_KEY_INVALID", `There is no readable key file at ${fileOrPem}.`);
    }
    if ((mode & 0o077) !== 0) throw new EngineError("CI_KEY_INVALID", `${fileOrPem} can be read by others (mode ${(mode & 0o777).toString(8)}); a signing key is kept owner-only.`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new EngineError("CI_KEY_INVALID", "The key is not a PEM private key.");
  }
  if (key.asymmetricKeyType !== "ed25519") throw new EngineError("CI_KEY_INVALID", `The key is ${key.asymmetricKeyType ?? "not asymmetric"}, not ed25519.`);
  return key;
}

/** The bytes a signature covers: the canonical JSON (sorted keys, no spaces) of the value. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(stableStringify(value), "utf8");
}

/** Signs the canonical JSON of `value`; answers the signature in base64. */
export function signValue(key: KeyObject, value: unknown): string {
  return sign(null, canonicalBytes(value), key).toString("base64");
}

/** The public key of a private one, as `ed25519:<base64>`. */
export function publicKeyOf(key: KeyObject): string {
  return publicKeyText(createPublicKey(key));
}

/**
 * The trusted key whose signature `signature` (base64) over the canonical JSON of `value` is, or
 * ARTIFACT_UNTRUSTED: no signature, a signature by no trusted key, or no trusted key at all.
 */
export function verifyValue(keys: readonly TrustedKey[], value: unknown, signature: string | undefined): TrustedKey {
  if (keys.length === 0) {
    throw new EngineError("ARTIFACT_UNTRUSTED", "This project trusts no CI key, so it accepts no upload.", {
      hint: "Run `engineroom ci keygen`, put the public key it prints under ci.trusted_keys in engineroom.yaml, and restart the engine.",
    });
  }
  if (!signature) throw new EngineError("ARTIFACT_UNTRUSTED", "The upload is not signed.");
  const bytes = canonicalBytes(value);
  const raw = Buffer.from(signature, "base64");
  const found = raw.length === 64 ? keys.find((k) => verify(null, bytes, publicKeyObject(k.key), raw)) : undefined;
  if (!found) throw new EngineError("ARTIFACT_UNTRUSTED", "The upload's signature is not by a CI key this project trusts (or what it signs was changed).");
  return found;
}
