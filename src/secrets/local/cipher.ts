import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";

/** One encrypted value as the store file keeps it; every field base64. */
export interface SealedValue {
  /** The random 12-byte GCM nonce, new for every write. */
  nonce: string;
  /** The ciphertext. */
  data: string;
  /** The 16-byte GCM authentication tag. */
  tag: string;
}

const algorithm = "aes-256-gcm";
const nonceBytes = 12;
const tagBytes = 16;

/**
 * The additional authenticated data of a value: binding the secret's name means a value copied or
 * swapped to another name in the file fails its tag instead of being handed out under that name.
 */
function aad(name: string): Buffer {
  return Buffer.from(`engineroom/secrets/v1\0${name}`, "utf8");
}

/** Encrypts `value` for `name` with AES-256-GCM under a fresh random nonce. */
export function seal(key: Buffer, name: string, value: string): SealedValue {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv(algorithm, key, nonce, { authTagLength: tagBytes });
  cipher.setAAD(aad(name));
  const data = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  return { nonce: nonce.toString("base64"), data: data.toString("base64"), tag: cipher.getAuthTag().toString("base64") };
}

/** Decrypts a sealed value of `name`; `undefined` when it fails authentication (altered, moved, or another key). */
export function unseal(key: Buffer, name: string, sealed: SealedValue): string | undefined {
  const nonce = Buffer.from(sealed.nonce, "base64");
  const tag = Buffer.from(sealed.tag, "base64");
  if (nonce.length !== nonceBytes || tag.length !== tagBytes) return undefined;
  try {
    const decipher = createDecipheriv(algorithm, key, nonce, { authTagLength: tagBytes });
    decipher.setAAD(aad(name));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}

/**
 * A short public fingerprint of a key, kept in the store file so a wrong key is told apart from an
 * altered file. An HMAC of a fixed label, so it says nothing about the key itself.
 */
export function keyId(key: Buffer): string {
  return createHmac("sha256", key).update("engineroom/secrets/key-id/v1").digest("hex").slice(0, 16);
}
