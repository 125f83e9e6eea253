import { z } from "zod";
import type { CheckType } from "../types.js";
import { HttpProbe, parseJsonPath } from "./probe.js";

export { closeHttpDispatchers } from "./dispatcher.js";

const headerValue = z.string().regex(/^[^\r\n]*$/, "a header value cannot hold a line break");

/** The options of an `http` check. */
export const httpOptions = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: "an http:// or https:// URL, e.g. http://127.0.0.1:8080/health" })
    .meta({ description: "The URL to request (http or https)." }),
  method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]).default("GET").meta({ description: "Default GET." }),
  headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "a header name"), headerValue).default({}).meta({ description: "Request headers." }),
  body: z.string().optional().meta({ description: "Request body." }),
  tls_verify: z.boolean().default(true).meta({ description: "Verify the server's certificate chain and name (https). Default true." }),
  max_body_bytes: z
    .number()
    .int()
    .min(1)
    .max(16 * 1024 * 1024)
    .default(65_536)
    .meta({ description: "Read at most this much of the body, only when a condition reads `body` or `body.json.`; otherwise the body is discarded unread. Default 65536." }),
});

/** An `http` check's options as validated. */
export type HttpOptions = z.output<typeof httpOptions>;

/**
 * `http`: one request per run through a shared keep-alive dispatcher. Fields: `status`, `body`
 * (the first `max_body_bytes`), `body.json.<path>`, `header.<name>`, `cert_expires` (https).
 */
export const httpCheck: CheckType<HttpOptions> = {
  options: httpOptions,
  fields: {
    status: "number",
    response_time: "duration",
    body: "string",
    "body.json.": "json",
    "header.": "string",
    cert_expires: "duration",
  },
  defaultConditions: ["status >= 200", "status < 400"],
  checkField(field) {
    if (field.startsWith("body.json.") && parseJsonPath(field.slice("body.json.".length)) === undefined) {
      return "a JSON path is keys and indexes, like body.json.status or body.json.items[0].id";
    }
    if (field.startsWith("header.") && !/^header\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(field)) return "a header name, like header.content-type";
    return undefined;
  },
  create: (options, context) => new HttpProbe(options, context.reads),
};
