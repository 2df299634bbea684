// The outbound HTTP client (src/net/http.ts) through a real server: remotes that close the
// connection after the body (as `python3 -m http.server` does), that cut the body short or
// reset the connection mid-body, and callbacks that reset; none of them may take the server
// down, and each failure ends the task FINISH with the cloud's error code and a plain message.
// With OPENVOD_ALLOW_PRIVATE_URLS=false: every spelling of a loopback, private or embedded
// address refused, NotificationUrls on private literals refused, and callbacks to a hostname
// that resolves to loopback never delivered. Plus the address classifier in-process.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { locateMediaTools } from "../src/media/tools.js";
import { isPublicAddress } from "../src/net/http.js";
import { makeVideo } from "./helpers/media.js";
import {
  sdkError,
  startOpenvod,
  tempDir,
  waitForTask,
  until,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

/**
 * A bare HTTP/1.1 server on net sockets, so a test decides exactly what goes on the wire: each
 * route gets the socket, the request line's path and the raw request, and writes what it likes.
 */
class RawServer {
  private server!: NetServer;
  port = 0;
  requests: string[] = [];
  readonly routes = new Map<string, (socket: Socket, raw: string) => void>();

  async start(): Promise<this> {
    this.server = createNetServer((socket) => {
      socket.on("error", () => {});
      let raw = "";
      socket.on("data", (d) => {
        if (raw.includes("\r\n\r\n")) return;
        raw += d.toString("latin1");
        if (!raw.includes("\r\n\r\n")) return;
        const path = raw.split(" ")[1] ?? "/";
        this.requests.push(path);
        const route = this.routes.get(path);
        if (route) route(socket, raw);
        else socket.end("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server.close(r));
  }
}

/** A self-signed certificate for localhost and 127.0.0.1 (undefined without openssl). */
function selfSigned(dir: string, name: string): { key: string; cert: string; certFile: string } | undefined {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=localhost",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout",
    keyFile,
    "-out",
    certFile,
  ]);
  if (r.status !== 0) return undefined;
  return { key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8"), certFile };
}

async function serveTls(tlsFiles: { key: string; cert: string }, body: Buffer): Promise<HttpsServer> {
  const server = createHttpsServer(tlsFiles, (_req, res) => {
    res.writeHead(200, { "content-length": body.length, "content-type": "video/mp4" });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return server;
}

const head = (length: number) =>
  `HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: ${length}\r\nconnection: close\r\n\r\n`;

async function pull(vod: Vod, url: string): Promise<any> {
  const { TaskId } = await vod.PullUpload({ MediaUrl: url });
  const { detail } = await waitForTask(vod, TaskId!);
  assert.equal(detail.Status, "FINISH");
  return detail.PullUploadTask;
}

/** The server process is still running and answering the API. */
async function assertAlive(server: OpenvodProcess): Promise<void> {
  assert.equal(server.child.exitCode, null, `openvod exited:\n${server.stderr.slice(-2000)}`);
  assert.equal(server.child.signalCode, null);
  await server.client().DescribeEventConfig({});
}

describe("outbound HTTP", () => {
  let dir: string;
  let clip: Buffer;
  let raw: RawServer;
  /** Trusted by the server (NODE_EXTRA_CA_CERTS) and not. */
  let trusted: ReturnType<typeof selfSigned>;
  let untrusted: ReturnType<typeof selfSigned>;

  before(async () => {
    dir = tempDir();
    await makeVideo(await locateMediaTools(), join(dir, "clip.mp4"), { width: 640, height: 360, seconds: 3 });
    clip = readFileSync(join(dir, "clip.mp4"));
    raw = await new RawServer().start();
    trusted = selfSigned(dir, "trusted");
    untrusted = selfSigned(dir, "untrusted");
    // Content-Length and the whole body, then the connection closed (no keep-alive).
    raw.routes.set("/close.mp4", (socket) => {
      socket.write(head(clip.length));
      socket.end(clip);
    });
    const half = Math.floor(clip.length / 2);
    // Headers and half the body, then a TCP reset.
    raw.routes.set("/reset.mp4", (socket) => {
      socket.write(head(clip.length));
      socket.write(clip.subarray(0, half), () => setTimeout(() => socket.resetAndDestroy(), 50));
    });
    // Headers and half the body, then an orderly close: fewer bytes than Content-Length.
    raw.routes.set("/short.mp4", (socket) => {
      socket.write(head(clip.length));
      socket.end(clip.subarray(0, half));
    });
    // A reset before any answer.
    raw.routes.set("/reset-early.mp4", (socket) => socket.resetAndDestroy());
  });
  after(async () => {
    await raw?.stop();
  });

  describe("remotes that close or reset (private addresses allowed)", () => {
    let server: OpenvodProcess;
    before(async () => {
      server = await startOpenvod({
        env: {
          OPENVOD_EVENT_RETRY_BASE_MS: "50",
          ...(trusted ? { NODE_EXTRA_CA_CERTS: trusted.certFile } : {}),
        },
      });
    });
    after(async () => server?.stop());

    it("pulls ten times in a row from a server that closes after Content-Length bytes", async () => {
      const vod = server.client();
      for (let i = 0; i < 10; i++) {
        const t = await pull(vod, `${raw.url}/close.mp4`);
        assert.equal(t.ErrCode, 0, `pull ${i}: ${t.Message}`);
        assert.equal(t.MetaData.Width, 640);
        const res = await fetch(t.FileUrl);
        assert.deepEqual(Buffer.from(await res.arrayBuffer()), clip);
      }
      await assertAlive(server);
    });

    it("ends FINISH with 60000 when the connection is reset mid-body", async () => {
      const t = await pull(server.client(), `${raw.url}/reset.mp4`);
      assert.equal(t.ErrCode, 60000, t.Message);
      // The kernel reports a reset as such, or (its error already taken by another call on the
      // socket) as the end of the stream: either way, how much of how much came.
      assert.match(
        t.Message,
        new RegExp(
          `(connection reset by the server|The connection closed) after \\d+ of ${clip.length} bytes`,
        ),
      );
      assert.doesNotMatch(t.Message, /UND_ERR|ECONNRESET|HPE_/);
      assert.equal(t.FileId, "");
      await assertAlive(server);
    });

    it("ends FINISH with 60000 when the body is shorter than its Content-Length", async () => {
      const t = await pull(server.client(), `${raw.url}/short.mp4`);
      assert.equal(t.ErrCode, 60000, t.Message);
      // What was written to disk when the close was seen: at most the half that was sent.
      const m = /^The connection closed after (\d+) of (\d+) bytes$/.exec(t.Message);
      assert.ok(m, t.Message);
      assert.equal(Number(m[2]), clip.length);
      assert.ok(Number(m[1]) <= Math.floor(clip.length / 2), t.Message);
      assert.equal(t.FileId, "");
      await assertAlive(server);
    });

    it("ends FINISH with 60000 when the connection is reset before any answer, or refused", async () => {
      const early = await pull(server.client(), `${raw.url}/reset-early.mp4`);
      assert.equal(early.ErrCode, 60000, early.Message);
      assert.match(early.Message, /connection reset by the server/);
      // A port nothing listens on (just closed).
      const closed = await new RawServer().start();
      await closed.stop();
      const refused = await pull(server.client(), `${closed.url}/x.mp4`);
      assert.equal(refused.ErrCode, 60000, refused.Message);
      assert.match(refused.Message, /the connection was refused/);
      await assertAlive(server);
    });

    it("pulls from `python3 -m http.server`", async (t) => {
      if (spawnSync("python3", ["--version"]).status !== 0) return t.skip("python3 is not installed");
      const py: ChildProcess = spawn(
        "python3",
        ["-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir],
        {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, PYTHONUNBUFFERED: "1" },
        },
      );
      try {
        const port = await new Promise<string>((resolve, reject) => {
          let out = "";
          const timer = setTimeout(
            () => reject(new Error(`python3 http.server did not start: ${out}`)),
            10_000,
          );
          const on = (d: Buffer) => {
            out += d;
            const m = /port (\d+)/.exec(out);
            if (m) {
              clearTimeout(timer);
              resolve(m[1]!);
            }
          };
          py.stdout!.on("data", on);
          py.stderr!.on("data", on);
        });
        for (let i = 0; i < 3; i++) {
          const task = await pull(server.client(), `http://127.0.0.1:${port}/clip.mp4`);
          assert.equal(task.ErrCode, 0, task.Message);
        }
        await assertAlive(server);
      } finally {
        py.kill();
      }
    });

    it("pulls over https, checking the certificate and the host name", async (t) => {
      if (!trusted || !untrusted) return t.skip("openssl is not installed");
      const good = await serveTls(trusted, clip);
      const bad = await serveTls(untrusted, clip);
      try {
        const port = (good.address() as { port: number }).port;
        for (const host of ["localhost", "127.0.0.1"]) {
          const task = await pull(server.client(), `https://${host}:${port}/clip.mp4`);
          assert.equal(task.ErrCode, 0, `${host}: ${task.Message}`);
        }
        const badPort = (bad.address() as { port: number }).port;
        const refused = await pull(server.client(), `https://localhost:${badPort}/clip.mp4`);
        assert.equal(refused.ErrCode, 60000, refused.Message);
        assert.match(refused.Message, /TLS certificate/);
        // https to a port that speaks plain HTTP.
        const plain = await pull(server.client(), `https://127.0.0.1:${raw.port}/close.mp4`);
        assert.equal(plain.ErrCode, 60000, plain.Message);
        await assertAlive(server);
      } finally {
        good.closeAllConnections();
        bad.closeAllConnections();
        await Promise.all([new Promise((r) => good.close(r)), new Promise((r) => bad.close(r))]);
      }
    });

    it("retries a callback whose connection was reset, and delivers it", async () => {
      const receiver = await new RawServer().start();
      let resets = 0;
      const bodies: string[] = [];
      receiver.routes.set("/cb", (socket, req) => {
        if (resets < 2) {
          resets++;
          return socket.resetAndDestroy();
        }
        const length = Number(/content-length: *(\d+)/i.exec(req)?.[1] ?? 0);
        let body = req.slice(req.indexOf("\r\n\r\n") + 4);
        const done = () => {
          bodies.push(body);
          socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        };
        if (Buffer.byteLength(body) >= length) return done();
        socket.on("data", (d) => {
          body += d.toString("latin1");
          if (Buffer.byteLength(body) >= length) done();
        });
      });
      const vod = server.client();
      const { SubAppId } = await vod.CreateSubAppId({ Name: "resets" });
      await vod.ModifyEventConfig({ SubAppId, Mode: "PUSH", NotificationUrl: `${receiver.url}/cb` });
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${raw.url}/close.mp4`, SubAppId });
      await until("the callback", () => bodies.length === 1);
      assert.equal(resets, 2);
      assert.equal(JSON.parse(bodies[0]!).PullCompleteEvent.TaskId, TaskId);
      await assertAlive(server);
      await receiver.stop();
    });
  });

  describe("OPENVOD_ALLOW_PRIVATE_URLS=false", () => {
    let server: OpenvodProcess;
    let receiver: RawServer;
    before(async () => {
      receiver = await new RawServer().start();
      receiver.routes.set("/cb", (socket) =>
        socket.end("HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
      );
      server = await startOpenvod({
        env: {
          OPENVOD_ALLOW_PRIVATE_URLS: "false",
          OPENVOD_LOG_LEVEL: "debug",
          OPENVOD_EVENT_RETRY_BASE_MS: "50",
          OPENVOD_EVENT_PUSH_MAX_AGE_MS: "1500",
        },
      });
    });
    after(async () => {
      await server?.stop();
      await receiver?.stop();
    });

    it("refuses every spelling of a loopback, private or embedded address without connecting", async () => {
      const vod = server.client();
      const port = raw.port;
      const before = raw.requests.length;
      for (const host of [
        "[::127.0.0.1]", // IPv4-compatible: the URL parser makes it [::7f00:1]
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::ffff:0:127.0.0.1]",
        "[64:ff9b::127.0.0.1]",
        "[64:ff9b::a00:1]",
        "[2002:7f00:1::1]",
        "[2002:c0a8:101::1]",
        "[::]",
        "[::1]",
        "[fe80::1]",
        "[fd12:3456::1]",
        "0.0.0.0",
        "0",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "10.1.2.3",
        "192.168.0.1",
        "100.64.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "255.255.255.255",
      ]) {
        const url = `http://${host}:${port}/x.mp4`;
        const t = await pull(vod, url);
        assert.equal(t.ErrCode, 40000, `${url}: ${t.Message}`);
        assert.match(t.Message, /is a private address .*OPENVOD_ALLOW_PRIVATE_URLS/, url);
      }
      assert.equal(raw.requests.length, before, "no request reached the local server");
      await assertAlive(server);
    });

    it("refuses a NotificationUrl that is not http(s) or whose host is a private literal", async () => {
      const vod = server.client();
      for (const url of [
        "http://169.254.169.254/cb",
        "http://127.0.0.1:8080/cb",
        "http://[::127.0.0.1]:8080/cb",
        "http://[::ffff:10.0.0.1]/cb",
        "http://2130706433/cb",
        "https://192.168.1.1/cb",
      ]) {
        const err = await sdkError(() => vod.ModifyEventConfig({ Mode: "PUSH", NotificationUrl: url }));
        assert.equal(err.code, "InvalidParameterValue.NotificationUrl", url);
        assert.match(err.message, /private address/, url);
      }
      for (const url of ["ftp://example.com/cb", "file:///etc/passwd", "not a url"]) {
        const err = await sdkError(() => vod.ModifyEventConfig({ Mode: "PUSH", NotificationUrl: url }));
        assert.equal(err.code, "InvalidParameterValue.NotificationUrl", url);
      }
      const cfg: any = await vod.DescribeEventConfig({});
      assert.equal(cfg.Mode, "PULL", "nothing was saved");
      assert.equal(cfg.NotificationUrl, "");
    });

    it("never delivers a callback to a hostname that resolves to loopback, and gives up", async () => {
      const vod = server.client();
      const { SubAppId } = await vod.CreateSubAppId({ Name: "rebinding" });
      // A name, not a literal: accepted here, refused by the dispatcher when it resolves.
      await vod.ModifyEventConfig({
        SubAppId,
        Mode: "PUSH",
        NotificationUrl: `http://localhost:${receiver.port}/cb`,
      });
      // The pull itself is refused (a loopback MediaUrl), which still makes a PullComplete event.
      const t = await vod.PullUpload({ MediaUrl: `${raw.url}/close.mp4`, SubAppId });
      await waitForTask(vod, t.TaskId!, { subAppId: SubAppId });
      await until("the dispatcher to give up", () => server.stderr.includes("gave up delivering an event"));
      assert.equal(receiver.requests.length, 0, "the receiver was never contacted");
      assert.match(server.stderr, /event delivery failed/);
      assert.match(server.stderr, /localhost resolves to a private address \((127\.0\.0\.1|::1)/);
      await assertAlive(server);
    });
  });

  it("isPublicAddress judges embedded IPv4 forms by the address they carry", () => {
    for (const a of [
      "::7f00:1",
      "::127.0.0.1",
      "::10.0.0.1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:192.168.1.1",
      "::ffff:0.0.0.0",
      "::ffff:0:127.0.0.1",
      "64:ff9b::127.0.0.1",
      "64:ff9b::a9fe:a9fe",
      "64:ff9b:1::8.8.8.8",
      "2002:7f00:1::1",
      "2002:a00:1::",
      "2002:a9fe:a9fe::1",
      "2001::1",
      "2001:db8::1",
      "::",
      "0.0.0.0",
      "0.1.2.3",
      "::1",
      "fe80::1",
      "fe80::1%eth0",
      "fc00::1",
      "ff02::1",
      "100::1",
      "192.0.2.1",
      "198.18.0.1",
      "240.0.0.1",
      "2130706433",
      "0x7f000001",
      "127.1",
      "localhost",
      "",
    ]) {
      assert.equal(isPublicAddress(a), false, a);
    }
    for (const a of [
      "8.8.8.8",
      "::ffff:8.8.8.8",
      "64:ff9b::8.8.8.8",
      "2002:808:808::1",
      "2001:4860:4860::8888",
      "2606:4700:4700::1111",
    ]) {
      assert.equal(isPublicAddress(a), true, a);
    }
  });
});
