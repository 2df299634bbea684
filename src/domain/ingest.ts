// What every way of bringing media in shares (PullUpload's worker, CommitUpload): the Procedure
// task a new media item starts, and the NewFileUpload event that announces it.
import { ApiError, errors } from "../protocol/errors.js";
import type { MediaRow, NewTask } from "../store/types.js";
import type { Deps, Urls } from "./deps.js";
import type { EventSpec } from "./events.js";
import { mediaBasicInfo } from "./media.js";
import { prepareProcedure } from "./procedure.js";
import { newTask } from "./tasks.js";
import { findTemplate } from "./templates/index.js";

export interface ProcedureStart {
  appId: number;
  media: MediaRow;
  /** The procedure template's name. */
  procedure: string;
  priority?: number;
  sessionContext?: string;
}

/**
 * The Procedure task named at ingest, to be stored with the new media item. Undefined (and a
 * warning) when the template can no longer run: the file is in; only the processing it asked
 * for cannot start (the template was changed or deleted since the request was accepted).
 */
export async function procedureTaskFor(deps: Deps, s: ProcedureStart): Promise<NewTask | undefined> {
  try {
    const template = await findTemplate(deps, s.appId, "Procedure", s.procedure);
    if (!template) throw errors.invalidParameter(`The procedure ${s.procedure} no longer exists.`);
    const input = await prepareProcedure(deps, {
      appId: s.appId,
      media: s.media,
      mediaProcessTask: template.MediaProcessTask,
      ai: template,
    });
    return await newTask(deps, {
      appId: s.appId,
      taskType: "Procedure",
      fileId: s.media.fileId,
      priority: s.priority,
      sessionContext: s.sessionContext,
      input: input as unknown as Record<string, unknown>,
    });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    deps.log.warn({ fileId: s.media.fileId, procedure: s.procedure, code: err.code }, err.message);
    return undefined;
  }
}

/** The NewFileUpload event (EventType NewFileUpload, FileUploadEvent payload). */
export function fileUploadEvent(media: MediaRow, procedureTaskId: string, urls: Urls): EventSpec {
  return {
    type: "NewFileUpload",
    field: "FileUploadEvent",
    payload: {
      FileId: media.fileId,
      MediaBasicInfo: mediaBasicInfo(media, urls),
      ProcedureTaskId: procedureTaskId,
      ReviewAudioVideoTaskId: "",
      MetaData: media.metaData,
    },
  };
}
