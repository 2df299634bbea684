// What makes one Procedure sub-task different from another, as clients see it: the
// MediaProcessTask list it comes in, its result's Type and field, the template family its
// Definition names, the checks of its input beyond the schema, and the media-info part its
// outputs are kept as. Its runner is keyed by the same Type in src/workers/procedure.ts.
import type { TemplateFamily } from "../templates/types.js";

export interface SubTaskKind {
  /** The MediaProcessTaskInput list, e.g. TranscodeTaskSet. */
  set: string;
  /** MediaProcessTaskResult.Type. */
  type: string;
  /** The MediaProcessTaskResult field that carries the result. */
  field: string;
  /** The template family its Definition names. */
  family: TemplateFamily;
  /** How messages name it ("the transcode template 10 does not exist"). */
  label: string;
  /**
   * The part of a media item its outputs are kept as: the DescribeMediaInfos filter, MediaInfo
   * field and list; the DeleteMedia DeleteParts type that removes it, where there is one.
   */
  part?: { filter: string; info: string; list: string; deleteType?: string };
  /** Throws an ApiError for an input the schema accepts but the cloud refuses. */
  check?(input: Record<string, any>): void;
  /**
   * AI sub-tasks: the ProcessMedia field their input comes in (AiRecognitionTask...) instead of
   * a MediaProcessTask list, the ProcedureTask list their results go to, and those results
   * (one sub-task may report several, e.g. OCR full text and OCR words).
   */
  ai?: {
    request: string;
    resultSet: "AiRecognitionResultSet" | "AiContentReviewResultSet" | "AiAnalysisResultSet";
    results(s: AiSubTaskView): Record<string, unknown>[];
  };
}

/** What an AI sub-task's results are made from (a sub-task as the Procedure view has it). */
export interface AiSubTaskView {
  input: Record<string, any>;
  template: Record<string, any>;
  /** Status, ErrCodeExt, ErrCode, Message, Progress, BeginProcessTime, FinishTime. */
  common: Record<string, unknown>;
  output?: Record<string, any>;
}
