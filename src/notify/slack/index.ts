import { z } from "zod";
import type { Clock } from "../../core/index.js";
import { postJson } from "../http.js";
import { httpUrl, timeoutSchema, urlOrSecret } from "../options.js";
import type { Channel, ChannelReceipt, Notification, Resolved } from "../types.js";
import { slackMessage } from "./message.js";

export { escapeMrkdwn, maxAlertSections, slackMessage, type SlackMessage } from "./message.js";

/** `type: slack` options under `channels.<name>`. */
export const slackOptions = z.strictObject({
  url: urlOrSecret.meta({ description: "The incoming webhook's URL; its path is the token, so prefer `{ secret: name }`." }),
  timeout: timeoutSchema(10_000),
});

export type SlackOptions = z.output<typeof slackOptions>;

/**
 * A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat take the same body): a Block
 * Kit message. A 429 is retried after its Retry-After; other 4xx are permanent; 5xx and network
 * errors are retried.
 */
export class SlackChannel implements Channel {
  readonly type = "slack";
  readonly name: string;
  readonly timeoutMs: number;
  readonly #url: URL;
  readonly #clock: Clock;

  constructor(name: string, options: Resolved<SlackOptions>, clock: Clock) {
    this.name = name;
    this.timeoutMs = options.timeout;
    this.#url = httpUrl(options.url, `channels.${name}.url`);
    this.#clock = clock;
  }

  send(notification: Notification, signal: AbortSignal): Promise<ChannelReceipt> {
    const body = JSON.stringify(slackMessage(notification));
    return postJson({ channel: this.name, url: this.#url, body, headers: {}, signal, now: this.#clock.now() });
  }
}
