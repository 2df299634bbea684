// Segment-parallel transcoding (OPENVOD_SEGMENT_SECONDS): the same ProcessMedia on a server that
// splits long sources into pieces and on one that does not, compared by what ffprobe reads in
// the outputs (duration, frame count, audio samples and continuity, HLS segment cadence,
// bitrate); a worker killed (-9) in the middle of a piece, whose piece alone runs again; and a
// cluster of two worker processes on PostgreSQL that both take pieces of one task.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { spawnSync } from "node:child_process";
import { runFfprobe } from "../src/media/run.js";
import { locateMediaTools, type MediaTools } from "../src/media/tools.js";
import { makeVideo } from "./helpers/media.js";
import { createTestDatabase, sql, type TestDatabase } from "./helpers/pg.js";
import { results, tree } from "./helpers/inspect.js";
import {
  FileServer,
  startOpenvod,
  tempDir,
  waitForTask,
  type OpenvodProcess,
  type Vod,
} from "./helpers/server.js";

const FPS = 25;
const SECONDS = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MP4 = {
  Container: "mp4",
  VideoTemplate: { Codec: "libx264", Fps: FPS, Bitrate: 300, Width: 0, Height: 180 },
  AudioTemplate: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100, AudioChannel: 2 },
};
const HLS = {
  ...MP4,
  Container: "hls",
  VideoTemplate: { ...MP4.VideoTemplate, HlsTime: 2 },
};

interface Measured {
  duration: number;
  videoFrames: number;
  videoDuration: number;
  audioSamples: number;
  bitrate: number;
  /** silencedetect's silences inside the tone (a gap or a click at a join would show). */
  silences: number;
  silenceLog: string;
  /** Keyframe times (s) of the video. */
  keyframes: number[];
}

async function download(url: string, file: string): Promise<void> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
}

/** Reads back an output: an mp4 file, or an HLS playlist (with its segments) by URL. */
async function measure(tools: MediaTools, url: string, dir: string, name: string): Promise<Measured> {
  let input: string;
  if (url.endsWith(".m3u8") || url.endsWith(".mpd")) {
    input = url; // ffmpeg reads the playlist and its segments over HTTP
  } else {
    input = join(dir, name);
    await download(url, input);
  }
  const probe = async (args: string[]) =>
    JSON.parse(await runFfprobe(tools, ["-v", "error", "-of", "json", ...args, input], 60_000));
  const info = await probe([
    "-count_packets",
    "-show_entries",
    "stream=codec_type,nb_read_packets,duration,sample_rate:format=duration,bit_rate,size",
  ]);
  const video = info.streams.find((s: any) => s.codec_type === "video");
  const audio = info.streams.find((s: any) => s.codec_type === "audio");
  const keys = await probe([
    "-select_streams",
    "v:0",
    "-skip_frame",
    "nokey",
    "-show_entries",
    "frame=pts_time",
  ]);
  // The whole decoded audio: its sample count, and silencedetect's view of the tone.
  const decoded = spawnSync(
    tools.ffmpeg,
    [
      "-hide_banner",
      "-nostats",
      "-i",
      input,
      "-map",
      "0:a:0",
      "-af",
      "silencedetect=n=-40dB:d=0.005,astats",
      "-f",
      "null",
      "-",
    ],
    { encoding: "utf8", timeout: 60_000 },
  );
  assert.equal(decoded.status, 0, decoded.stderr);
  const samples = /Number of samples:\s*(\d+)\s*$/m.exec(decoded.stderr.split("Overall").pop() ?? "");
  return {
    duration: Number(info.format.duration),
    videoFrames: Number(video.nb_read_packets),
    videoDuration: Number(video.duration ?? info.format.duration),
    audioSamples: samples ? Number(samples[1]) : Number(audio.nb_read_packets) * 1024,
    bitrate: Number(info.format.bit_rate),
    // Inside the tone: AAC's padding at the very end of a copied stream may read as a few ms of silence.
    silences: [...decoded.stderr.matchAll(/silence_start: ([\d.]+)/g)].filter(
      (m) => Number(m[1]) < SECONDS - 0.05,
    ).length,
    silenceLog: decoded.stderr
      .split("\n")
      .filter((l) => l.includes("silence_"))
      .join("\n"),
    keyframes: keys.frames.map((f: any) => Number(f.pts_time)),
  };
}

