import { createHmac } from "node:crypto";
import { z } from "zod";
import type { Clock } from "../../core/index.js";
import { postJson, withoutCredentials } from "../http.js";
import { httpUrl, secretOnly, textOrSecret, timeoutSchema, urlOrSecret } from "../options.js";
import type { Channel, ChannelReceipt, Notification, Resolved } from "../types.js";
import { webhookBody } from "./body.js";

export { webhookBody, zeroTime, type EngineroomExtras, type WebhookV4Body } from "./body.js";

/** The header holding the signature: `sha256=<hex>`. */
export const signatureHeader = "X-Engineroom-Signature";
/** The header holding the signing time, in whole seconds since the epoch. */
export const timestampHeader = "X-Engineroom-Timestamp";

/** `type: webhook` options under `channels.<name>`. */
export const webhookOptions = z.strictObject({
  url: urlOrSecret.meta({ description: "Where to POST; `{ secret: name }` when the URL holds a token." }),
  hmac_secret: secretOnly.optional().meta({
    description: `Signs each body: ${signatureHeader}: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>"> with ${timestampHeader}: <unix seconds>.`,
  }),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, "a header name is a token (letters, digits, - and a few signs)"), textOrSecret)
    .default({})
    .meta({ description: "Extra request headers; a value may be `{ secret: name }` (e.g. Authorization)." }),
  timeout: timeoutSchema(10_000),
});

export type WebhookOptions = z.output<typeof webhookOptions>;

/**
 * The signature of one body: hex HMAC-SHA256 over `<timestamp>.<body>`, the timestamp being the
 * X-Engineroom-Timestamp header (unix seconds) and the body the exact bytes received. The timestamp
 * is signed so that a captured request cannot be replayed later: a receiver recomputes the HMAC,
 * compares in constant time, and refuses a timestamp more than a few minutes from its clock.
 */
export function webhookSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
}

/** A generic webhook: Alertmanager's v4 JSON body, optionally HMAC-signed. */
export class WebhookChannel implements Channel {
  readonly type = "webhook";
  readonly name: string;
  readonly timeoutMs: number;
  readonly #url: URL;
  readonly #hmacSecret: string | undefined;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #clock: Clock;

  constructor(name: string, options: Resolved<WebhookOptions>, clock: Clock) {
    this.name = name;
    this.timeoutMs = options.timeout;
    const { url, authorization } = withoutCredentials(httpUrl(options.url, `channels.${name}.url`));
    this.#url = url;
    this.#hmacSecret = options.hmac_secret;
    this.#headers = authorization === undefined ? options.headers : { authorization, ...options.headers };
    this.#clock = clock;
  }

  send(notification: Notification, signal: AbortSignal): Promise<ChannelReceipt> {
    const body = JSON.stringify(webhookBody(notification));
    const headers: Record<string, string> = { ...this.#headers };
    if (this.#hmacSecret !== undefined) {
      const timestamp = String(Math.floor(this.#clock.now() / 1000));
      headers[timestampHeader] = timestamp;
      headers[signatureHeader] = `sha256=${webhookSignature(this.#hmacSecret, timestamp, body)}`;
    }
    return postJson({ channel: this.name, url: this.#url, body, headers, signal, now: this.#clock.now() });
  }
}
