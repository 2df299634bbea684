// Section "segments" of `npm run bench`: segment-parallel transcoding (OPENVOD_SEGMENT_SECONDS).
// A long 1280x720 clip (BENCH_SEGMENTS_SECONDS, 600 by default; generated once with lavfi and
// cached in the system's temp directory) transcoded to 100030 by a cluster on PostgreSQL: one API
// process and 1, 2 and 4 worker processes (OPENVOD_WORKERS=1, OPENVOD_CPUS=1), each pinned to one
// core with taskset (process i on core i mod cores: on a 2-core machine 4 processes share 2
// cores). Wall time from the ProcessMedia call to FINISH; speed-up against 1 worker process and
// scaling efficiency (speed-up / processes); and the wall time of the non-segmented path (one
// worker process, segmentation off) on the same clip.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { MediaTools } from "../src/media/tools.js";
import { makeVideo } from "../test/helpers/media.js";
import { createTestDatabase } from "../test/helpers/pg.js";
import { OpenvodProcess, tempDir, waitForTask, type FileServer, type Vod } from "../test/helpers/server.js";
import type { Cleanup } from "./proc.js";
import { log, round } from "./stats.js";

export interface SegmentsOptions {
  cleanup: Cleanup;
  files: FileServer;
  /** The directory `files` serves. */
  served: string;
  tools: MediaTools;
  seconds: number;
  pieceSeconds: number;
  processes: number[];
  goal: number;
}

export interface SegmentsRow {
  workerProcesses: number;
  seconds: number;
  speedup: number | null;
  efficiency: number | null;
  bitrate: number;
  duration: number;
  /** CPU seconds of the worker processes and their ffmpeg runs during the transcode. */
  cpuSeconds: number;
  /** cpuSeconds / seconds: how many cores were busy on it on average. */
  parallelism: number | null;
}

export interface SegmentsSummary {
  clipSeconds: number;
  pieceSeconds: number;
  cores: number;
  rows: SegmentsRow[];
  unsegmentedSeconds: number;
  unsegmentedCpuSeconds: number;
  unsegmentedBitrate: number;
  goal: number;
  goalMet: boolean | null;
}

const DEFINITION = 100030;

/** The clip, generated once per length and kept in the temp directory for later runs. */
async function cachedClip(tools: MediaTools, seconds: number): Promise<string> {
  const dir = join(tmpdir(), "openvod-bench-cache");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `segments-720p-${seconds}s.mp4`);
  if (!existsSync(file)) {
    log(`generating a ${seconds} s 1280x720 clip (cached in ${dir})`);
    await makeVideo(tools, file, { width: 1280, height: 720, seconds });
  }
  return file;
}

/** CPU seconds of a process and of its children that ended (their ffmpeg runs), Linux /proc. */
function cpuWithChildren(pid: number): number {
  const tick = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime: fields 14-17.
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / tick;
}

