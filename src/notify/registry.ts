import { z } from "zod";
import { closest } from "../config/index.js";
import { EngineError } from "../core/index.js";
import { EmailChannel, emailOptions } from "./email/index.js";
import { findSecretRefs, withSecrets } from "./options.js";
import { SlackChannel, slackOptions } from "./slack/index.js";
import type { Channel, ChannelContext, ChannelSecretRef, ChannelType, Resolved } from "./types.js";
import { WebhookChannel, webhookOptions } from "./webhook/index.js";

function channelType<Options extends z.ZodType>(definition: ChannelType<z.output<Options>> & { options: Options }) {
  return definition;
}

/**
 * The channel types Engineroom knows, by their config `type:`, each with its strict options schema.
 * To add one (PagerDuty, Teams...), write it in its own folder and add it here; nothing else changes.
 */
export const channelTypes = {
  webhook: channelType({ options: webhookOptions, create: (name, options, context) => new WebhookChannel(name, options, context.clock) }),
  slack: channelType({ options: slackOptions, create: (name, options, context) => new SlackChannel(name, options, context.clock) }),
  email: channelType({ options: emailOptions, create: (name, options) => new EmailChannel(name, options) }),
} as const;

/** A channel `type:` Engineroom knows. */
export type ChannelTypeName = keyof typeof channelTypes;

const typeNames = Object.keys(channelTypes) as ChannelTypeName[];

/** A channel's name under `channels:`, written like the project's other names (config/ checks the same). */
const channelNamePattern = /^[a-z][a-z0-9-]{0,62}$/;

/** One channel as written under `channels.<name>`: its type and that type's options (secret references unresolved). */
export type ChannelConfig = { [K in ChannelTypeName]: { type: K; options: z.output<(typeof channelTypes)[K]["options"]> } }[ChannelTypeName];

/** The `channels:` section, checked: channels by name. */
export type ChannelsConfig = ReadonlyMap<string, ChannelConfig>;

function isTypeName(type: unknown): type is ChannelTypeName {
  return typeof type === "string" && Object.hasOwn(channelTypes, type);
}

/**
 * Checks the `channels:` section against the registry. Answers the channels, or every problem as
 * `channels.<name>.<key>: message` (an unknown key is named by its own path, an unknown type lists
 * the types there are).
 */
export function checkChannelsConfig(section: unknown): { channels: ChannelsConfig; problems: [] } | { channels?: undefined; problems: string[] } {
  const problems: string[] = [];
  const channels = new Map<string, ChannelConfig>();
  if (section === undefined || section === null) return { channels, problems: [] };
  if (typeof section !== "object" || Array.isArray(section)) return { problems: ["channels: write a map of channel names to { type, ...options }"] };
  for (const [name, value] of Object.entries(section)) {
    const at = `channels.${name}`;
    if (!channelNamePattern.test(name)) problems.push(`${at}: use lowercase letters, digits and dashes, starting with a letter`);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      problems.push(`${at}: write { type: ${typeNames.join(" | ")}, ...options }`);
      continue;
    }
    const { type, ...options } = value as Record<string, unknown>;
    if (type === undefined) {
      problems.push(`${at}.type: required; one of ${typeNames.join(", ")}`);
      continue;
    }
    if (!isTypeName(type)) {
      const guess = typeof type === "string" ? closest(type, typeNames) : undefined;
      problems.push(`${at}.type: unknown channel type ${JSON.stringify(type)}${guess ? ` (did you mean ${guess}?)` : ""}; the types are ${typeNames.join(", ")}`);
      continue;
    }
    const parsed = (channelTypes[type].options as z.ZodType).safeParse(options);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const path = [at, ...issue.path.map(String)].join(".");
        if (issue.code === "unrecognized_keys") {
          const known = ["type", ...Object.keys((channelTypes[type].options as unknown as z.ZodObject).shape ?? {})];
          for (const key of issue.keys) {
            const guess = closest(key, known);
            problems.push(`${path}.${key}: unknown key for a ${type} channel${guess ? ` (did you mean ${guess}?)` : ""} (its keys are ${known.join(", ")})`);
          }
        } else {
          problems.push(`${path}: ${issue.message}`);
        }
      }
      continue;
    }
    channels.set(name, { type, options: parsed.data } as ChannelConfig);
  }
  return problems.length > 0 ? { problems } : { channels, problems: [] };
}

/**
 * The `channels:` section as the engine parses it at start: CONFIG_INVALID listing every problem
 * by its path (`file` names engineroom.yaml in the message), nothing built.
 */
export function parseChannelsConfig(section: unknown, file = "engineroom.yaml"): ChannelsConfig {
  const checked = checkChannelsConfig(section);
  if (checked.channels) return checked.channels;
  const { problems } = checked;
  throw new EngineError("CONFIG_INVALID", `${file} is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
}

/** The secret references of the channels, keyed by where they sit (`channels.<name>.url`): what the engine resolves. */
export function channelSecretRefs(config: ChannelsConfig): Record<string, ChannelSecretRef> {
  const refs: Record<string, ChannelSecretRef> = {};
  for (const [name, channel] of config) for (const found of findSecretRefs(channel.options, `channels.${name}`)) refs[found.path] = found.ref;
  return refs;
}

/**
 * Makes the channels of a checked `channels:` section. `secrets` are the values of
 * `channelSecretRefs(config)` by the same keys, resolved (and registered with the redactor) by
 * the engine. Throws CONFIG_INVALID for a resolved value a channel cannot use (a secret URL that is
 * not http(s)), without the value.
 */
export function createChannels(config: ChannelsConfig, secrets: Readonly<Record<string, string>>, context: ChannelContext): Channel[] {
  const values = new Map(Object.entries(secrets));
  return [...config].map(([name, channel]) => {
    const options = withSecrets(channel.options, `channels.${name}`, values);
    const entry = channelTypes[channel.type] as unknown as ChannelType<unknown>;
    return entry.create(name, options as Resolved<unknown>, context);
  });
}

/**
 * One channel's config as a single zod schema (`type:` picks the registry entry whose strict
 * options apply): for the JSON Schema of engineroom.yaml (`engineroom schema`). The engine parses
 * with `parseChannelsConfig`, whose messages are clearer.
 */
export const channelConfigSchema = z
  .discriminatedUnion(
    "type",
    typeNames.map((type) => z.strictObject({ type: z.literal(type), ...(channelTypes[type].options as unknown as z.ZodObject).shape })) as unknown as [z.ZodObject, ...z.ZodObject[]],
  )
  .meta({ description: `A notification channel: \`type\` is one of ${typeNames.join(", ")}, with that type's options; URLs, keys and passwords may be \`{ secret: name }\`.` });