/** HLS: the #EXTINF durations of a playlist. */
async function extinf(url: string): Promise<number[]> {
  const text = await (await fetch(url)).text();
  return [...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
}

async function pull(vod: Vod, url: string): Promise<string> {
  const { TaskId } = await vod.PullUpload({ MediaUrl: url });
  const { detail } = await waitForTask(vod, TaskId!);
  assert.equal(detail.PullUploadTask.ErrCode, 0, detail.PullUploadTask.Message);
  return detail.PullUploadTask.FileId;
}

async function templates(vod: Vod): Promise<[number, number]> {
  const mp4 = (await vod.CreateTranscodeTemplate(MP4)).Definition!;
  const hls = (await vod.CreateTranscodeTemplate(HLS)).Definition!;
  return [mp4, hls];
}

/** Two small renditions, 2 s segments, as HLS and as DASH. */
async function adaptiveTemplates(vod: Vod): Promise<[number, number]> {
  const rendition = (Height: number, Bitrate: number) => ({
    Video: { Codec: "libx264", Fps: FPS, Bitrate, Width: 0, Height },
    Audio: { Codec: "libfdk_aac", Bitrate: 64, SampleRate: 44100, AudioChannel: 2 },
    RemoveAudio: 0,
  });
  const make = async (Format: string) =>
    (
      await vod.CreateAdaptiveDynamicStreamingTemplate({
        Format,
        SegmentDuration: 2,
        StreamInfos: [rendition(144, 150), rendition(180, 250)],
      })
    ).Definition!;
  return [await make("HLS"), await make("MPEG-DASH")];
}

/** Runs the two transcodes; returns the task's results and every Progress seen on the way. */
async function transcodeBoth(
  vod: Vod,
  fileId: string,
  defs: number[],
  adaptive: number[] = [],
  timeoutMs = 300_000,
) {
  const { TaskId } = await vod.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: {
      TranscodeTaskSet: defs.map((Definition) => ({ Definition })),
      ...(adaptive.length
        ? { AdaptiveDynamicStreamingTaskSet: adaptive.map((Definition) => ({ Definition })) }
        : {}),
    },
  });
  const progress: number[][] = [...defs, ...adaptive].map(() => []);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d: any = await vod.DescribeTaskDetail({ TaskId: TaskId! });
    (d.ProcedureTask?.MediaProcessResultSet ?? []).forEach((r: any, i: number) =>
      progress[i]!.push((r.TranscodeTask ?? r.AdaptiveDynamicStreamingTask).Progress),
    );
    if (d.Status === "FINISH") return { detail: d, progress, taskId: TaskId! };
    assert.ok(Date.now() < deadline, "the task did not finish");
    await sleep(100);
  }
}

function assertSame(split: Measured, plain: Measured, what: string): void {
  const frame = 1 / FPS;
  assert.equal(split.videoFrames, plain.videoFrames, `${what}: video frames`);
  assert.ok(
    Math.abs(split.duration - plain.duration) <= frame,
    `${what}: duration ${split.duration} vs ${plain.duration}`,
  );
  assert.ok(
    Math.abs(split.videoDuration - plain.videoDuration) <= frame,
    `${what}: video duration ${split.videoDuration} vs ${plain.videoDuration}`,
  );
  // Audio is encoded in one piece: the same samples, and no silence where pieces join.
  assert.ok(
    Math.abs(split.audioSamples - plain.audioSamples) <= 1024,
    `${what}: audio samples ${split.audioSamples} vs ${plain.audioSamples}`,
  );
  // (MPEG-TS keeps AAC's priming: both HLS outputs start with 1024 silent samples.)
  assert.equal(
    split.silences,
    plain.silences,
    `${what}: silences in the joined audio: ${split.silenceLog}\nsingle: ${plain.silenceLog}`,
  );
  assert.ok(plain.silences <= 1, `${what}: the single-process audio has gaps: ${plain.silenceLog}`);
}

