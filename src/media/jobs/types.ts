// Shared types of the media-processing jobs: the context the Procedure runner passes in, the
// watermark description, and the one error type a job throws for a clean per-sub-task failure.

import type { CpuAllotment } from "../cpus.js";
import type { FfprobeOutput } from "../probe.js";
import type { MediaTools } from "../tools.js";

export interface JobContext {
  tools: MediaTools;
  signal: AbortSignal;
  /** Budget of the whole job (all ffmpeg/ffprobe runs together). */
  timeoutMs: number;
  /**
   * The cores this job shares with the others running beside it: its threads (-threads, the
   * filter threads, the encoders' own options) are taken from it when it starts.
   */
  cpus: CpuAllotment;
  /** Integer percent, monotonic; 100 only once the outputs are in place. */
  onProgress: (percent: number) => void;
  /**
   * ffprobe's output for the source, when the caller already has it: the job uses it instead
   * of probing again (if `file` and `size` still match), saving a process start per job.
   */
  sourceProbe?: { file: string; size: number; data: FfprobeOutput };
}

/** A template in the spec's Describe shape (TranscodeTemplate, SampleSnapshotTemplate...). */
export type Template = Record<string, any>;

export interface Watermark {
  /**
   * WatermarkTemplate: Type "image" | "text", CoordinateOrigin, XPos, YPos,
   * ImageTemplate {Width, Height, RepeatType, Transparency}, TextTemplate {FontType, FontSize "16px",
   * FontColor "0xFFFFFF", FontAlpha 0..1}.
   */
  template: Template;
  /** Local path of the watermark picture (Type image). */
  imageFile?: string;
  /** Type text: WatermarkInput.TextContent or the template's text. */
  text?: string;
  /** Seconds on the output's timeline; negative counts from the end (WatermarkInput). */
  startTimeOffset?: number;
  endTimeOffset?: number;
}

export type JobErrCode = 40000 | 60000 | 70000;

/**
 * A clean failure of one sub-task: 40000 when the template or parameters cannot apply to this
 * input, 60000 when the source is bad, 70000 for an internal problem. An abort is NOT a JobError:
 * the job rejects with the MediaError of kind "aborted" (or an AbortError if it never started).
 */
export class JobError extends Error {
  constructor(
    message: string,
    readonly errCode: JobErrCode,
  ) {
    super(message);
    this.name = "JobError";
  }
}

export const badParameter = (message: string) => new JobError(message, 40000);
export const badSource = (message: string) => new JobError(message, 60000);
export const internalError = (message: string) => new JobError(message, 70000);
