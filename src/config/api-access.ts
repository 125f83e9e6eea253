import { z } from "zod";

/** `api.rate_limit`: requests per minute per created token (the state folder's admin token is exempt). */
export const rateLimitSchema = z
  .strictObject({
    requests_per_minute: z.number().int().min(1).max(1_000_000).default(600).meta({ description: "Requests a created token may make per minute (a burst of that many, refilled evenly); over it the API answers 429 RATE_LIMITED with Retry-After." }),
  })
  .default({ requests_per_minute: 600 });

const origin = z
  .string()
  .regex(/^https?:\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/, 'an origin is scheme://host[:port], e.g. "https://ops.example.com"')
  .transform((value) => value.toLowerCase());

const hostName = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)$/, 'a host name or address without port, e.g. "ops.example.com"')
  .transform((value) => value.toLowerCase());

/** `api.tls`: the certificate and key (PEM files) the API serves HTTPS with. */
export const apiTlsSchema = z
  .strictObject({
    cert_file: z.string().min(1).meta({ description: "PEM certificate (chain) file, relative to the project folder or absolute." }),
    key_file: z.string().min(1).meta({ description: "PEM private key file, relative to the project folder or absolute; keep it readable by the engine's user only." }),
  })
  .meta({ description: "Serve the API over HTTPS; required when api.listen is not a loopback address." });

/** The access keys of the `api` section, beside `listen`. */
export const apiAccessShape = {
  rate_limit: rateLimitSchema,
  allowed_origins: z.array(origin).default([]).meta({ description: "Origins (besides the API's own) whose web pages may call the API, e.g. a dashboard behind a reverse proxy." }),
  host: z.array(hostName).default([]).meta({ description: "Names (besides 127.0.0.1, localhost, [::1] and the listen address) the API answers to in the Host header; others are refused (DNS rebinding)." }),
  tls: apiTlsSchema.optional(),
};

/** The defaults of `apiAccessShape`, for the `api` section's own default. */
export const apiAccessDefaults = { rate_limit: { requests_per_minute: 600 }, allowed_origins: [] as string[], host: [] as string[] };
