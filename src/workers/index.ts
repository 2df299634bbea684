// Which handler runs each task type.
import type { TaskHandler } from "../queue/pool.js";
import { runFileAttributes } from "./fileAttributes.js";
import { runProcedure } from "./procedure.js";
import { runPullUpload } from "./pullUpload.js";

export const taskHandlers: ReadonlyMap<string, TaskHandler> = new Map<string, TaskHandler>([
  ["PullUpload", runPullUpload],
  ["DescribeFileAttributesTask", runFileAttributes],
  ["Procedure", runProcedure],
]);
