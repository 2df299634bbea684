// ReviewAudioVideo: the review template's labels over the item's picture (frames every second)
// and, with ReviewContents Cover, its cover; the verdict is the worst segment's.
import { verdict, type ReviewSegment } from "../domain/ai/results.js";
import { isoTime } from "../domain/ids.js";
import { REVIEW_PARTS } from "../domain/media.js";
import type { ReviewAudioVideoInput, ReviewAudioVideoState } from "../domain/tasktypes/reviewAudioVideo.js";
import type { TaskContext, TaskResult } from "../queue/pool.js";
import { review } from "./ai.js";
import { templateOfTask, withMediaSource } from "./mediaJob.js";
import type { JobContext } from "../media/jobs/types.js";
import type { Deps } from "../domain/deps.js";

/** The cloud lists at most 10 segments here. */
const MAX_SEGMENTS = 10;

/** A ReviewImageResult for one picture (a cover, or ReviewImage's image). */
export async function reviewPicture(
  job: JobContext,
  file: string,
  deps: Deps,
  appId: number,
  template: Record<string, any>,
) {
  const r = await review(job, file, deps, appId, template);
  const v = verdict(r.segments);
  return {
    Suggestion: v.Suggestion,
    Label: v.Label,
    Form: v.Form,
    SegmentSet: r.segments.slice(0, MAX_SEGMENTS).map((s) => ({
      Confidence: s.Confidence,
      Suggestion: s.Suggestion,
      Label: s.Label,
      SubLabel: s.SubLabel,
      Form: s.Form,
      AreaCoordSet: s.AreaCoordSet,
      Text: s.Text,
      KeywordSet: s.KeywordSet,
    })),
    SegmentSetFileUrl: "",
    SegmentSetFileUrlExpireTime: "",
  };
}

export async function runReviewAudioVideo(ctx: TaskContext): Promise<TaskResult> {
  const { task, deps } = ctx;
  const input = task.input as unknown as ReviewAudioVideoInput;
  const template = await templateOfTask(deps, task.appId, "Review", input.Definition, "review");
  return withMediaSource(ctx, input.FileId, async (src, job) => {
    let segments: ReviewSegment[] = [];
    if (input.ReviewContents.includes("Media"))
      segments = (await review(job, src.file, deps, task.appId, template)).segments;
    let cover: Record<string, unknown> | null = null;
    if (input.ReviewContents.includes("Cover") && src.media.coverKey) {
      const copy = await deps.blobs.openLocal(src.media.coverKey);
      try {
        cover = await reviewPicture(
          { ...job, sourceProbe: undefined },
          copy.path,
          deps,
          task.appId,
          template,
        );
      } finally {
        copy.release();
      }
    }
    const v = verdict(segments);
    const state: ReviewAudioVideoState = {
      progress: 100,
      output: {
        Suggestion: v.Suggestion,
        Label: v.Label,
        Form: v.Form,
        SegmentSet: segments.slice(0, MAX_SEGMENTS),
        SegmentSetFileUrl: "",
        SegmentSetFileUrlExpireTime: "",
        CoverReviewResult: cover,
      },
    };
    ctx.state = state as Record<string, unknown>;
    // The verdicts are kept with the item too (MediaInfo.ReviewInfo), written with the task's end.
    const reviewTime = isoTime(deps.now());
    const info = (
      kind: string,
      suggestion: string,
      segs: Array<{ Suggestion: string; Form: string; Label: string }>,
    ) => ({
      appId: task.appId,
      fileId: input.FileId,
      kind,
      definition: 0,
      item: {
        Definition: input.Definition,
        Suggestion: suggestion,
        TypeSet: [...new Set(segs.filter((s) => s.Suggestion !== "pass").map((s) => `${s.Form}.${s.Label}`))],
        ReviewTime: reviewTime,
      },
      blobs: [],
      createTime: deps.now(),
    });
    const putParts = [];
    if (input.ReviewContents.includes("Media"))
      putParts.push(info(REVIEW_PARTS.MediaReviewInfo, v.Suggestion, segments));
    if (cover)
      putParts.push(
        info(REVIEW_PARTS.CoverReviewInfo, String(cover.Suggestion), cover.SegmentSet as ReviewSegment[]),
      );
    return { effects: { putParts } };
  });
}
