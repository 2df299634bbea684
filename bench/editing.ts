// Section 8 of `npm run bench`: editing, side by side in one run.
//   - EditMedia of 3 cuts of a 1280x720 clip (OPENVOD_WORKERS=1), from the call to FINISH, against
//     the very ffmpeg command openvod runs (built by editMediaArgs), run bare; rounds alternate.
//   - FastEditMedia of the same cuts of the clip as HLS (from the call until the persisted item
//     exists), against that full re-encode: playlist surgery and a segment copy should be many
//     times faster.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { editMediaArgs } from "../src/media/jobs/index.js";
import { FFMPEG_COMMON_ARGS } from "../src/media/run.js";
import type { MediaTools } from "../src/media/tools.js";
import { OpenvodProcess, waitForTask, type FileServer } from "../test/helpers/server.js";
import type { Cleanup } from "./proc.js";
import { log, median, round } from "./stats.js";
import { jobContext, runBare } from "./transcode.js";

export interface EditingOptions {
  cleanup: Cleanup;
  files: FileServer;
  tools: MediaTools;
  /** The source on the file server (name) and on disk (path), and how long it is. */
  source: { name: string; path: string };
  cutSeconds: number;
  rounds: number;
  scratch: string;
  goal: number;
}

export interface EditingSummary {
  cuts: number;
  cutSeconds: number;
  openvodSeconds: number;
  bareSeconds: number;
  ratio: number | null;
  goal: number;
  goalMet: boolean;
  fastEditSeconds: number;
  fastEditSpeedup: number | null;
}

const CUTS = 3;

/**
 * A one-worker openvod (so one task's wall time is measured alone) that has pulled `name` from
 * the file server: its client and the item's FileId. Stopped by `cleanup`.
 */
export async function oneWorkerWithItem(cleanup: Cleanup, label: string, files: FileServer, name: string) {
  const openvod = new OpenvodProcess({
    env: {
      OPENVOD_RATE_LIMIT: "0",
      OPENVOD_LOG_LEVEL: "warn",
      OPENVOD_WORKERS: "1",
      OPENVOD_STRICT_SHAPE: "0",
    },
  });
  cleanup.dir(openvod.dataDir);
  cleanup.add(`openvod (${label})`, () => openvod.stop());
  await openvod.start();
  cleanup.child(openvod.child);
  const vod = openvod.client();
  const pulled = await vod.PullUpload({ MediaUrl: `${files.url}/${name}` });
  const fileId: string = (await waitForTask(vod, pulled.TaskId!, { timeoutMs: 600_000 })).detail
    .PullUploadTask.FileId;
  return { vod, fileId };
}

export async function benchEditing(o: EditingOptions): Promise<EditingSummary> {
  const { vod, fileId } = await oneWorkerWithItem(o.cleanup, "editing", o.files, o.source.name);
  const cuts = Array.from({ length: CUTS }, (_, i) => ({
    StartTimeOffset: i * o.cutSeconds,
    EndTimeOffset: (i + 1) * o.cutSeconds,
  }));

  const viaOpenvod = async (Type = "mp4") => {
    const t0 = performance.now();
    const { TaskId } = await vod.EditMedia({
      InputType: "File",
      FileInfos: cuts.map((c) => ({ FileId: fileId, ...c })),
      OutputConfig: { Type },
    });
    const { detail } = await waitForTask(vod, TaskId!, { timeoutMs: 3600_000 });
    const t = detail.EditMediaTask;
    if (t.ErrCode !== 0) throw new Error(`EditMedia failed: ${t.Message}`);
    return { seconds: (performance.now() - t0) / 1000, fileId: t.Output.FileId as string };
  };
  const bareArgs = [
    ...FFMPEG_COMMON_ARGS,
    ...(await editMediaArgs(
      jobContext(o.tools, 1),
      cuts.map((c, i) => ({
        file: o.source.path,
        startTimeOffset: c.StartTimeOffset,
        endTimeOffset: c.EndTimeOffset,
        label: `cut ${i}`,
      })),
      join(o.scratch, "edit-bare.mp4"),
      { baseline: "resolution" },
    )),
  ];
  const openvodTimes: number[] = [];
  const bareTimes: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 === 0 ? ["openvod", "bare"] : ["bare", "openvod"];
    for (const who of order) {
      if (who === "openvod") openvodTimes.push((await viaOpenvod()).seconds);
      else bareTimes.push(await runBare(o.tools, bareArgs));
      log(`editing round ${r + 1}: ${who} done`);
    }
  }

  // The same cuts of the clip as HLS, joined without re-encoding.
  const hls = await viaOpenvod("hls");
  const fastTimes: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const t0 = performance.now();
    const fast: any = await vod.FastEditMedia({
      FileInfos: cuts.map((c) => ({
        FileId: hls.fileId,
        AudioVideoType: "Original",
        StartTimeOffset: c.StartTimeOffset,
        EndTimeOffset: c.EndTimeOffset,
      })),
    });
    for (;;) {
      const info: any = await vod.DescribeMediaInfos({ FileIds: [fast.FileId] });
      if (info.MediaInfoSet.length) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    fastTimes.push((performance.now() - t0) / 1000);
  }
  const openvodSeconds = median(openvodTimes);
  const bareSeconds = median(bareTimes);
  const ratio = round(openvodSeconds / bareSeconds, 3);
  const fastEditSeconds = median(fastTimes);
  return {
    cuts: CUTS,
    cutSeconds: o.cutSeconds,
    openvodSeconds: round(openvodSeconds, 2)!,
    bareSeconds: round(bareSeconds, 2)!,
    ratio,
    goal: o.goal,
    goalMet: ratio !== null && ratio <= o.goal,
    fastEditSeconds: round(fastEditSeconds, 3)!,
    fastEditSpeedup: round(openvodSeconds / fastEditSeconds, 1),
  };
}

export function reportEditing(s: EditingSummary): string[] {
  return [
    `8. EditMedia of ${s.cuts} × ${s.cutSeconds} s cuts of a 1280x720 clip: openvod ${s.openvodSeconds} s, ` +
      `the same ffmpeg command bare ${s.bareSeconds} s, ratio ${s.ratio} (goal ≤ ${s.goal}: ${s.goalMet ? "met" : "NOT met"})`,
    `   FastEditMedia of the same cuts as HLS, until the persisted item exists: ${s.fastEditSeconds} s, ` +
      `${s.fastEditSpeedup}× faster than the re-encode`,
  ];
}
