import { EngineError, newId } from "../../core/index.js";
import type { Delivery, Notification } from "../../notify/index.js";
import type { Engine } from "../engine.js";

/** One configured channel as the interfaces show it (never its options: they may hold secrets). */
export interface ChannelSummary {
  name: string;
  type: string;
}

/** The channels operations of the façade (see ../operations.ts): what `engineroom channels` and /v1/channels call. */
export interface ChannelOperations {
  /** The channels of engineroom.yaml, in the order written. */
  channels(): Promise<ChannelSummary[]>;
  /**
   * Sends a test notice to one channel, tried once, and answers its Delivery (also in the delivery
   * log and the event log). CHANNEL_UNKNOWN for a channel not configured; CHANNEL_TEST_FAILED, with
   * the delivery in its details, when the channel did not take it.
   */
  testChannel(name: string, input?: { by?: string }): Promise<Delivery>;
}

export function channelOperations(engine: Engine): ChannelOperations {
  const notifier = () => {
    const found = engine.monitoring.notifier;
    if (!found) throw new EngineError("ENGINE_NOT_RUNNING", "The channels have not started yet.");
    return found;
  };
  return {
    channels: async () => notifier().channels.map((c) => ({ name: c.name, type: c.type })),
    testChannel: async (name, input = {}) => {
      const channel = notifier().channels.find((c) => c.name === name);
      if (!channel) {
        const known = notifier().channels.map((c) => c.name).join(", ") || "none";
        throw new EngineError("CHANNEL_UNKNOWN", `No channel named "${name}" (the channels are: ${known}).`);
      }
      const by = input.by ?? "api";
      const now = engine.clock.now();
      const notification: Notification = {
        id: newId("ntf", now),
        kind: "notice",
        status: "firing",
        receiver: name,
        groupKey: `test:${name}`,
        groupLabels: {},
        commonLabels: {},
        commonAnnotations: {},
        externalURL: `http://${engine.project.config.api.listen}`,
        alerts: [],
        truncatedAlerts: 0,
        reason: "test",
        title: `Test notification from Engineroom (${engine.project.config.project})`,
        text: `${by} sent this with \`engineroom channels test ${name}\` to check that channel ${name} (${channel.type}) delivers. Nothing is wrong.`,
      };
      const delivery = await notifier().send(name, notification, { attempts: 1 });
      const outcome = delivery.state === "delivered" ? "delivered" : `failed: ${delivery.lastError ?? "unknown error"}`;
      await engine.store.events.append({ type: "channel.tested", message: `test notification to channel ${name} by ${by}: ${outcome}`, data: { delivery, by } });
      if (delivery.state !== "delivered") {
        throw new EngineError("CHANNEL_TEST_FAILED", `The test notification to channel ${name} (${channel.type}) failed: ${delivery.lastError ?? "unknown error"}`, { details: { delivery } });
      }
      return delivery;
    },
  };
}
