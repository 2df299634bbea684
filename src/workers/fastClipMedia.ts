// FastClipMedia: copies the segments a clip playlist lists (in other items) into the clip's own
// item, without re-encoding, and publishes the item with the task's finish. A source deleted
// before the copy fails the task with 60000 and leaves nothing behind.
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Deps } from "../domain/deps.js";
import { segmentKey } from "../domain/hlsClips.js";
import type { FastClipInput } from "../domain/tasktypes/fastClipMedia.js";
import { parsePlaylist, renderPlaylist, type Segment } from "../media/jobs/hlsClip.js";
import { measureHls } from "../media/jobs/hls.js";
import { probeMedia } from "../media/probe.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import type { TaskRow } from "../store/types.js";
import { discardItems, procedureOn, produceItem } from "./newMedia.js";

const gone = (what: string) =>
  new TaskFailure(TaskErrCode.sourceFile, "SourceFileError", `The ${what} of the clip no longer exists.`);

/** Copies every segment (and init segment) into `dir` and writes the playlist that lists the copies. */
async function copySegments(ctx: TaskContext, input: FastClipInput, output: string): Promise<void> {
  const { blobs } = ctx.deps;
  const text = (await blobs.stat(input.playlistKey))
    ? await readFile(await blobs.localPath(input.playlistKey), "utf8")
    : "";
  const playlist = parsePlaylist(text);
  if (!playlist) throw gone("playlist");
  const dir = path.dirname(output);
  const copied = new Map<string, string>();
  const copy = async (uri: string, name: string) => {
    const key = segmentKey(input.playlistKey, uri);
    if (!key || !(await blobs.stat(key))) throw gone("source segment " + path.posix.basename(uri));
    if (!copied.has(key)) {
      const local = await blobs.openLocal(key);
      try {
        await copyFile(local.path, path.join(dir, name));
      } finally {
        local.release();
      }
      copied.set(key, name);
    }
    return copied.get(key)!;
  };
  const segments: Segment[] = [];
  for (const [i, s] of playlist.segments.entries()) {
    ctx.update({ progress: Math.floor((90 * i) / playlist.segments.length) });
    const ext = path.posix.extname(s.uri.split(/[?#]/)[0]!) || ".ts";
    const n = String(i).padStart(5, "0");
    const map = s.map ? await copy(s.map, `f0_init_${copied.size}.mp4`) : undefined;
    segments.push({ ...s, uri: await copy(s.uri, `f0_${n}${ext}`), map });
  }
  // The source's discontinuities are kept: a segment that follows another source's starts anew.
  const parts: { segments: Segment[] }[] = [];
  const discontinuities = discontinuityIndexes(text);
  segments.forEach((s, i) => {
    if (i === 0 || discontinuities.has(i)) parts.push({ segments: [] });
    parts.at(-1)!.segments.push(s);
  });
  await writeFile(output, renderPlaylist(parts));
}

/** The indexes of the segments an EXT-X-DISCONTINUITY precedes. */
function discontinuityIndexes(text: string): Set<number> {
  const out = new Set<number>();
  let n = 0;
  let pending = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "#EXT-X-DISCONTINUITY") pending = true;
    else if (line && !line.startsWith("#")) {
      if (pending) out.add(n);
      pending = false;
      n++;
    }
  }
  return out;
}

export async function runFastClipMedia(ctx: TaskContext): Promise<TaskResult> {
  const input = ctx.task.input as unknown as FastClipInput;
  try {
    const media = await produceItem(
      ctx,
      {
        fileId: input.fileId,
        container: "hls",
        name: input.name,
        classId: input.classId,
        expireTime: input.expireTime,
        sourceContext: input.sourceContext,
      },
      async (output) => {
        await copySegments(ctx, input, output);
        const label = `output ${path.basename(output)}`;
        const probed = await probeMedia(ctx.deps.tools, output, 60_000, ctx.signal, label);
        return measureHls(ctx.deps.tools, output, probed, 60_000, ctx.signal);
      },
    );
    const procedure = await procedureOn(ctx, media, input.procedure);
    if (procedure && input.procedureTaskId) procedure.taskId = input.procedureTaskId;
    ctx.state = { progress: 100 };
    return { effects: { insertMedia: [media], insertTasks: procedure ? [procedure] : [] } };
  } catch (err) {
    if (err instanceof TaskFailure) await discardItems(ctx.deps, ctx.task, [input.fileId]);
    throw err;
  }
}

export const discardFastClipMedia = (deps: Deps, task: TaskRow) =>
  discardItems(deps, task, [(task.input as unknown as FastClipInput).fileId]);