describe("segment-parallel transcoding", () => {
  let tools: MediaTools;
  let dir: string;
  let files: FileServer;

  before(async () => {
    tools = await locateMediaTools();
    dir = tempDir("openvod-segments-");
    await makeVideo(tools, join(dir, "clip.mp4"), { width: 320, height: 240, seconds: SECONDS, fps: FPS });
    files = await new FileServer(dir).start();
  });
  after(async () => {
    await files?.stop();
  });
  /** Pulls the clip and starts its transcode to the first of the test's templates (mp4). */
  const transcodeClip = async (vod: Vod) => {
    const fileId = await pull(vod, `${files.url}/clip.mp4`);
    const [mp4] = await templates(vod);
    const { TaskId } = await vod.ProcessMedia({
      FileId: fileId,
      MediaProcessTask: { TranscodeTaskSet: [{ Definition: mp4 }] },
    });
    return { fileId, TaskId, definition: mp4 };
  };

  it("joins pieces into outputs equal to the single-process ones (mp4, HLS, adaptive HLS and DASH)", async (t) => {
    const plain = await startOpenvod();
    const split = await startOpenvod({
      env: { OPENVOD_SEGMENT_SECONDS: "2", OPENVOD_SEGMENT_MIN_SECONDS: "1" },
    });
    try {
      const run = async (server: OpenvodProcess) => {
        const vod = server.client();
        const fileId = await pull(vod, `${files.url}/clip.mp4`);
        const defs = await templates(vod);
        const adaptive = await adaptiveTemplates(vod);
        return { ...(await transcodeBoth(vod, fileId, defs, adaptive)), server };
      };
      const a = await run(plain);
      const b = await run(split);
      const outs = (d: any) =>
        results(d).Transcode!.map((r) => (assert.equal(r.ErrCode, 0, r.Message), r.Output));
      const [plainMp4, plainHls] = outs(a.detail);
      const [splitMp4, splitHls] = outs(b.detail);

      const pm = await measure(tools, plainMp4.Url, dir, "plain.mp4");
      const sm = await measure(tools, splitMp4.Url, dir, "split.mp4");
      assertSame(sm, pm, "mp4");
      const ph = await measure(tools, plainHls.Url, dir, "plain-hls");
      const sh = await measure(tools, splitHls.Url, dir, "split-hls");
      assertSame(sh, ph, "hls");
      // HLS: keyframes every HlsTime, and the same segment list as the single run.
      assert.deepEqual(
        sh.keyframes.map((k) => Math.round(k * FPS)),
        ph.keyframes.map((k) => Math.round(k * FPS)),
        "HLS keyframes",
      );
      assert.deepEqual(await extinf(splitHls.Url), await extinf(plainHls.Url), "HLS #EXTINF");
      // HLS: the Bitrate openvod measured on the segments (ffprobe reads a playlist's own size).
      sh.bitrate = splitHls.Bitrate;
      ph.bitrate = plainHls.Bitrate;
      for (const [s, p, what] of [
        [sm, pm, "mp4"],
        [sh, ph, "hls"],
      ] as const) {
        t.diagnostic(
          `${what}: bitrate ${s.bitrate} joined vs ${p.bitrate} single (${((s.bitrate / p.bitrate - 1) * 100).toFixed(1)} %)`,
        );
        // 2 s pieces of an 8 s clip: x264's rate control starts each piece afresh (its first
        // frames under the target), so short pieces land a little under the target.
        assert.ok(
          Math.abs(s.bitrate - p.bitrate) <= p.bitrate * 0.2,
          `${what}: bitrate ${s.bitrate} vs ${p.bitrate}`,
        );
      }
      // Adaptive HLS: each variant as the single run's; DASH: the package read back whole.
      const adp = (d: any) =>
        results(d).AdaptiveDynamicStreaming!.map((r) => (assert.equal(r.ErrCode, 0, r.Message), r.Output));
      const [plainAdp, plainDash] = adp(a.detail);
      const [splitAdp, splitDash] = adp(b.detail);
      assert.equal(splitAdp.SubStreamSet.length, 2);
      for (const i of [0, 1]) {
        const variant = (u: string) => new URL(`stream_${i}.m3u8`, u).toString();
        const pv = await measure(tools, variant(plainAdp.Url), dir, "");
        const sv = await measure(tools, variant(splitAdp.Url), dir, "");
        assertSame(sv, pv, `adaptive HLS variant ${i}`);
        assert.deepEqual(
          sv.keyframes.map((k) => Math.round(k * FPS)),
          pv.keyframes.map((k) => Math.round(k * FPS)),
          `adaptive HLS variant ${i} keyframes`,
        );
        assert.deepEqual(await extinf(variant(splitAdp.Url)), await extinf(variant(plainAdp.Url)));
        const [ss, ps] = [splitAdp.SubStreamSet[i], plainAdp.SubStreamSet[i]];
        assert.deepEqual([ss.Width, ss.Height], [ps.Width, ps.Height]);
        t.diagnostic(`adaptive HLS variant ${i}: size ${ss.Size} joined vs ${ps.Size} single`);
      }
      const pd = await measure(tools, plainDash.Url, dir, "");
      const sd = await measure(tools, splitDash.Url, dir, "");
      assertSame(sd, pd, "DASH");
      assert.equal(splitDash.SubStreamSet.length, plainDash.SubStreamSet.length);
      // The reported MetaData of the joined output agrees with the file.
      assert.equal(splitMp4.Duration > SECONDS - 0.1, true);
      // Progress went up through the pieces, never back, to 100.
      for (const seen of b.progress) {
        for (let i = 1; i < seen.length; i++)
          assert.ok(seen[i]! >= seen[i - 1]!, `progress went back: ${seen}`);
        assert.equal(seen[seen.length - 1], 100);
      }
      assert.ok(
        b.progress.flat().some((p) => p > 0 && p < 100),
        `progress between 0 and 100 was reported: ${b.progress.join(" / ")}`,
      );
      // The pieces are gone once joined.
      assert.deepEqual(
        tree(join(split.dataDir, "files")).filter((f) => f.includes("pieces-")),
        [],
        "pieces left in storage",
      );
    } finally {
      await plain.stop();
      await split.stop();
    }
  });

  it("re-runs alone the piece a worker killed with -9 was encoding", async () => {
    const dataDir = tempDir("openvod-segments-crash-");
    const env = {
      OPENVOD_SEGMENT_SECONDS: "2",
      OPENVOD_SEGMENT_MIN_SECONDS: "1",
      OPENVOD_WORKERS: "1",
      OPENVOD_CPUS: "1",
    };
    let server = await startOpenvod({ dataDir, env });
    const db = () => new Database(join(dataDir, "openvod.db"), { readonly: true, fileMustExist: true });
    try {
      let vod = server.client();
      const { TaskId } = await transcodeClip(vod);
      type Row = { idx: number; status: string; attempts: number; progress: number };
      const rows = (): Row[] => {
        const d = db();
        try {
          return d
            .prepare("SELECT idx, status, attempts, progress FROM segments ORDER BY idx")
            .all() as Row[];
        } finally {
          d.close();
        }
      };
      // Kill once a piece is done and another one is being encoded.
      let before: Row[] = [];
      for (const deadline = Date.now() + 120_000; ;) {
        before = rows();
        if (before.some((r) => r.status === "DONE") && before.some((r) => r.status === "PROCESSING")) break;
        assert.ok(Date.now() < deadline, "no piece was being encoded");
        await sleep(20);
      }
      await server.kill9();
      before = rows();
      const done = before.filter((r) => r.status === "DONE").map((r) => r.idx);
      const cut = before.filter((r) => r.status === "PROCESSING").map((r) => r.idx);
      assert.ok(done.length > 0 && cut.length > 0, JSON.stringify(before));

      server = await startOpenvod({ dataDir, env });
      vod = server.client();
      // While it runs again: the interrupted piece is claimed a second time, the finished ones never.
      let rerun = false;
      for (const deadline = Date.now() + 180_000; ;) {
        const now = rows();
        if (now.length === 0) break; // joined and removed
        for (const r of now) {
          if (done.includes(r.idx))
            assert.equal(r.attempts, 1, `piece ${r.idx} ran again: ${JSON.stringify(now)}`);
          if (cut.includes(r.idx) && r.attempts >= 2) rerun = true;
        }
        assert.ok(Date.now() < deadline, "the pieces did not finish");
        await sleep(20);
      }
      assert.ok(rerun, "the interrupted piece was run again");
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 120_000 });
      const out = results(detail).Transcode![0]!;
      assert.equal(out.ErrCode, 0, out.Message);
      const m = await measure(tools, out.Output.Url, dir, "crash.mp4");
      assert.equal(m.videoFrames, SECONDS * FPS);
      assert.equal(m.silences, 0);
    } finally {
      await server.stop();
      const { rmSync } = await import("node:fs");
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a task given up after its attempts leaves no pieces behind", async () => {
    const env = {
      OPENVOD_SEGMENT_SECONDS: "2",
      OPENVOD_SEGMENT_MIN_SECONDS: "1",
      OPENVOD_WORKERS: "1",
      OPENVOD_CPUS: "1",
      OPENVOD_MAX_TASK_ATTEMPTS: "1",
    };
    const dataDir = tempDir("openvod-segments-giveup-");
    let server = await startOpenvod({ dataDir, env });
    const count = (where: string) => {
      const d = new Database(join(dataDir, "openvod.db"), { readonly: true, fileMustExist: true });
      try {
        return (d.prepare(`SELECT COUNT(*) AS n FROM segments ${where}`).get() as { n: number }).n;
      } finally {
        d.close();
      }
    };
    const pieces = () => tree(join(dataDir, "files")).filter((f) => f.includes("pieces-"));
    try {
      let vod = server.client();
      const { TaskId } = await transcodeClip(vod);
      for (const deadline = Date.now() + 120_000; count("WHERE status = 'DONE'") === 0;) {
        assert.ok(Date.now() < deadline, "no piece was encoded");
        await sleep(20);
      }
      await server.kill9();
      assert.ok(pieces().length > 0, "a finished piece is stored");

      server = await startOpenvod({ dataDir, env });
      vod = server.client();
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 60_000 });
      assert.equal(detail.ProcedureTask!.ErrCode, 70000, detail.ProcedureTask!.Message);
      for (const deadline = Date.now() + 30_000; count("") > 0 || pieces().length > 0;) {
        assert.ok(Date.now() < deadline, `left: ${count("")} items, pieces ${pieces()}`);
        await sleep(100);
      }
    } finally {
      await server.stop();
      const { rmSync } = await import("node:fs");
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("ManageTask Abort stops the pieces and removes them", async () => {
    const server = await startOpenvod({
      env: {
        OPENVOD_SEGMENT_SECONDS: "2",
        OPENVOD_SEGMENT_MIN_SECONDS: "1",
        OPENVOD_WORKERS: "1",
        OPENVOD_CPUS: "1",
      },
    });
    const db = new Database(join(server.dataDir, "openvod.db"), { readonly: true, fileMustExist: true });
    try {
      const vod = server.client();
      const { fileId, TaskId, definition: mp4 } = await transcodeClip(vod);
      const count = db.prepare("SELECT COUNT(*) AS n FROM segments WHERE status = 'PROCESSING'");
      for (const deadline = Date.now() + 120_000; (count.get() as { n: number }).n === 0;) {
        assert.ok(Date.now() < deadline, "no piece was being encoded");
        await sleep(20);
      }
      await vod.ManageTask({ TaskId: TaskId!, OperationType: "Abort" });
      const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 60_000 });
      assert.equal(detail.Status, "ABORTED");
      const sub = results(detail).Transcode![0]!;
      assert.equal(sub.Status, "FAIL");
      // The items and what they stored go; the piece that was running stops at its next lease renewal.
      const all = db.prepare("SELECT COUNT(*) AS n FROM segments");
      for (const deadline = Date.now() + 30_000; ;) {
        const pieces = tree(join(server.dataDir, "files")).filter((f) => f.includes("pieces-"));
        if ((all.get() as { n: number }).n === 0 && pieces.length === 0) break;
        assert.ok(Date.now() < deadline, `pieces left: ${pieces}`);
        await sleep(100);
      }
      const parts = await vod.DescribeMediaInfos({ FileIds: [fileId] });
      const published = (parts.MediaInfoSet![0]!.TranscodeInfo?.TranscodeSet ?? []).filter(
        (t) => t.Definition === mp4,
      );
      assert.deepEqual(published, [], "no transcode published");
    } finally {
      db.close();
      await server.stop();
    }
  });

  it("cluster: two worker processes on PostgreSQL both take pieces of one task", async () => {
    const pg: TestDatabase = await createTestDatabase("openvod_test_segments");
    const dataDir = tempDir("openvod-segments-cluster-");
    const procs: OpenvodProcess[] = [];
    try {
      const env = {
        OPENVOD_DATABASE_URL: pg.url,
        OPENVOD_SEGMENT_SECONDS: "2",
        OPENVOD_SEGMENT_MIN_SECONDS: "1",
        OPENVOD_WORKERS: "1",
        OPENVOD_CPUS: "1",
        OPENVOD_LEASE_MS: "5000",
      };
      const api = await startOpenvod({ dataDir, env: { ...env, OPENVOD_ROLE: "api" } });
      procs.push(api);
      const workerEnv = { ...env, OPENVOD_ROLE: "worker", OPENVOD_PUBLIC_URL: api.url };
      procs.push(
        ...(await Promise.all([
          startOpenvod({ dataDir, env: workerEnv }),
          startOpenvod({ dataDir, env: workerEnv }),
        ])),
      );
      const vod = api.client();
      const { TaskId } = await transcodeClip(vod);
      const owners = new Set<string>();
      for (const deadline = Date.now() + 180_000; ;) {
        const rows = await sql<{ lease_owner: string | null }>(
          pg.url,
          "SELECT lease_owner FROM segments",
          [],
        );
        for (const r of rows) if (r.lease_owner) owners.add(r.lease_owner.replace(/-[0-9a-f]{8}$/, ""));
        const task = await vod.DescribeTaskDetail({ TaskId: TaskId! });
        if (task.Status === "FINISH") break;
        assert.ok(Date.now() < deadline, "the task did not finish");
        await sleep(20);
      }
      const pids = procs.slice(1).map((p) => `worker-${p.child.pid}`);
      assert.deepEqual(
        [...owners].filter((o) => pids.includes(o)).sort(),
        pids.sort(),
        `owners: ${[...owners]}`,
      );
      const { detail } = await waitForTask(vod, TaskId!);
      const out = results(detail).Transcode![0]!;
      assert.equal(out.ErrCode, 0, out.Message);
      const m = await measure(tools, out.Output.Url, dir, "cluster.mp4");
      assert.equal(m.videoFrames, SECONDS * FPS);
      assert.equal(m.silences, 0);
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
      await pg.drop();
      const { rmSync } = await import("node:fs");
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
