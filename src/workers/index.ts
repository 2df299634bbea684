// Which handler runs each task type.
import type { TaskHandler } from "../queue/pool.js";
import { runFileAttributes } from "./fileAttributes.js";
import { discardProcedure, runProcedure } from "./procedure.js";
import { discardPullUpload, runPullUpload } from "./pullUpload.js";

export const taskHandlers: ReadonlyMap<string, TaskHandler> = new Map<string, TaskHandler>([
  ["PullUpload", Object.assign(runPullUpload, { discard: discardPullUpload })],
  ["DescribeFileAttributesTask", runFileAttributes],
  ["Procedure", Object.assign(runProcedure, { discard: discardProcedure })],
]);
