import { X509Certificate, createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import type { LoadedProject } from "../config/index.js";
import { EngineError, parseAddress } from "../core/index.js";

/** Where and how the API listens: `api.listen`, with the certificate and key of `api.tls` read and checked. */
export interface ApiListen {
  host: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer; certFile: string; keyFile: string };
}

/** True for an address only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  const v4 = bare.startsWith("::ffff:") ? bare.slice(7) : bare;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * The API's listen settings, checked before anything starts: beyond loopback, `api.tls` is required
 * (API_TLS_REQUIRED); its files must exist and hold a PEM certificate and private key (CONFIG_INVALID,
 * never showing their content).
 */
export function apiListen(project: LoadedProject): ApiListen {
  const { listen, tls } = project.config.api;
  const address = parseAddress(listen);
  if (!address) throw new EngineError("CONFIG_INVALID", `api.listen: "${listen}" is not host:port.`);
  if (!tls) {
    if (isLoopback(address.host)) return address;
    throw new EngineError("API_TLS_REQUIRED", `api.listen is ${listen}, beyond loopback, and api.tls is not set: the API's tokens would cross the network in the clear.`, {
      hint: "Set api.tls.cert_file and api.tls.key_file (PEM files), or listen on 127.0.0.1 (and reach it through an SSH tunnel or a TLS reverse proxy).",
    });
  }
  const read = (key: "cert_file" | "key_file") => {
    const file = resolve(project.dir, tls[key]);
    try {
      return { file, text: readFileSync(file) };
    } catch (error) {
      throw new EngineError("CONFIG_INVALID", `api.tls.${key}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "unreadable"}).`);
    }
  };
  const cert = read("cert_file");
  const key = read("key_file");
  try {
    new X509Certificate(cert.text);
  } catch {
    throw new EngineError("CONFIG_INVALID", `api.tls.cert_file: ${cert.file} does not hold a PEM certificate.`);
  }
  try {
    createPrivateKey(key.text);
  } catch {
    throw new EngineError("CONFIG_INVALID", `api.tls.key_file: ${key.file} does not hold a PEM private key (or it is encrypted).`);
  }
  return { ...address, tls: { cert: cert.text, key: key.text, certFile: cert.file, keyFile: key.file } };
}

/** The address a client of this machine reaches a listener on: a wildcard bind (0.0.0.0, ::) by loopback. */
export function reachableHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "::1";
  return host;
}
