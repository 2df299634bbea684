// The ffmpeg side of every Procedure sub-task, as functions over local files (no store, no HTTP).
// Each job probes its source once, runs ffmpeg (a child process, -threads from the context,
// killed on abort or when the context's time budget runs out), and publishes its outputs
// atomically: single files via writeAtomically, multi-file outputs from a temporary directory.
// A clean per-sub-task failure is a JobError (40000 parameters, 60000 source, 70000 internal);
// an abort rejects with the MediaError of kind "aborted".

export { JobError, type JobContext, type JobErrCode, type Template, type Watermark } from "./types.js";
export {
  transcode,
  transcodeArgs,
  transcodePiece,
  joinTranscode,
  containerExtension,
  type TranscodeOptions,
  type TranscodeResult,
} from "./transcode.js";
export {
  snapshotsByTimeOffset,
  parseExtTimeOffsets,
  sampleSnapshots,
  coverSnapshot,
  type SnapshotOptions,
  type SampleOptions,
  type CoverOptions,
} from "./snapshots.js";
export { imageSprites, type SpriteOptions, type SpriteResult } from "./sprites.js";
export { animatedGraphic, type AnimatedOptions } from "./animated.js";
export {
  adaptiveStreaming,
  adaptivePiece,
  joinAdaptive,
  type AdaptiveOptions,
  type AdaptiveResult,
  type AdaptiveStream,
} from "./adaptive.js";
export { targetGeometry, type Geometry } from "./geometry.js";
export { inspectQuality, type InspectResult, type InspectSpan } from "./qualityInspect.js";
export { findOverlay, removeOverlay, type Box } from "./removeWatermark.js";
export { editMedia, editMediaArgs, type EditClip, type EditOptions } from "./editMedia.js";
export { resolveWindow } from "./source.js";
export {
  planTranscodeCuts,
  planAdaptiveCuts,
  type CutPlan,
  type SegmentSettings,
} from "./segments.js";
export { pickCover, type CoverPick } from "./cover.js";
export { extractMark, type Detection } from "./extractMark.js";
