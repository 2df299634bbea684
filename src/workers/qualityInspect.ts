// InspectMediaQuality: the template's checks in one ffmpeg pass over the item's file, reported
// as QualityInspectResultSet (picture and audio spans) and ContainerDiagnoseResultSet (frozen
// picture, missing streams).
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import { inspectPlan } from "../domain/templates/qualityInspect.js";
import type { QualityInspectInput, QualityInspectState } from "../domain/tasktypes/qualityInspect.js";
import { inspectQuality, type InspectResult, type InspectSpan } from "../media/jobs/index.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import { templateOfTask, withMediaSource } from "./mediaJob.js";

/** The cloud lists at most 100 segments per finding type. */
const MAX_SEGMENTS = 100;

function segment(s: InspectSpan): Record<string, unknown> {
  const item: Record<string, unknown> = { StartTimeOffset: s.start, EndTimeOffset: s.end };
  if (s.area) item.AreaCoordSet = s.area;
  return item;
}

/** The task's Output from the job's spans. */
export function inspectOutput(r: InspectResult): QualityInspectState["output"] {
  const results = Object.entries(r.spans)
    .filter(([type, spans]) => type !== "VideoDuplicatedFrame" && spans.length > 0)
    .map(([type, spans]) => ({
      Type: type,
      SegmentSet: spans.slice(0, MAX_SEGMENTS).map(segment),
      SegmentSetFileUrl: "",
      SegmentSetFileUrlExpireTime: "",
    }));
  const diagnoses = (r.spans.VideoDuplicatedFrame ?? []).map((s) => ({
    Category: "StreamAbnormalCharacteristics",
    Type: "VideoDuplicatedFrame",
    SeverityLevel: "Warning",
    TimestampSet: [s.start, s.end],
  }));
  if (r.noVideo)
    diagnoses.push({
      Category: "StreamInfo",
      Type: "VideoStreamLack",
      SeverityLevel: "Notice",
      TimestampSet: [],
    });
  if (r.noAudio)
    diagnoses.push({
      Category: "StreamInfo",
      Type: "AudioStreamLack",
      SeverityLevel: "Notice",
      TimestampSet: [],
    });
  return {
    NoAudio: r.noAudio ? 1 : 0,
    NoVideo: r.noVideo ? 1 : 0,
    QualityInspectResultSet: results,
    ContainerDiagnoseResultSet: diagnoses,
  };
}

export async function runQualityInspect(ctx: TaskContext): Promise<TaskResult> {
  const { task, deps } = ctx;
  const input = task.input as unknown as QualityInspectInput;
  const template = await templateOfTask(
    deps,
    task.appId,
    "QualityInspect",
    input.Definition,
    "QualityInspect",
  );
  return withMediaSource(ctx, input.FileId, async (src, job) => {
    const { probed } = src;
    const scratch = join(ctx.tmpDir, "inspect");
    await mkdir(scratch, { recursive: true });
    const plan = inspectPlan(template, probed.metaData.Duration);
    const result = await inspectQuality(job, { source: src.file, scratch, ...plan });
    const state: QualityInspectState = {
      progress: 100,
      metaData: probed.metaData as unknown as Record<string, unknown>,
      output: inspectOutput(result),
    };
    ctx.state = state as Record<string, unknown>;
    return {};
  });
}
