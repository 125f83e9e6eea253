import { redactor } from "../core/index.js";
import { channelSecretRefs, createChannels, Notifier, parseChannelsConfig, type Channel, type ChannelsConfig, type Delivery } from "../notify/index.js";
import { resolveSecrets } from "../secrets/index.js";
import { secretProviders, type Engine } from "./engine.js";

/** The channels of engineroom.yaml and the one Notifier that delivers to them. */
export interface ChannelParts {
  channels: readonly Channel[];
  notifier: Notifier;
}

/**
 * Checks `channels:` against the notify registry and resolves its secret references through the
 * project's secret providers (each value registered with the redactor, so it never shows in any
 * output): CONFIG_INVALID listing `channels.<name>.<key>: message` per problem, or the secrets'
 * own errors (SECRET_NOT_FOUND naming `channels.<name>.<key>`), before anything starts.
 */
export async function resolveChannels(engine: Engine): Promise<{ config: ChannelsConfig; secrets: Record<string, string> }> {
  const { project } = engine;
  const config = parseChannelsConfig(project.config.channels, project.file);
  const refs = channelSecretRefs(config);
  const secrets = Object.keys(refs).length === 0 ? {} : await resolveSecrets(refs, secretProviders(project), redactor, { warn: (message) => engine.logger.warn(message) });
  return { config, secrets };
}

/** Makes the channels and the Notifier; a delivery that finally fails is an event (`notification.failed`). */
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
