import type { FastifyInstance } from "fastify";
import type { IncomingMessage } from "node:http";
import { signatureHeader, statementHeader } from "../ci/index.js";
import { EngineError, redactor } from "../core/index.js";
import type { Operations } from "../engine/index.js";

/** The body types an upload may be sent as; the body is handed on as the raw stream, never buffered. */
const archiveTypes = ["application/gzip", "application/x-gzip", "application/octet-stream"];

/**
 * `POST /v1/artifacts`: a .tgz from CI, streamed to disk with its signed statement in the
 * `x-engineroom-statement` and `x-engineroom-signature` headers (see ci/intake.ts); 201 with the
 * digest and provenance, or the refusal's code. A refusal before the body is read closes the
 * connection, so that the rest of a large body is not read for nothing.
 * `GET /v1/artifacts/:digest`: the stored artifact's record and provenance.
 */
export function registerArtifactRoutes(app: FastifyInstance, ops: Operations): void {
  // In a scope of their own: other routes keep refusing these body types.
  void app.register(async (scope) => {
    scope.addContentTypeParser(archiveTypes, (_request, payload, done) => done(null, payload));

    scope.post("/v1/artifacts", async (request, reply) => {
      const body = request.body as IncomingMessage | undefined;
      if (body !== undefined && !(Symbol.asyncIterator in Object(body))) {
        throw new EngineError("ARTIFACT_INVALID", `Send the .tgz itself as the body, with content-type ${archiveTypes[0]}.`);
      }
      const header = (name: string) => {
        const value = request.headers[name];
        return typeof value === "string" ? value : undefined;
      };
      const length = Number(request.headers["content-length"]);
      try {
        const accepted = await ops.uploadArtifact({
          body: body ?? emptyBody(),
          statement: header(statementHeader),
          signature: header(signatureHeader),
          ...(Number.isFinite(length) && { contentLength: length }),
          actor: "api",
          ...(callerOf(request) && { caller: callerOf(request) }),
        });
        void reply.status(201);
        return redactor.redactDeep(accepted);
      } catch (error) {
        if (body && !body.readableEnded) void reply.header("connection", "close");
        throw error;
      } finally {
        // What the audit trail records of the request: not the stream itself.
        request.body = { archive: "application/gzip body", ...(Number.isFinite(length) && { contentLength: length }) };
      }
    });
  });

  app.get<{ Params: { digest: string } }>("/v1/artifacts/:digest", async (request) => redactor.redactDeep(await ops.artifact(request.params.digest)));
}

/** The caller the access layer put on the request, if it did (scoped tokens). */
function callerOf(request: object): Parameters<Operations["uploadArtifact"]>[0]["caller"] {
  return (request as { caller?: Parameters<Operations["uploadArtifact"]>[0]["caller"] }).caller;
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}
