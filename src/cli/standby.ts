import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { EngineError } from "../core/index.js";
import type { ApiListen } from "../engine/index.js";

type Leader = { holder: string; address: string | null; term: number };

/**
 * What `engineroom up` serves on the API's address while its engine stands by: every request is
 * answered 409 NOT_LEADER naming the leader (holder, term) and, in the hint, its API address — so a
 * client pointed at this machine learns where to send changes. `leader` is asked at each request: the
 * leader as the standby's latest claim read it, which changes when another engine takes over. No data
 * is served from here.
 */
export async function serveStandby(listen: ApiListen, leader: () => Leader | undefined): Promise<{ close(): Promise<void> }> {
  const answer = (_request: unknown, response: import("node:http").ServerResponse) => {
    const error = notLeader(leader());
    const body = JSON.stringify({ error: error.toJSON() });
    response.writeHead(error.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    response.end(body);
  };
  const server: Server = listen.tls ? createHttpsServer({ cert: listen.tls.cert, key: listen.tls.key }, answer) : createHttpServer(answer);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function notLeader(leader: Leader | undefined): EngineError {
  return new EngineError("NOT_LEADER", `This engine stands by: ${leader ? `${leader.holder} leads (term ${leader.term})` : "no engine leads yet"}. Nothing was changed.`, {
    ...(leader?.address ? { hint: `Send requests to the leader's API at ${leader.address} (ENGINEROOM_API_URL); this engine leads when its lease ends.` } : {}),
    details: { leader: leader ? { holder: leader.holder, address: leader.address, term: leader.term } : null },
  });
}
