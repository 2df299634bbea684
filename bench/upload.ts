// Bench section 7: uploading a 1 GiB file through openvod's COS endpoint (ApplyUpload, then one
// streamed PutObject signed the COS way with the temporary credentials, as cos-nodejs-sdk-v5
// sends it) versus copying the same file with a bare node:http PUT handler (bench/bare-put.ts;
// both fsync the file before their 200), in alternating rounds, with the same client code for
// both. Also: CommitUpload's time (ffprobe
// and the move into storage), and openvod's peak RSS while it receives (VmHWM, reset before the
// first round through /proc/PID/clear_refs, and VmRSS sampled every 20 ms as a cross-check).
// The file is ffmpeg rawvideo in Matroska, so the commit really probes media; it is deleted
// with the bench's temporary directory.
import { spawn, spawnSync } from "node:child_process";
import { createReadStream, readFileSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import COS from "cos-nodejs-sdk-v5";
import { runFfmpeg } from "../src/media/run.js";
import type { MediaTools } from "../src/media/tools.js";
import { OpenvodProcess } from "../test/helpers/server.js";
import type { Cleanup } from "./proc.js";
import { median, round } from "./stats.js";

/** Each upload starts with no dirty pages of the previous one waiting to be written back. */
const sync = () => spawnSync("sync");

const BARE_PUT = fileURLToPath(new URL("./bare-put.js", import.meta.url));
const MiB = 1024 * 1024;
const FRAME = { width: 1280, height: 720 };

export interface UploadOptions {
  cleanup: Cleanup;
  tools: MediaTools;
  scratch: string;
  /** Size of the file to upload (rounded to whole 1280x720 frames). */
  bytes: number;
  rounds: number;
  goal: number;
  log: (line: string) => void;
}

interface Round {
  bareMiBps: number;
  openvodMiBps: number;
  commitSeconds: number;
}

export interface UploadSummary {
  fileBytes: number;
  rounds: number;
  method: string;
  bare: { mibPerSec: number | null };
  openvod: { mibPerSec: number | null; commitSeconds: number | null };
  ratio: number | null;
  roundRatios: (number | null)[];
  goal: number;
  goalMet: boolean;
  rss: {
    /** VmRSS of the idle server before the first upload. */
    beforeMiB: number | null;
    /** VmHWM after the uploads (reset before them when the kernel allows: resetWorked). */
    peakMiB: number | null;
    resetWorked: boolean;
    /** Highest VmRSS seen by sampling during the uploads. */
    sampledPeakMiB: number | null;
    /** The same two for the bare PUT server, for comparison. */
    bareBeforeMiB: number | null;
    barePeakMiB: number | null;
  };
}

function statusKiB(pid: number | undefined, field: "VmRSS" | "VmHWM"): number | undefined {
  if (!pid) return undefined;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Resets the peak RSS of a process (Linux ≥ 4.0: "5" > /proc/PID/clear_refs). */
function resetPeak(pid: number | undefined): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Asks the bare server to delete its copies (outside the clock, like openvod's DeleteMedia). */
function drop(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "DELETE" }, (res) => res.resume().on("end", () => resolve()));
    req.on("error", reject);
    req.end();
  });
}

/** PUTs the file with these headers; resolves with MiB/s once the answer is read. */
function put(url: string, file: string, headers: Record<string, string>): Promise<number> {
  const size = statSync(file).size;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "PUT", headers: { ...headers, "content-length": String(size) } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () => {
          if (res.statusCode !== 200)
            return reject(new Error(`PUT ${url}: HTTP ${res.statusCode} ${body.slice(0, 300)}`));
          resolve(size / MiB / ((performance.now() - t0) / 1000));
        });
      },
    );
    req.on("error", reject);
    createReadStream(file, { highWaterMark: MiB }).on("error", reject).pipe(req);
  });
}

