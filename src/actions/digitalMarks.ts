// The extraction of digital watermarks: ExtractTraceWatermark, ExtractCopyRightWatermark and
// ExtractBlindWatermark queue a task that reads openvod's own invisible mark from a file
// (src/workers/extractMark.ts). Embedding is part of the transcode (src/domain/digitalMarks.ts).
import type { MarkKind } from "../domain/digitalMarks.js";
import type { Deps } from "../domain/deps.js";
import { submitTask } from "../domain/tasks.js";
import type { ExtractMarkInput } from "../domain/tasktypes/extractMarks.js";
import { checkUrl, OutboundError } from "../net/http.js";
import { errors } from "../protocol/errors.js";
import { sourceMedia } from "./quality.js";
import type { ActionFamily } from "./types.js";

/** A Url to read: openvod's own file URLs become their blob (the app's own only); others are fetched later. */
async function urlSource(
  deps: Deps,
  appId: number,
  raw: unknown,
  field: string,
): Promise<Pick<ExtractMarkInput, "url" | "blobKey">> {
  if (typeof raw !== "string" || !raw)
    throw errors.missingParameter(`The parameter \`${field}\` is missing.`);
  let url: URL;
  try {
    url = checkUrl(raw);
  } catch (err) {
    throw errors.invalidParameterValue("Url", err instanceof OutboundError ? err.message : "Invalid URL.");
  }
  const own = deps.urls.file("x").slice(0, -1);
  const bare = `${url.origin}${url.pathname}`;
  if (!own || !bare.startsWith(own)) return { url: raw };
  const key = decodeURIComponent(bare.slice(own.length));
  if (!key.startsWith(`${appId}/`) || key.includes("..") || !(await deps.blobs.stat(key)))
    throw errors.invalidParameterValue("Url", `${raw.slice(0, 200)} is not a file of this application.`);
  return { url: raw, blobKey: key };
}

const NOTES_COMMON =
  "openvod's own invisible mark (keyed spread-spectrum luma pattern, see the README); reads up to 600 s of the file; Message gives the confidence; no mark found finishes with an empty result, never a guess";

type ExtractAction = "ExtractTraceWatermark" | "ExtractCopyRightWatermark" | "ExtractBlindWatermark";

async function queue(
  deps: Deps,
  appId: number,
  taskType: ExtractAction,
  p: { TasksPriority?: number; SessionId?: string; SessionContext?: string },
  input: ExtractMarkInput,
): Promise<{ TaskId: string }> {
  const TaskId = await submitTask(deps, {
    appId,
    taskType,
    priority: p.TasksPriority,
    sessionId: p.SessionId,
    sessionContext: p.SessionContext,
    input: input as unknown as Record<string, unknown>,
  });
  return { TaskId };
}

const BLIND_TYPES: Record<string, MarkKind> = {
  "blind-basic": "Blind",
  "blind-trace": "Trace",
  "blind-ab": "Trace",
  "blind-abseq": "Trace",
};

export const digitalMarkActions: ActionFamily = {
  ExtractTraceWatermark: {
    notes: `Recovers the Uv of a trace watermark; ${NOTES_COMMON}`,
    async handler(ctx) {
      const p = ctx.params;
      const app = ctx.app.subAppId;
      if (p.FileId) await sourceMedia(ctx.deps, app, p.FileId);
      const src = await urlSource(ctx.deps, app, p.Url, "Url");
      return queue(ctx.deps, app, "ExtractTraceWatermark", p, { kind: "Trace", ...src, FileId: p.FileId });
    },
  },
  ExtractCopyRightWatermark: {
    notes: `Recovers the text of a copyright watermark; ${NOTES_COMMON}`,
    async handler(ctx) {
      const p = ctx.params;
      const src = await urlSource(ctx.deps, ctx.app.subAppId, p.Url, "Url");
      return queue(ctx.deps, ctx.app.subAppId, "ExtractCopyRightWatermark", p, { kind: "CopyRight", ...src });
    },
  },
  ExtractBlindWatermark: {
    notes: `Type blind-basic recovers a BlindWatermark template's text (Result), blind-trace/blind-ab/blind-abseq a trace mark's Uv (ResultUV); InputInfo FILEID (the item's original) or URL; ${NOTES_COMMON}`,
    async handler(ctx) {
      const p = ctx.params;
      const app = ctx.app.subAppId;
      const kind = BLIND_TYPES[p.Type ?? ""];
      if (!kind)
        throw errors.invalidParameterValue(
          "Type",
          "Type must be blind-basic, blind-trace, blind-ab or blind-abseq.",
        );
      const info = (p.InputInfo ?? {}) as Record<string, any>;
      let src: Pick<ExtractMarkInput, "url" | "blobKey">;
      if (info.Type === "FILEID") {
        const media = await sourceMedia(ctx.deps, app, info.FileId);
        if (!media.blobKey)
          throw errors.invalidParameterValue("FileId", `The file ${info.FileId} has no media file.`);
        src = { url: ctx.deps.urls.file(media.blobKey), blobKey: media.blobKey };
      } else if (info.Type === "URL") {
        src = await urlSource(ctx.deps, app, info.Url, "InputInfo.Url");
      } else {
        throw errors.invalidParameterValue("InputInfo", "InputInfo.Type must be FILEID or URL.");
      }
      return queue(ctx.deps, app, "ExtractBlindWatermark", p, {
        kind,
        ...src,
        Type: p.Type,
        InputInfo: p.InputInfo as Record<string, unknown>,
        ExtractBlindWatermarkConfig: p.ExtractBlindWatermarkConfig as Record<string, unknown> | undefined,
      });
    },
  },
};
