/** The tiny app `engineroom init` writes next to the starter config, so that `engineroom up --deploy` has something to run. */
export const starterApp = `// A minimal HTTP service: listens on $PORT, answers /healthz, and stops cleanly on SIGTERM.
const http = require("node:http");
const greeting = process.env.GREETING || "hello";
const server = http.createServer((req, res) => {
  if (req.url === "/healthz") return res.end("ok");
  res.setHeader("content-type", "text/plain");
  res.end(\`\${greeting} from \${process.env.ENGINEROOM_SERVICE} \${process.env.ENGINEROOM_RELEASE}\\n\`);
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening on", process.env.PORT));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`;
