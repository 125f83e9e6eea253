import { redactor } from "../core/index.js";
import { createChannels, Notifier, type Channel, type ChannelsConfig, type Delivery } from "../notify/index.js";
import type { Engine } from "./engine.js";

/** The channels of engineroom.yaml and the one Notifier that delivers to them. */
export interface ChannelParts {
  channels: readonly Channel[];
  notifier: Notifier;
}

/** Makes the channels (`channels:` checked and its secrets resolved at the engine's start, see monitoring-config.ts) and the Notifier; a delivery that finally fails is an event (`notification.failed`). */
export function startChannels(engine: Engine, resolved: { config: ChannelsConfig; secrets: Record<string, string> }): ChannelParts {
  const channels = createChannels(resolved.config, resolved.secrets, { clock: engine.clock });
  const notifier = new Notifier({ channels, clock: engine.clock, redactor, onDelivery: (delivery) => recordFailure(engine, delivery) });
  if (channels.length > 0) engine.logger.info("channels ready", { channels: channels.map((c) => `${c.name} (${c.type})`).join(", ") });
  return { channels, notifier };
}

function recordFailure(engine: Engine, delivery: Delivery): void {
  if (delivery.state !== "failed") return;
  const tries = `${delivery.attempts} attempt${delivery.attempts === 1 ? "" : "s"}`;
  void engine.store.events
    .append({
      type: "notification.failed",
      message: `notification "${delivery.title}" to channel ${delivery.channel} failed after ${tries}: ${delivery.lastError ?? "unknown error"}`,
      data: { delivery },
    })
    .catch((error: unknown) => engine.logger.warn("could not record a failed notification", { error: String(error) }));
}
