// The baseline of the upload benchmark, run as its own process like openvod: a bare node:http
// server that copies each PUT body into a file (nothing checked, nothing hashed), fsyncs it (the
// data, then the directory entry: what openvod does before its 200) and answers 200; DELETE
// removes the copies.
//   node dist/bench/bare-put.js <directory>
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { syncDir, syncFile } from "../src/blobs/durable.js";

const [dir] = process.argv.slice(2);
if (!dir) {
  console.error("usage: bare-put.js <directory>");
  process.exit(2);
}
let n = 0;
const server = createServer(async (req, res) => {
  // DELETE: the bench drops the copy after each round (as it deletes openvod's media), so both
  // sides write their next copy into memory the kernel has already handed out.
  if (req.method === "DELETE") {
    req.resume();
    for (let i = 1; i <= n; i++) await rm(join(dir, `bare-put-${i}`), { force: true });
    res.writeHead(204).end();
    return;
  }
  const file = join(dir, `bare-put-${++n}`);
  try {
    await pipeline(req, createWriteStream(file));
    await syncFile(file);
    await syncDir(dir);
    res.writeHead(200, { etag: '"bare"', "x-cos-request-id": "bare" }).end();
  } catch {
    res.writeHead(500).end();
  }
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`bare-put listening on http://127.0.0.1:${port}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
