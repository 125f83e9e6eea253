import type { Command } from "commander";
import type { Delivery } from "../notify/index.js";
import { connect, type GlobalOptions } from "./connect.js";
import { operatorName, wantsJson } from "./group-support.js";
import { green, out, table } from "./render.js";

/** A channel as /v1/channels answers it. */
interface ChannelRow {
  name: string;
  type: string;
}

/**
 * `engineroom channels`: the configured channels; `channels test <name>`: a test notice to one
 * channel, tried once (exit 0 when delivered; CHANNEL_TEST_FAILED with the reason otherwise).
 */
export function registerChannelsCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const channels = program
    .command("channels")
    .description("the notification channels of engineroom.yaml (--json); `channels test <name>` sends a test notice")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const { channels: list } = await api.get<{ channels: ChannelRow[] }>("/v1/channels");
      out(options.json ? JSON.stringify({ channels: list }, null, 2) : renderChannels(list));
    });

  channels
    .command("test <name>")
    .description("send a test notice to one channel, tried once, and show its delivery")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      const api = await connect(globals(command));
      const delivery = await api.post<Delivery>(`/v1/channels/${encodeURIComponent(name)}/test`, { by: operatorName() });
      out(wantsJson(options, command) ? JSON.stringify(delivery, null, 2) : renderTested(delivery));
    });
}

export function renderChannels(list: ChannelRow[]): string {
  if (list.length === 0) return "no channels (declare them under `channels:` in engineroom.yaml)";
  return table(["name", "type"], list.map((c) => [c.name, c.type]));
}

export function renderTested(delivery: Delivery): string {
  const status = delivery.lastStatus === null ? "" : `, status ${delivery.lastStatus}`;
  return `${green("delivered")} a test notification to channel ${delivery.channel} (${delivery.notificationId}${status}, ${delivery.updatedAt - delivery.createdAt} ms)`;
}