async function startBarePut(o: UploadOptions): Promise<{ origin: string; pid: number | undefined }> {
  const child = o.cleanup.child(
    spawn(process.execPath, [BARE_PUT, o.scratch], { stdio: ["pipe", "pipe", "pipe"] }),
  );
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const origin = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`bare PUT server did not start:\n${stderr}`)), 10_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /bare-put listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`bare PUT server exited with ${code}:\n${stderr}`));
    });
  });
  o.cleanup.add("bare PUT server", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  });
  return { origin, pid: child.pid };
}

export async function benchUpload(o: UploadOptions): Promise<UploadSummary> {
  const file = join(o.scratch, "upload-1gib.mkv");
  const frameBytes = FRAME.width * FRAME.height * 1.5;
  const frames = Math.max(1, Math.round(o.bytes / frameBytes));
  o.log(`generating a ${((frames * frameBytes) / MiB).toFixed(0)} MiB rawvideo file`);
  // prettier-ignore
  await runFfmpeg(o.tools, {
    args: [
      "-f", "lavfi", "-i", `testsrc2=size=${FRAME.width}x${FRAME.height}:rate=25`,
      "-frames:v", String(frames), "-c:v", "rawvideo", "-pix_fmt", "yuv420p", file,
    ],
    timeoutMs: 600_000,
  });
  const fileBytes = statSync(file).size;

  // A server of its own: its peak RSS is the upload's, not that of the other sections.
  const openvod = new OpenvodProcess({
    env: { OPENVOD_RATE_LIMIT: "0", OPENVOD_LOG_LEVEL: "warn", OPENVOD_STRICT_SHAPE: "0" },
  });
  o.cleanup.dir(openvod.dataDir);
  o.cleanup.add("openvod (upload)", () => openvod.stop());
  await openvod.start();
  o.cleanup.child(openvod.child);
  const pid = openvod.child.pid;
  const vod = openvod.client();
  const bare = await startBarePut(o);

  const beforeKiB = statusKiB(pid, "VmRSS");
  const bareBeforeKiB = statusKiB(bare.pid, "VmRSS");
  const resetWorked = resetPeak(pid) && resetPeak(bare.pid);
  let sampledKiB = 0;
  const sampler = setInterval(() => (sampledKiB = Math.max(sampledKiB, statusKiB(pid, "VmRSS") ?? 0)), 20);

  const rounds: Round[] = [];
  try {
    for (let r = 0; r < o.rounds; r++) {
      const row: Partial<Round> = {};
      for (const name of r % 2 === 0 ? (["bare", "openvod"] as const) : (["openvod", "bare"] as const)) {
        if (name === "bare") {
          sync();
          row.bareMiBps = await put(`${bare.origin}/upload-1gib.mkv`, file, {
            "content-type": "video/x-matroska",
          });
          await drop(`${bare.origin}/upload-1gib.mkv`);
          continue;
        }
        const a: any = await vod.ApplyUpload({ MediaType: "mkv", MediaName: "upload-bench" });
        const cert = a.TempCertificate;
        const host = `127.0.0.1:${openvod.port}`;
        const path = `/cos/${a.StorageBucket}${a.MediaStoragePath}`;
        const headers = { host, "content-length": String(fileBytes) };
        const authorization = COS.getAuthorization({
          SecretId: cert.SecretId,
          SecretKey: cert.SecretKey,
          Method: "PUT",
          Pathname: a.MediaStoragePath,
          Query: {},
          Headers: headers,
        } as any);
        sync();
        row.openvodMiBps = await put(`http://${host}${path}`, file, {
          ...headers,
          "content-type": "video/x-matroska",
          authorization,
          "x-cos-security-token": cert.Token,
        });
        const t0 = performance.now();
        const committed: any = await vod.CommitUpload({ VodSessionKey: a.VodSessionKey });
        row.commitSeconds = (performance.now() - t0) / 1000;
        const info: any = await vod.DescribeMediaInfos({
          FileIds: [committed.FileId],
          Filters: ["metaData"],
        });
        if (info.MediaInfoSet[0]?.MetaData?.Size !== fileBytes) {
          throw new Error(
            `the committed media has ${info.MediaInfoSet[0]?.MetaData?.Size} bytes, not ${fileBytes}`,
          );
        }
        await vod.DeleteMedia({ FileId: committed.FileId });
      }
      rounds.push(row as Round);
      o.log(
        `upload round ${r + 1}/${o.rounds}: bare ${row.bareMiBps!.toFixed(0)} MiB/s, openvod ` +
          `${row.openvodMiBps!.toFixed(0)} MiB/s (ratio ${(row.openvodMiBps! / row.bareMiBps!).toFixed(2)}), ` +
          `CommitUpload ${row.commitSeconds!.toFixed(3)} s`,
      );
    }
  } finally {
    clearInterval(sampler);
  }
  const peakKiB = statusKiB(pid, "VmHWM");
  const barePeakKiB = statusKiB(bare.pid, "VmHWM");
  await openvod.stop();

  const bareMed = median(rounds.map((r) => r.bareMiBps));
  const openvodMed = median(rounds.map((r) => r.openvodMiBps));
  const ratio = openvodMed / bareMed;
  const mib = (kib: number | undefined) => (kib === undefined || kib === 0 ? null : round(kib / 1024, 1));
  return {
    fileBytes,
    rounds: o.rounds,
    method: "ApplyUpload, then one streamed PutObject (COS-signed, x-cos-security-token), then CommitUpload",
    bare: { mibPerSec: round(bareMed) },
    openvod: {
      mibPerSec: round(openvodMed),
      commitSeconds: round(median(rounds.map((r) => r.commitSeconds)), 3),
    },
    ratio: round(ratio, 3),
    roundRatios: rounds.map((r) => round(r.openvodMiBps / r.bareMiBps, 3)),
    goal: o.goal,
    goalMet: ratio >= o.goal,
    rss: {
      beforeMiB: mib(beforeKiB),
      peakMiB: mib(peakKiB),
      resetWorked,
      sampledPeakMiB: mib(sampledKiB),
      bareBeforeMiB: mib(bareBeforeKiB),
      barePeakMiB: mib(barePeakKiB),
    },
  };
}

