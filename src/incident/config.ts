import { z } from "zod";
import { durationSchema } from "../config/index.js";

/** An escalation timer: from 1s to the longest timer (24d). */
const duration = durationSchema({ min: 1000, examples: "15m or 1h" });

const channels = z.union([z.string(), z.array(z.string()).min(1)]).transform((v) => (typeof v === "string" ? [v] : v));

/** `incidents:` of engineroom.yaml, as written. */
export const incidentsSchema = z
  .strictObject({
    channel: channels.optional().meta({ description: "The channel (or list) the coordinator is told on: at open, at each update, at resolve. Default: every declared channel." }),
    escalate_after: duration.prefault("15m").meta({ description: "An incident nobody acknowledged this long is escalated (default 15m)." }),
    escalation_channel: channels.optional().meta({ description: "Where an escalation goes (default: the incidents' channel)." }),
  })
  .prefault({});

/** The incidents' settings, resolved: durations in ms, channels named. */
export interface IncidentsConfig {
  channels: string[];
  escalateAfterMs: number;
  escalationChannels: string[];
}

/**
 * The `incidents:` section checked against the declared channels; the issues (with their paths)
 * for the engine's CONFIG_INVALID, or the settings.
 */
export function incidentsSchemaFor(declared: readonly string[]) {
  return incidentsSchema.superRefine((config, ctx) => {
    for (const key of ["channel", "escalation_channel"] as const) {
      (config[key] ?? []).forEach((name, i) => {
        if (declared.includes(name)) return;
        ctx.addIssue({ code: "custom", path: config[key]!.length > 1 ? [key, i] : [key], message: `no channel named "${name}" under channels:${declared.length ? ` (declared: ${declared.join(", ")})` : " (none is declared)"}` });
      });
    }
  }).transform((config): IncidentsConfig => {
    const channelList = config.channel ?? [...declared];
    return { channels: channelList, escalateAfterMs: config.escalate_after, escalationChannels: config.escalation_channel ?? channelList };
  });
}
