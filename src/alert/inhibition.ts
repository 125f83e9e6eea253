/**
 * Inhibition (Alertmanager's): a firing source alert mutes target alerts that agree with it on the
 * `equal` labels. Alerts that match both sides of a rule do not inhibit each other, so two alerts of
 * one kind never mute each other.
 */
import type { AlertsConfig } from "./config.js";
import { matchesAll, parseMatchers, type Matcher } from "./matchers.js";

export interface InhibitRule {
  source: Matcher[];
  target: Matcher[];
  equal: string[];
}

interface Labelled {
  id: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * The rule every project has: an environment's proxy down (the `proxy.<environment>` check, labelled
 * `component: proxy`) mutes that environment's other check-down alerts, which fail because of it.
 */
export const proxyInhibitRule: InhibitRule = {
  source: parseMatchers(["alertname=check-down", "component=proxy"]),
  target: parseMatchers(["alertname=check-down", "component!=proxy"]),
  equal: ["environment"],
};

/** The declared rules, after the built-in one. */
export function buildInhibitRules(config: AlertsConfig["inhibit_rules"]): InhibitRule[] {
  return [proxyInhibitRule, ...config.map((rule) => ({ source: parseMatchers(rule.source_matchers), target: parseMatchers(rule.target_matchers), equal: rule.equal }))];
}

/** Whether an alert can inhibit others under some rule: only those are worth looking at as sources. */
export function canInhibit(rules: readonly InhibitRule[], labels: Readonly<Record<string, string>>): boolean {
  return rules.some((rule) => matchesAll(rule.source, labels));
}

/** The id of a firing alert that inhibits `target`, or null. `firing` (the possible sources) may include the target itself. */
export function inhibitorOf(rules: readonly InhibitRule[], target: Labelled, firing: Iterable<Labelled>): string | null {
  const applicable = rules.filter((rule) => matchesAll(rule.target, target.labels));
  if (applicable.length === 0) return null;
  for (const source of firing) {
    if (source.id === target.id) continue;
    for (const rule of applicable) {
      if (!matchesAll(rule.source, source.labels)) continue;
      if (!rule.equal.every((name) => (source.labels[name] ?? "") === (target.labels[name] ?? ""))) continue;
      const bothSides = (l: Labelled) => matchesAll(rule.source, l.labels) && matchesAll(rule.target, l.labels);
      if (bothSides(source) && bothSides(target)) continue;
      return source.id;
    }
  }
  return null;
}
