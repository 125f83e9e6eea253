import { isIP } from "node:net";
import { z } from "zod";

/** The options of `runtime: { type: local, ... }` in an environment, besides `type`. */
export const localRuntimeOptions = z.strictObject({
  host: z
    .string()
    .refine((value) => isIP(value) !== 0, "an IP address of this machine, e.g. 127.0.0.1 or ::1")
    .default("127.0.0.1")
    .meta({ description: "The address instances listen on and are reached at; ports are allocated on it." }),
  log_max_bytes: z
    .number()
    .int()
    .min(1024)
    .max(2 ** 40)
    .default(10 * 1024 * 1024)
    .meta({ description: "An instance's log file is rotated before it grows past this many bytes." }),
  log_files: z.number().int().min(0).max(100).default(3).meta({ description: "How many rotated log files are kept per instance." }),
});

export type LocalRuntimeConfig = z.output<typeof localRuntimeOptions>;