function pin(pid: number, core: number): void {
  const r = spawnSync("taskset", ["-a", "-pc", String(core), String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset failed: ${r.stderr || r.error}`);
}

async function transcode(vod: Vod, fileId: string): Promise<{ seconds: number; output: any }> {
  const t0 = performance.now();
  const { TaskId } = await vod.ProcessMedia({
    FileId: fileId,
    MediaProcessTask: { TranscodeTaskSet: [{ Definition: DEFINITION }] },
  });
  // One request a second: nothing that competes with the encoders for the cores.
  for (;;) {
    const d: any = await vod.DescribeTaskDetail({ TaskId: TaskId! });
    if (d.Status === "FINISH") {
      const seconds = (performance.now() - t0) / 1000;
      const r = d.ProcedureTask.MediaProcessResultSet[0].TranscodeTask;
      if (r.ErrCode !== 0) throw new Error(`transcode failed: ${r.Message}`);
      return { seconds, output: r.Output };
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function benchSegments(o: SegmentsOptions): Promise<SegmentsSummary> {
  const clip = await cachedClip(o.tools, o.seconds);
  const name = `segments-${o.seconds}s.mp4`;
  if (!existsSync(join(o.served, name))) symlinkSync(clip, join(o.served, name));
  const db = await createTestDatabase("openvod_bench_segments");
  o.cleanup.add("segments database", () => db.drop());
  const dataDir = o.cleanup.dir(tempDir("openvod-bench-segments-"));
  const base = {
    OPENVOD_DATABASE_URL: db.url,
    OPENVOD_RATE_LIMIT: "0",
    OPENVOD_LOG_LEVEL: "warn",
    OPENVOD_STRICT_SHAPE: "0",
    OPENVOD_WORKERS: "1",
    OPENVOD_CPUS: "1",
    OPENVOD_SEGMENT_MIN_SECONDS: "1",
  };
  const start = async (env: Record<string, string>) => {
    const p = new OpenvodProcess({ dataDir, env: { ...base, ...env } });
    o.cleanup.add("openvod (segments)", () => p.stop());
    await p.start();
    o.cleanup.child(p.child);
    return p;
  };
  const api = await start({ OPENVOD_ROLE: "api" });
  const vod = api.client();
  const cores = availableParallelism();
  const workers = async (n: number, pieceSeconds: number) => {
    const env = { OPENVOD_ROLE: "worker", OPENVOD_PUBLIC_URL: api.url, OPENVOD_SEGMENT_SECONDS: String(pieceSeconds) };
    const ps = await Promise.all(Array.from({ length: n }, () => start(env)));
    ps.forEach((p, i) => pin(p.child.pid!, i % cores));
    return ps;
  };

  let fileId = "";
  const run = async (n: number, pieceSeconds: number) => {
    const ps = await workers(n, pieceSeconds);
    try {
      if (!fileId) {
        const { TaskId } = await vod.PullUpload({ MediaUrl: `${o.files.url}/${name}` });
        fileId = (await waitForTask(vod, TaskId!, { timeoutMs: 600_000 })).detail.PullUploadTask.FileId;
      }
      const cpu0 = ps.reduce((a, p) => a + cpuWithChildren(p.child.pid!), 0);
      const r = await transcode(vod, fileId);
      const cpuSeconds = ps.reduce((a, p) => a + cpuWithChildren(p.child.pid!), 0) - cpu0;
      return { ...r, cpuSeconds };
    } finally {
      await Promise.all(ps.map((p) => p.stop()));
    }
  };

  const plain = await run(1, 0);
  log(`segments: unsegmented, 1 worker process: ${round(plain.seconds, 1)} s (${round(plain.cpuSeconds, 1)} CPU s)`);
  const rows: SegmentsRow[] = [];
  for (const n of o.processes) {
    const r = await run(n, o.pieceSeconds);
    const one = rows[0]?.seconds ?? r.seconds;
    const speedup = one / r.seconds;
    rows.push({
      workerProcesses: n,
      seconds: round(r.seconds, 1)!,
      speedup: round(speedup, 2),
      efficiency: round(speedup / n, 2),
      bitrate: r.output.Bitrate,
      duration: r.output.Duration,
      cpuSeconds: round(r.cpuSeconds, 1)!,
      parallelism: round(r.cpuSeconds / r.seconds, 2),
    });
    log(
      `segments: ${n} worker process(es): ${round(r.seconds, 1)} s (${round(r.cpuSeconds, 1)} CPU s), speed-up ${round(speedup, 2)}`,
    );
  }
  const two = rows.find((r) => r.workerProcesses === 2);
  return {
    clipSeconds: o.seconds,
    pieceSeconds: o.pieceSeconds,
    cores,
    rows,
    unsegmentedSeconds: round(plain.seconds, 1)!,
    unsegmentedCpuSeconds: round(plain.cpuSeconds, 1)!,
    unsegmentedBitrate: plain.output.Bitrate,
    goal: o.goal,
    goalMet: two?.efficiency == null ? null : two.efficiency >= o.goal,
  };
}

export function reportSegments(s: SegmentsSummary): string[] {
  const out = [
    `9. Segment-parallel transcoding of a ${s.clipSeconds} s 1280x720 clip to ${DEFINITION} (pieces of ${s.pieceSeconds} s), ` +
      `PostgreSQL, worker processes pinned to one core each (${s.cores} cores):`,
    `   unsegmented, 1 worker process: ${s.unsegmentedSeconds} s, ${s.unsegmentedCpuSeconds} CPU s (bitrate ${s.unsegmentedBitrate})`,
  ];
  for (const r of s.rows)
    out.push(
      `   ${r.workerProcesses} worker process(es): ${r.seconds} s, ${r.cpuSeconds} CPU s (${r.parallelism} cores busy), ` +
        `speed-up ${r.speedup}, efficiency ${r.efficiency} ` +
        `(bitrate ${r.bitrate}, ${round(((r.bitrate / s.unsegmentedBitrate) - 1) * 100, 1)} % vs unsegmented; duration ${r.duration} s)`,
    );
  out.push(`   goal: efficiency ≥ ${s.goal} at 2 worker processes: ${s.goalMet === null ? "not measured" : s.goalMet ? "met" : "NOT met"}`);
  return out;
}
