// Which handler runs each task type: one entry per TASK_KINDS entry, which the compiler checks.
import type { TaskTypeName } from "../domain/tasktypes/index.js";
import type { TaskHandler } from "../queue/pool.js";
import { discardComposeMedia, runComposeMedia } from "./composeMedia.js";
import { discardEditMedia, runEditMedia } from "./editMedia.js";
import { discardFastClipMedia, runFastClipMedia } from "./fastClipMedia.js";
import { runFileAttributes } from "./fileAttributes.js";
import { runExtractMark } from "./extractMark.js";
import { discardProcedure, procedureLeftovers, runProcedure } from "./procedure.js";
import { discardPullUpload, runPullUpload } from "./pullUpload.js";
import { runQualityInspect } from "./qualityInspect.js";
import { runRebuild } from "./rebuild.js";
import { discardNewMedia } from "./mediaJob.js";
import { runRemoveWatermark } from "./removeWatermark.js";
import { runReviewAudioVideo } from "./reviewAudioVideo.js";
import { discardSplitMedia, runSplitMedia } from "./splitMedia.js";

const HANDLERS = {
  PullUpload: Object.assign(runPullUpload, { discard: discardPullUpload }),
  DescribeFileAttributesTask: runFileAttributes,
  Procedure: Object.assign(runProcedure, { discard: discardProcedure, leftovers: procedureLeftovers }),
  QualityInspect: runQualityInspect,
  QualityEnhance: Object.assign(runRebuild, { discard: discardNewMedia }),
  RebuildMedia: Object.assign(runRebuild, { discard: discardNewMedia }),
  RemoveWatermarkTask: Object.assign(runRemoveWatermark, { discard: discardNewMedia }),
  EditMedia: Object.assign(runEditMedia, { discard: discardEditMedia }),
  SplitMedia: Object.assign(runSplitMedia, { discard: discardSplitMedia }),
  ComposeMedia: Object.assign(runComposeMedia, { discard: discardComposeMedia }),
  FastClipMedia: Object.assign(runFastClipMedia, { discard: discardFastClipMedia }),
  ReviewAudioVideo: runReviewAudioVideo,
  ExtractTraceWatermark: runExtractMark,
  ExtractCopyRightWatermark: runExtractMark,
  ExtractBlindWatermark: runExtractMark,
} satisfies Record<TaskTypeName, TaskHandler>;

export const taskHandlers: ReadonlyMap<string, TaskHandler> = new Map(Object.entries(HANDLERS));
