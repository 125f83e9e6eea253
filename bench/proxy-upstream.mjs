// The upstream for bench/proxy-vs-nginx.ts: a Node HTTP server on 127.0.0.1 answering a small body,
// in PROCESSES processes (node:cluster) so that it is not what limits the proxies being compared.
// Prints "listening <port>" once every process listens. Plain JavaScript: it starts fast and needs no tsx.
import cluster from "node:cluster";
import { createServer } from "node:http";

const processes = Number(process.env.PROCESSES ?? 1);
const port = Number(process.env.PORT ?? 0);
const body = Buffer.from("hello from the upstream\n");

if (cluster.isPrimary && processes > 1) {
  let ready = 0;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on("message", (message) => {
      if (++ready === processes) process.stdout.write(`listening ${message.port}\n`);
    });
  }
  process.on("SIGTERM", () => process.exit(0));
} else {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, "127.0.0.1", () => {
    const bound = server.address().port;
    if (cluster.isWorker) process.send({ port: bound });
    else process.stdout.write(`listening ${bound}\n`);
  });
  process.on("disconnect", () => process.exit(0));
}
