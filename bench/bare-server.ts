// The baseline server of the DescribeTaskDetail benchmark, run as its own process like openvod:
// a bare node:http server that reads each request body in full and answers fixed bytes (the exact
// response openvod gave to the same request), with the same content-type.
//   node dist/bench/bare-server.js <response-body-file> <content-type>
import { readFileSync } from "node:fs";
import { createServer } from "node:http";

const [bodyFile, contentType = "application/json"] = process.argv.slice(2);
if (!bodyFile) {
  console.error("usage: bare-server.js <response-body-file> [content-type]");
  process.exit(2);
}
const body = readFileSync(bodyFile);
const headers = { "content-type": contentType, "content-length": String(body.length) };

const server = createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => res.writeHead(200, headers).end(body));
});
// Same idle keep-alive as Fastify's default, so neither side drops connections between rounds.
server.keepAliveTimeout = 72_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`bare listening on http://127.0.0.1:${port}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Never outlive the bench: exit when the parent's pipe closes.
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
