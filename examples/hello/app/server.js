// The example service: answers every path with a greeting that names its release,
// answers /healthz for the health check, and finishes in-flight requests on SIGTERM.
const http = require("node:http");

const greeting = process.env.GREETING || "Hello";
const release = process.env.ENGINEROOM_RELEASE || "dev";

const server = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    return res.end("ok\n");
  }
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  res.end(`${greeting} — release ${release}, instance pid ${process.pid}\n`);
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${process.env.PORT} (release ${release})`);
});

process.on("SIGTERM", () => {
  console.log("SIGTERM: finishing in-flight requests");
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
