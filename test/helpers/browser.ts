// A real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no browser
// download) for the web tests, and a TLS front for hosts the web SDK reaches over https only.
// Each browser gets a fresh profile; host names are mapped by Chromium's own resolver rules, as
// DNS would map them, so pages talk to openvod exactly as they would talk to the cloud.
// WebRig is what the web tests share: test media, a site serving it (and the test's pages),
// a real openvod process with its SDK client, and the browser; stop() takes it all down.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { locateMediaTools } from "../../src/media/tools.js";
import { makeImage, makeVideo } from "./media.js";
import { FileServer, REPO_ROOT, startOpenvod, tempDir, type OpenvodProcess, type Vod } from "./server.js";

export const CHROMIUM = process.env.OPENVOD_TEST_CHROMIUM ?? "/usr/bin/chromium";

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches Chromium; `hostRules` are "name-pattern host:port" mappings (Chromium's MAP rules). */
export async function launchBrowser(hostRules: string[] = []): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "openvod-chromium-"));
  const rules = [...hostRules.map((r) => `MAP ${r}`), "EXCLUDE localhost"].join(", ");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // The TLS front's certificate is made by the test: nothing else is trusted blindly.
    ignoreHTTPSErrors: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--host-resolver-rules=${rules}`,
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Runs fn on a new page; on failure writes a screenshot (and says where) before rethrowing. */
export async function withPage<T>(b: Browser, name: string, fn: (page: Page) => Promise<T>): Promise<T> {
  const page = await b.context.newPage();
  const logs: string[] = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
  try {
    return await fn(page);
  } catch (err) {
    const dir = join(REPO_ROOT, "dist/test/screenshots");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name.replace(/[^\w.-]+/g, "_")}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.error(`screenshot: ${file}\npage console:\n${logs.join("\n")}`);
    throw err;
  } finally {
    await page.close().catch(() => {});
  }
}

/** A TLS-terminating front (as a reverse proxy in front of openvod would be) with a self-signed certificate. */
export class TlsFront {
  private server!: TlsServer;
  private readonly sockets = new Set<{ destroy(): void }>();
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<this> {
    const dir = mkdtempSync(join(tmpdir(), "openvod-tls-"));
    try {
      execFileSync(
        "openssl",
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=openvod-test"].concat([
          "-keyout",
          join(dir, "key.pem"),
          "-out",
          join(dir, "cert.pem"),
        ]),
        { stdio: "ignore" },
      );
      this.server = createTlsServer(
        { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
        (tls) => {
          const plain = connect(this.targetPort, "127.0.0.1");
          tls.pipe(plain).pipe(tls);
          const end = () => {
            tls.destroy();
            plain.destroy();
            this.sockets.delete(tls);
          };
          this.sockets.add(tls);
          tls.on("close", end);
          tls.on("error", end);
          plain.on("error", end);
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

export interface WebRigOptions {
  /** Temp directory prefix. */
  name: string;
  /** Seconds of the test clip, <dir>/clip.mp4 (160x90, with sound), served by the site. */
  clipSeconds: number;
  /** Also <dir>/cover.png (64x36). */
  cover?: boolean;
  /** A TLS front before openvod, for hosts a page reaches over https only. */
  tls?: boolean;
  /** Chromium host rules ("name host:port"), from openvod's port and the TLS front's. */
  hostRules?: (ports: { openvod: number; tls: number }) => string[];
}

/** Test media, a site, openvod and a browser, started together for a web test. */
export class WebRig {
  readonly dir: string;
  site!: FileServer;
  server!: OpenvodProcess;
  vod!: Vod;
  tls?: TlsFront;
  browser!: Browser;

  private constructor(readonly o: WebRigOptions) {
    this.dir = tempDir(`openvod-${o.name}-`);
  }

  static async start(o: WebRigOptions): Promise<WebRig> {
    const rig = new WebRig(o);
    try {
      const tools = await locateMediaTools();
      await makeVideo(tools, join(rig.dir, "clip.mp4"), { width: 160, height: 90, seconds: o.clipSeconds });
      if (o.cover) await makeImage(tools, join(rig.dir, "cover.png"), 64, 36);
      rig.site = await new FileServer(rig.dir).start();
      rig.server = await startOpenvod();
      rig.vod = rig.server.client();
      if (o.tls) rig.tls = await new TlsFront(rig.server.port).start();
      rig.browser = await launchBrowser(o.hostRules?.({ openvod: rig.server.port, tls: rig.tls?.port ?? 0 }));
      return rig;
    } catch (err) {
      await rig.stop();
      throw err;
    }
  }

  /** Serves `body` at `path` on the site (a page of the test's own, a script). */
  serve(path: string, type: string, body: string | Buffer): void {
    this.site.routes.set(path, (_req, res) => res.writeHead(200, { "content-type": type }).end(body));
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    await this.tls?.stop();
    await this.site?.stop();
    await this.server?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
