import nodemailer, { type Transporter } from "nodemailer";
import type SMTPTransport from "nodemailer/lib/smtp-transport/index.js";
import { z } from "zod";
import { secretOnly, timeoutSchema } from "../options.js";
import { ChannelError, type Channel, type ChannelReceipt, type Notification, type Resolved } from "../types.js";
import { emailMessage } from "./message.js";

export { emailMessage, type EmailMessage } from "./message.js";

/** `type: email` options under `channels.<name>`. */
export const emailOptions = z
  .strictObject({
    host: z.string().min(1).meta({ description: "The SMTP server." }),
    port: z.number().int().min(1).max(65535).default(587).meta({ description: "Default 587 (submission with STARTTLS); 465 for implicit TLS." }),
    secure: z.boolean().optional().meta({ description: "Implicit TLS from the first byte; default true when `port` is 465, else false." }),
    starttls: z
      .enum(["require", "opportunistic"])
      .optional()
      .meta({ description: "Without `secure`: `require` (default) refuses to send unless the server upgrades with STARTTLS; `opportunistic` upgrades when offered, else sends in clear." }),
    tls_verify: z.boolean().default(true).meta({ description: "Verify the server's certificate and name." }),
    ca: z.string().optional().meta({ description: "PEM certificate(s) to trust besides the system's, e.g. a private CA." }),
    username: z.string().min(1).optional(),
    password: secretOnly.optional().meta({ description: "`{ secret: name }`: the password never sits in engineroom.yaml." }),
    from: z.string().min(3).meta({ description: 'The sender, e.g. "Engineroom <alerts@example.com>".' }),
    to: z.array(z.string().min(3)).min(1).meta({ description: "The recipients." }),
    timeout: timeoutSchema(30_000),
  })
  .superRefine((options, ctx) => {
    if ((options.username === undefined) !== (options.password === undefined)) {
      ctx.addIssue({ code: "custom", path: [options.username === undefined ? "username" : "password"], message: "set username and password together, or neither" });
    }
    if (options.starttls !== undefined && (options.secure ?? options.port === 465)) {
      ctx.addIssue({ code: "custom", path: ["starttls"], message: "starttls applies to a plain connection; with implicit TLS (secure, or port 465) leave it out" });
    }
  });

export type EmailOptions = z.output<typeof emailOptions>;

/** Certificate failures: sending again cannot fix them, so they are permanent. */
const certificateErrors = /certificate|self.signed|unable.to.verify|unable.to.get.issuer|altname|hostname.mismatch|CERT_/i;

/**
 * Email over SMTP (nodemailer): implicit TLS or STARTTLS, AUTH with a password from a secret, a
 * plain-text and an HTML part. An SMTP 5xx reply is permanent, a 4xx reply and a network error are
 * retried.
 */
export class EmailChannel implements Channel {
  readonly type = "email";
  readonly name: string;
  readonly timeoutMs: number;
  readonly #transport: Transporter<SMTPTransport.SentMessageInfo>;
  readonly #from: string;
  readonly #to: string[];
  /** Forms of the credentials nothing but this channel knows (AUTH PLAIN/LOGIN send them base64), scrubbed from errors. */
  readonly #scrub: string[];

  constructor(name: string, options: Resolved<EmailOptions>) {
    this.name = name;
    this.timeoutMs = options.timeout;
    const secure = options.secure ?? options.port === 465;
    const starttls = options.starttls ?? "require";
    this.#transport = nodemailer.createTransport({
      host: options.host,
      port: options.port,
      secure,
      requireTLS: !secure && starttls === "require",
      opportunisticTLS: !secure && starttls === "opportunistic",
      tls: { rejectUnauthorized: options.tls_verify, ...(options.ca ? { ca: options.ca } : {}) },
      auth: options.username !== undefined && options.password !== undefined ? { user: options.username, pass: options.password } : undefined,
      connectionTimeout: options.timeout,
      greetingTimeout: options.timeout,
      socketTimeout: options.timeout,
      dnsTimeout: options.timeout,
      logger: false,
      debug: false,
    });
    this.#from = options.from;
    this.#to = [...options.to];
    const password = options.password;
    this.#scrub = password
      ? [password, Buffer.from(`\0${options.username}\0${password}`).toString("base64"), Buffer.from(password).toString("base64")]
      : [];
  }

  async send(notification: Notification, signal: AbortSignal): Promise<ChannelReceipt> {
    const message = emailMessage(notification);
    if (signal.aborted) throw this.#timedOut();
    const sending = this.#transport.sendMail({ from: this.#from, to: this.#to, subject: message.subject, text: message.text, html: message.html });
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(this.#timedOut());
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const info = await Promise.race([sending, aborted]);
      return { status: Number(/^\d{3}/.exec(info.response ?? "")?.[0] ?? 250) };
    } catch (error) {
      if (error instanceof ChannelError) throw error;
      throw this.#classify(error);
    } finally {
      signal.removeEventListener("abort", onAbort!);
      sending.catch(() => {}); // an attempt given up on still settles; its error is not wanted
    }
  }

  async close(): Promise<void> {
    this.#transport.close();
  }

  #timedOut(): ChannelError {
    return new ChannelError(`channel ${this.name} (SMTP) timed out`);
  }

  #classify(error: unknown): ChannelError {
    const e = error as { code?: unknown; responseCode?: unknown; response?: unknown; message?: unknown };
    const responseCode = typeof e.responseCode === "number" ? e.responseCode : undefined;
    const code = typeof e.code === "string" ? e.code : undefined;
    const detail = typeof e.response === "string" && e.response ? e.response : typeof e.message === "string" ? e.message : String(error);
    const what = code === "EAUTH" ? "authentication failed" : code === "ETLS" ? "STARTTLS failed" : code === "ECONNECTION" || code === "ESOCKET" ? "connection failed" : "failed";
    const text = this.#scrubbed(`channel ${this.name} (SMTP) ${what}: ${detail.split("\n")[0]!.slice(0, 200)}`);
    if (responseCode !== undefined) return new ChannelError(text, { status: responseCode, permanent: responseCode >= 500 });
    const permanent = certificateErrors.test(`${detail} ${code ?? ""}`) || code === "EENVELOPE";
    return new ChannelError(text, { permanent });
  }

  #scrubbed(text: string): string {
    return this.#scrub.reduce((out, value) => (value.length >= 4 ? out.split(value).join("[REDACTED]") : out), text);
  }
}
