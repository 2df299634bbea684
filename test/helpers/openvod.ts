// withOpenvod: the setup most test files share, registered as the calling suite's before() and
// after(): media generated with lavfi into a fresh directory, served over HTTP (the "remote"
// PullUpload fetches from), and a real openvod process with an official SDK client. The fields
// are filled in by before(), so tests read them (f.vod, f.url("clip.mp4")) when they run.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { locateMediaTools, type MediaTools } from "../../src/media/tools.js";
import { makeAudio, makeImage, makeVideo, type VideoOptions } from "./media.js";
import { FileServer, startOpenvod, tempDir, waitForTask, type OpenvodProcess, type Vod } from "./server.js";

/** Writes one media file at path. */
export type MediaMaker = (tools: MediaTools, path: string) => Promise<void>;

export const video =
  (o?: VideoOptions): MediaMaker =>
  (tools, path) =>
    makeVideo(tools, path, o);
export const audio =
  (seconds?: number): MediaMaker =>
  (tools, path) =>
    makeAudio(tools, path, seconds);
export const image =
  (width?: number, height?: number): MediaMaker =>
  (tools, path) =>
    makeImage(tools, path, width, height);
/** A file that is not media at all. */
export const text =
  (content: string): MediaMaker =>
  async (_tools, path) =>
    writeFileSync(path, content);

export interface FixtureOptions {
  /** File name → how to make it, in the served directory. */
  media?: Record<string, MediaMaker>;
  /**
   * Settings of the openvod process (the harness's test defaults apply underneath); a function
   * when they depend on what an earlier before() started (an S3 server, say).
   */
  env?: Record<string, string> | (() => Record<string, string>);
  /** Reuse this data directory (the caller removes it). */
  dataDir?: string;
  /** false: media and the file server only, the tests start their own openvod processes. */
  server?: boolean;
}

export interface PullOptions {
  subAppId?: number;
  mediaName?: string;
  /** Another client (of another server) to pull with. */
  vod?: Vod;
  timeoutMs?: number;
}

export interface Openvod {
  /** The openvod process, its SDK client, the file server and the media tools (made in before()). */
  server: OpenvodProcess;
  /** A client of the server as it runs now (a new one after server.start() on another port). */
  vod: Vod;
  files: FileServer;
  tools: MediaTools;
  /** The directory of the generated media (served by files). */
  dir(): string;
  /** The local path of a file in that directory. */
  path(name: string): string;
  /** Its served URL. */
  url(name: string): string;
  /** PullUploads a served file and waits for it: its FileId (the pull must succeed). */
  pull(name: string, o?: PullOptions): Promise<string>;
}

/**
 * An object that stands for one made later, in before(): so that a suite can write
 * `const { server, vod } = withOpenvod()` and use them in its tests as they are.
 */
function late<T extends object>(name: string, get: () => T | undefined): T {
  const target = () => made(name, get());
  return new Proxy({} as T, {
    get(_, prop) {
      if (prop === "then") return undefined; // not a promise, even before it is made
      const t = target();
      const v: unknown = Reflect.get(t, prop, t);
      return typeof v === "function" ? v.bind(t) : v;
    },
    set: (_, prop, value) => Reflect.set(target(), prop, value),
    has: (_, prop) => prop in target(),
  });
}

function made<T>(name: string, v: T | undefined): T {
  if (v === undefined)
    throw new Error(`withOpenvod: ${name} is made in the suite's before(); use it in tests and hooks`);
  return v;
}

/** Registers the setup and the teardown in the calling suite; the fixture fills in before(). */
export function withOpenvod(o: FixtureOptions = {}): Openvod {
  let server: OpenvodProcess | undefined;
  let vod: { client: Vod; port: number } | undefined;
  let files: FileServer | undefined;
  let tools: MediaTools | undefined;
  let dir: string | undefined;
  const f: Openvod = {
    server: late("server", () => server),
    vod: late("vod", () => {
      if (server?.port && vod?.port !== server.port) vod = { client: server.client(), port: server.port };
      return vod?.client;
    }),
    files: late("files", () => files),
    tools: late("tools", () => tools),
    dir: () => made("dir", dir),
    path: (name) => join(f.dir(), name),
    url: (name) => `${f.files.url}/${name}`,
    async pull(name, p = {}) {
      const client = p.vod ?? f.vod;
      const { TaskId } = await client.PullUpload({
        MediaUrl: f.url(name),
        ...(p.mediaName ? { MediaName: p.mediaName } : {}),
        ...(p.subAppId ? { SubAppId: p.subAppId } : {}),
      });
      const { detail } = await waitForTask(client, TaskId!, { subAppId: p.subAppId, timeoutMs: p.timeoutMs });
      assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
      return detail.PullUploadTask.FileId;
    },
  };
  before(async () => {
    tools = await locateMediaTools();
    dir = tempDir();
    await Promise.all(Object.entries(o.media ?? {}).map(([name, make]) => make(f.tools, f.path(name))));
    files = await new FileServer(dir).start();
    if (o.server === false) return;
    const env = typeof o.env === "function" ? o.env() : o.env;
    server = await startOpenvod({ env, dataDir: o.dataDir });
  });
  after(async () => {
    await server?.stop();
    await files?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return f;
}
