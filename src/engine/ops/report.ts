import { EngineError, parseDuration } from "../../core/index.js";
import { collectReport, renderReportHtml, type Report } from "../../report/index.js";
import type { Engine } from "../engine.js";

/** The report operations of the façade (see ../operations.ts): what `engineroom report` and /v1/report call. */
export interface ReportOperations {
  /**
   * The scorecard over the last `since` (a duration, default 30d, from 1h to 400d; else
   * REPORT_PERIOD_INVALID), of one environment or all (DORA's keys: of `environment`, else the last
   * of the promotion chain).
   */
  report(options?: { since?: string; environment?: string }): Promise<Report>;
  /** The same, as one self-contained HTML page. */
  reportHtml(options?: { since?: string; environment?: string }): Promise<string>;
}

const hourMs = 3_600_000;

export function reportOperations(engine: Engine): ReportOperations {
  const report = async (options: { since?: string; environment?: string } = {}): Promise<Report> => {
    const text = options.since ?? "30d";
    const periodMs = parseDuration(text);
    if (periodMs === undefined || periodMs < hourMs || periodMs > 400 * 24 * hourMs) {
      throw new EngineError("REPORT_PERIOD_INVALID", `The report period "${text}" is not a duration from 1h to 400d.`);
    }
    if (options.environment !== undefined) engine.environment(options.environment);
    // Alerts resolved a moment ago are classified once the manager is idle: the noise figure includes them.
    await engine.monitoring.alerts?.idle();
    const until = engine.clock.now();
    const environments = engine.project.config.environments;
    return collectReport(engine.store, {
      since: until - periodMs,
      until,
      environment: options.environment,
      production: environments.at(-1)!.name,
      services: environments.flatMap((e) => Object.keys(e.services).map((service) => ({ service, environment: e.name }))),
      ...(engine.cost.sheet ? { prices: engine.cost.sheet } : {}),
    });
  };
  return {
    report,
    reportHtml: async (options) => renderReportHtml(await report(options), { project: engine.project.config.project }),
  };
}
