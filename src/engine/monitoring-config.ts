import { z } from "zod";
import { parseAlertsConfig, resolveMetricRules, rulesConfigSchema, unknownRuleTargets, type AlertsConfig, type MetricRule } from "../alert/index.js";
import type { LoadedProject } from "../config/index.js";
import { EngineError, redactor, type Logger } from "../core/index.js";
import type { IncidentsConfig } from "../incident/index.js";
import { healthCheckName, monitorSettingsSchema, parseChecks, proxyCheckName, type CheckDefinition } from "../monitor/index.js";
import { channelSecretRefs, parseChannelsConfig, type ChannelsConfig } from "../notify/index.js";
import { parseSlos, type SloDefinition } from "../slo/index.js";
import { resolveSecrets, type SecretProviders } from "../secrets/index.js";
import { unknownCheckTargets } from "./check-wiring.js";
import { parseSection } from "./engine.js";
import { incidentsConfig } from "./incident-wiring.js";
import { runbooksSection } from "./runbook-wiring.js";
import type { RunbookDefinition } from "../runbook/index.js";

/** The services and environments engineroom.yaml declares: what the monitoring sections may name. */
interface Declared {
  services: string[];
  environments: string[];
}

/**
 * Every monitoring section of engineroom.yaml, parsed (and the channels' secret references
 * resolved) before the engine creates or starts anything: what `Monitoring.start` builds its parts from.
 */
export interface MonitoringConfig {
  /** `channels:`, and the values of their secret references by where they sit (`channels.<name>.url`). */
  channels: { config: ChannelsConfig; secrets: Record<string, string> };
  /** `alerts.rules` and `alerts.default_rules`, resolved. */
  rules: MetricRule[];
  /** `alerts:` (route, receivers, timing). */
  alerts: AlertsConfig;
  /** `monitor:`, its defaults applied. */
  monitor: z.output<typeof monitorSettingsSchema>;
  /** `checks:`, the declared checks. */
  checks: CheckDefinition[];
  /** `slos:`. */
  slos: SloDefinition[];
  /** `incidents:`. */
  incidents: IncidentsConfig;
  /** `runbooks:` and the files of `runbooks_from:`. */
  runbooks: RunbookDefinition[];
}

/**
 * Parses `channels`, `alerts` (and `alerts.rules`), `monitor`, `checks`, `slos` and `incidents`,
 * each against what the project declares. Every section is looked at even when another is wrong:
 * one CONFIG_INVALID lists the problems of all of them (`details.problems`, each with its path).
 * Then the channels' secret references are resolved (their own errors, e.g. SECRET_NOT_FOUND).
 */
export async function monitoringConfig(project: LoadedProject, secrets: SecretProviders, logger: Logger): Promise<MonitoringConfig> {
  const declared: Declared = { services: Object.keys(project.config.services), environments: project.config.environments.map((e) => e.name) };
  const channelNames = Object.keys((project.config.channels ?? {}) as Record<string, unknown>);
  const problems: string[] = [];
  const parse = <T>(section: () => T): T | undefined => {
    try {
      return section();
    } catch (error) {
      if (!(error instanceof EngineError) || error.code !== "CONFIG_INVALID") throw error;
      const listed = error.details?.problems;
      problems.push(...(Array.isArray(listed) ? listed.map(String) : [error.message]));
      return undefined;
    }
  };
  const channels = parse(() => parseChannelsConfig(project.config.channels, project.file));
  const rules = parse(() => metricRules(project, declared));
  const alerts = parse(() => parseAlertsConfig(project.config.alerts, channelNames, project.file));
  const monitor = parse(() => parseSection(project, "monitor", monitorSettingsSchema, project.config.monitor ?? {}));
  const checks = parse(() => declaredChecks(project, declared));
  const slos = parse(() => sloSection(project, declared));
  const incidents = parse(() => incidentsConfig({ project }));
  const runbooks = parse(() => runbooksSection({ project }));
  if (problems.length > 0) {
    // The alerts' two schemas read the same section: a problem both see is listed once.
    const unique = [...new Set(problems)];
    throw new EngineError("CONFIG_INVALID", `${project.file} is not valid:\n${unique.map((p) => `  - ${p}`).join("\n")}`, { details: { problems: unique } });
  }
  const refs = channelSecretRefs(channels!);
  const values = Object.keys(refs).length === 0 ? {} : await resolveSecrets(refs, secrets, redactor, { warn: (message) => logger.warn(message) });
  return { channels: { config: channels!, secrets: values }, rules: rules!, alerts: alerts!, monitor: monitor!, checks: checks!, slos: slos!, incidents: incidents!, runbooks: runbooks! };
}

/** `alerts.rules` and `alerts.default_rules` resolved; a rule naming an undeclared service or environment is a problem at its path. */
function metricRules(project: LoadedProject, declared: Declared): MetricRule[] {
  const schema = rulesConfigSchema.superRefine((config, ctx) => unknownRuleTargets(config, declared).forEach((p) => ctx.addIssue({ code: "custom", ...p })));
  return resolveMetricRules(parseSection(project, "alerts", schema, project.config.alerts));
}

/** `checks:`: each check's own problems, and a `service` or `environment` the project does not declare, in one list. */
function declaredChecks(project: LoadedProject, declared: Declared): CheckDefinition[] {
  const section = (project.config.checks ?? {}) as Record<string, unknown>;
  const targets = unknownCheckTargets(section, declared);
  let checks: CheckDefinition[] = [];
  try {
    checks = parseChecks(section, { path: ["checks"], dir: project.dir });
  } catch (error) {
    if (!(error instanceof EngineError) || error.code !== "CONFIG_INVALID" || targets.length === 0) throw error;
    const listed = error.details?.problems;
    throw configInvalid(project, [...(Array.isArray(listed) ? listed.map(String) : [error.message]), ...targets]);
  }
  if (targets.length > 0) throw configInvalid(project, targets);
  return checks;
}

/**
 * `slos:`, against the declared services and environments and every check the monitor will run:
 * the declared ones (by name, even when one of them is wrong) and every service's own, whether
 * live yet or not.
 */
function sloSection(project: LoadedProject, declared: Declared): SloDefinition[] {
  const derived = declared.environments.flatMap((e) => [proxyCheckName(e), ...declared.services.map((s) => healthCheckName(s, e))]);
  const checks = [...new Set([...Object.keys((project.config.checks ?? {}) as Record<string, unknown>), ...derived])];
  const schema = z.unknown().transform((value, ctx): SloDefinition[] => {
    const parsed = parseSlos(value, { ...declared, checks });
    if (parsed.ok) return parsed.slos;
    for (const p of parsed.problems) ctx.addIssue({ code: "custom", path: p.path, message: p.message });
    return z.NEVER;
  });
  return parseSection(project, "slos", schema, project.config.slos);
}

function configInvalid(project: LoadedProject, problems: string[]): EngineError {
  return new EngineError("CONFIG_INVALID", `${project.file} is not valid:\n${problems.map((p) => `  - ${p}`).join("\n")}`, { details: { problems } });
}

