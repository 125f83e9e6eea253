import { userInfo } from "node:os";
import type { Command } from "commander";
import { connect, type GlobalOptions } from "./connect.js";
import { dim, green, out } from "./render.js";

/** A channel as /v1/channels answers it. */
interface ChannelRow {
  name: string;
  type: string;
}

/** A Delivery as /v1/channels/:name/test answers it. */
interface DeliveryJson {
  notificationId: string;
  channel: string;
  state: string;
  attempts: number;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: number;
  updatedAt: number;
  title: string;
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
      const delivery = await api.post<DeliveryJson>(`/v1/channels/${encodeURIComponent(name)}/test`, { by: who() });
      const json = options.json === true || (command.optsWithGlobals() as { json?: boolean }).json === true;
      out(json ? JSON.stringify(delivery, null, 2) : renderTested(delivery));
    });
}

export function renderChannels(list: ChannelRow[]): string {
  if (list.length === 0) return "no channels (declare them under `channels:` in engineroom.yaml)";
  const width = Math.max(4, ...list.map((c) => c.name.length));
  return [dim(`${"name".padEnd(width)}  type`), ...list.map((c) => `${c.name.padEnd(width)}  ${c.type}`)].join("\n");
}

export function renderTested(delivery: DeliveryJson): string {
  const status = delivery.lastStatus === null ? "" : `, status ${delivery.lastStatus}`;
  return `${green("delivered")} a test notification to channel ${delivery.channel} (${delivery.notificationId}${status}, ${delivery.updatedAt - delivery.createdAt} ms)`;
}

function who(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}
