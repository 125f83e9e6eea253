import type { FastifyInstance } from "fastify";
import { redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";
import { actorName } from "./access.js";

type Body = Record<string, unknown> | undefined;

/**
 * /v1/channels: the configured channels (name and type only: their options may hold secrets), and
 * `POST /v1/channels/:name/test`, a test notice tried once: 200 with the Delivery, or
 * CHANNEL_TEST_FAILED (502) with the delivery in `error.details`. Who asked is the body's `by`.
 */
export function registerChannelRoutes(app: FastifyInstance, ops: Operations): void {
  app.get("/v1/channels", async () => redactor.redactDeep({ channels: await ops.channels() }));

  app.post<{ Params: { name: string }; Body: Body }>("/v1/channels/:name/test", async (request) => {
    return redactor.redactDeep(await ops.testChannel(request.params.name, { by: actorName(request) }));
  });
}
