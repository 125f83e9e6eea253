import { toEngineError } from "../core/index.js";
import { probe, type InstanceInfo, type InstanceProbe, type ProbeResult, type Runtime } from "../runtime/index.js";

export { probe, type ProbeRequest, type ProbeResult } from "../runtime/index.js";

/**
 * Probes an instance where its runtime says it is best reached: through the runtime's own `probe`
 * when it has one (a fleet's: the host's agent probes it on the host), else straight to its
 * `host:port`. A host that cannot be asked (FLEET_HOST_FAILED, DATAPLANE_UNAVAILABLE...) makes a
 * failed probe with that error's code and message, as a refused connection does: it never throws.
 */
export async function probeInstance(runtime: Pick<Runtime, "probe"> | undefined, target: Pick<InstanceInfo, "id" | "host" | "port">, request: InstanceProbe): Promise<ProbeResult> {
  if (!runtime?.probe) return probe({ ...request, host: target.host, port: target.port });
  const started = performance.now();
  try {
    return await runtime.probe(target.id, request);
  } catch (error) {
    const e = toEngineError(error);
    return { ok: false, error: `${e.code} ${e.message}`, ms: Math.round(performance.now() - started) };
  }
}
