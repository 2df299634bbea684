// Procedure: media-processing sub-tasks on one media item (ProcessMedia, ProcessMediaByProcedure,
// an upload's Procedure). The model and view are in src/domain/procedure.ts; the worker is
// src/workers/procedure.ts.
import type { TaskRow } from "../../store/types.js";
import type { Urls } from "../deps.js";
import { TASK_ID_KIND } from "../ids.js";
import { procedureView, type ProcedureInput } from "../procedure.js";
import { completionEvent, type TaskKind } from "./kind.js";

export const procedure: TaskKind = {
  taskType: "Procedure",
  idKind: TASK_ID_KIND.Procedure,
  payloadField: "ProcedureTask",
  view: procedureView,
  events(task, _config, urls) {
    const mode = (task.input as unknown as ProcedureInput).tasksNotifyMode;
    return mode === "None" ? [] : [procedureEvent(task, urls)];
  },
};

/** ProcedureStateChanged: at the end, and after each sub-task when TasksNotifyMode is Change. */
export const procedureEvent = (task: TaskRow, urls: Urls) =>
  completionEvent(procedure, "ProcedureStateChanged", "ProcedureStateChangeEvent", task, urls);