export function reportUpload(
  u: UploadSummary,
  table: (rows: string[][], align: ("l" | "r")[]) => string,
): string[] {
  const n = (x: number | null, digits = 0) => (x === null ? "-" : x.toFixed(digits));
  return [
    `7. Upload of a ${(u.fileBytes / MiB).toFixed(0)} MiB file (${u.fileBytes} B), ${u.rounds} alternating rounds, medians`,
    table(
      [
        ["receiver", "MiB/s"],
        ["bare node:http PUT handler (copy to a file, fsynced)", n(u.bare.mibPerSec)],
        ["openvod COS PutObject (signature, MD5, size limit, to a file)", n(u.openvod.mibPerSec)],
        ["ratio openvod/bare", n(u.ratio, 2)],
      ],
      ["l", "r"],
    ),
    `   ratio ${n(u.ratio, 2)} (goal ≥ ${u.goal}: ${u.goalMet ? "met" : "NOT met"}); per round ` +
      `${u.roundRatios.map((x) => n(x, 2)).join(", ")}; CommitUpload (ffprobe + move) ${n(u.openvod.commitSeconds, 3)} s`,
    `   openvod RSS: ${n(u.rss.beforeMiB, 1)} MiB idle, peak ${n(u.rss.peakMiB, 1)} MiB during the uploads ` +
      `(VmHWM${u.rss.resetWorked ? ", reset before them" : ", since start"}; sampled VmRSS peak ${n(u.rss.sampledPeakMiB, 1)} MiB); ` +
      `bare PUT server ${n(u.rss.bareBeforeMiB, 1)} → ${n(u.rss.barePeakMiB, 1)} MiB`,
  ];
}
