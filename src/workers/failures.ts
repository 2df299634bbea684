// What a media-level failure means for a task: its ErrCode, ErrCodeExt and Message, decided
// here once. A file that is not media is the source's fault (60000 SourceFileError); a job's
// clean failure keeps its code; anything else is not a task failure (the caller decides).
import { JobError, type JobErrCode } from "../media/jobs/index.js";
import { NotMediaError } from "../media/probe.js";
import { TaskErrCode, TaskFailure } from "../protocol/errors.js";

const ERR_CODE_EXT = {
  [TaskErrCode.badParameter]: "InvalidParameter",
  [TaskErrCode.sourceFile]: "SourceFileError",
  [TaskErrCode.internal]: "InternalError",
} as const satisfies Record<JobErrCode, string>;

/** The task failure `err` stands for, or undefined when it is none of these. */
export function taskFailureOf(err: unknown): TaskFailure | undefined {
  if (err instanceof TaskFailure) return err;
  if (err instanceof NotMediaError)
    return new TaskFailure(TaskErrCode.sourceFile, ERR_CODE_EXT[TaskErrCode.sourceFile], err.message);
  if (err instanceof JobError) return new TaskFailure(err.errCode, ERR_CODE_EXT[err.errCode], err.message);
  return undefined;
}

/** `p`, with a rejection that stands for a task failure rejected as that TaskFailure. */
export async function asTaskFailure<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw taskFailureOf(err) ?? err;
  }
}
