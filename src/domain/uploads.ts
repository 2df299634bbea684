// Upload sessions: what ApplyUpload hands out (a bucket, two object keys and temporary COS
// credentials scoped to exactly those keys), what CommitUpload turns into a media item, and the
// sweep that removes sessions nobody committed. The COS endpoint that receives the objects is
// src/cos/routes.ts; objects wait in <data>/uploads/<session id>/ until the commit moves them
// into blob storage.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { blobKey } from "../blobs/types.js";
import { NotMediaError, probeMedia, type ProbedMedia } from "../media/probe.js";
import { errors } from "../protocol/errors.js";
import type { NewEvent, NewTask, UploadSessionRow } from "../store/types.js";
import type { Deps } from "./deps.js";
import { makeEvent } from "./events.js";
import { isoTime, newFileId } from "./ids.js";
import { ingestedMedia } from "./media.js";
import { fileUploadEvent, procedureTaskFor } from "./ingest.js";

/** Media types ApplyUpload accepts: what ffprobe/ffmpeg read (the cloud's list, less what openvod cannot process). */
// prettier-ignore
export const MEDIA_TYPES: ReadonlySet<string> = new Set([
  // video
  "mp4", "mov", "m4v", "3gp", "3g2", "mkv", "webm", "avi", "flv", "f4v", "ts", "m2ts", "mts", "m2t",
  "mpg", "mpeg", "mpe", "vob", "dat", "wmv", "asf", "mxf", "ogv", "rm", "rmvb",
  // audio
  "mp3", "m4a", "aac", "flac", "ogg", "oga", "opus", "wav", "wma", "amr", "aiff", "aif", "ac3",
  // image
  "jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff",
]);

/** Streaming manifests: the cloud takes them with their segments; openvod cannot process them yet. */
export const MANIFEST_TYPES: ReadonlySet<string> = new Set(["m3u8", "mpd"]);

export const COVER_TYPES: ReadonlySet<string> = new Set([
  "jpg",
  "jpeg",
  "png",
  "gif",
  "bmp",
  "webp",
  "tif",
  "tiff",
]);

/** The region the cloud defaults to, and the form the COS SDK requires of a region. */
export const DEFAULT_STORAGE_REGION = "ap-guangzhou";
export const STORAGE_REGION = /^[a-z\d-]+$/;

/** A commit cut short by a crash may be taken over after this long. */
const COMMIT_STALE_MS = 15 * 60 * 1000;
const SWEEP_BATCH = 200;

/** The bucket of an application, `<name>-<appid>` as the COS SDK requires. */
export function bucketOf(appId: number): string {
  return `openvod-${appId}`;
}

export function uploadsDir(dataDir: string): string {
  return join(dataDir, "uploads");
}

/** Where a session's objects and parts wait for the commit. The id is random hex, never a path from a request. */
export function sessionDir(dataDir: string, sessionId: string): string {
  if (!/^[0-9a-f]{24}$/.test(sessionId)) throw new Error(`bad upload session id ${sessionId}`);
  return join(uploadsDir(dataDir), sessionId);
}

/** The ApplyUpload parameters a session keeps for the commit (validated by the action). */
export interface UploadParams {
  MediaType: string;
  MediaName?: string;
  CoverType?: string;
  Procedure?: string;
  /** Normalized ISO time. */
  ExpireTime?: string;
  StorageRegion: string;
  ClassId?: number;
  SourceContext?: string;
  SessionContext?: string;
}

export interface AppliedUpload {
  StorageBucket: string;
  StorageRegion: string;
  VodSessionKey: string;
  MediaStoragePath: string;
  CoverStoragePath: string;
  TempCertificate: { SecretId: string; SecretKey: string; Token: string; ExpiredTime: number };
}

export async function createUploadSession(
  deps: Deps,
  appId: number,
  p: UploadParams,
): Promise<AppliedUpload> {
  const now = deps.now();
  const id = randomBytes(12).toString("hex");
  const mediaType = p.MediaType.toLowerCase();
  const coverType = p.CoverType?.toLowerCase() ?? "";
  const expireTime = now + deps.config.uploadSessionTtlSec * 1000;
  const row: UploadSessionRow = {
    id,
    sessionKey: randomBytes(32).toString("base64url"),
    appId,
    secretId: "AKID" + randomBytes(18).toString("base64url").replace(/[-_]/g, "x"),
    secretKey: randomBytes(24).toString("base64url"),
    token: randomBytes(48).toString("base64url"),
    mediaKey: `upload/${id}/f0.${mediaType}`,
    coverKey: coverType ? `upload/${id}/cover.${coverType}` : "",
    params: { ...p, MediaType: mediaType, CoverType: coverType || undefined } as Record<string, unknown>,
    media: null,
    cover: null,
    status: "OPEN",
    fileId: "",
    commitTime: null,
    createTime: now,
    expireTime,
  };
  await deps.store.insertUploadSession(row);
  return appliedUpload(row);
}

/** What ApplyUpload answered for a session (the web SDK asks again when it resumes one). */
export function appliedUpload(row: UploadSessionRow): AppliedUpload {
  return {
    StorageBucket: bucketOf(row.appId),
    StorageRegion: (row.params as unknown as UploadParams).StorageRegion,
    VodSessionKey: row.sessionKey,
    MediaStoragePath: "/" + row.mediaKey,
    CoverStoragePath: row.coverKey ? "/" + row.coverKey : "",
    TempCertificate: {
      SecretId: row.secretId,
      SecretKey: row.secretKey,
      Token: row.token,
      ExpiredTime: Math.floor(row.expireTime / 1000),
    },
  };
}

const badSessionKey = (message = "The VodSessionKey does not exist or has expired.") =>
  errors.invalidParameterValue("VodSessionKey", message);

export interface CommittedUpload {
  FileId: string;
  MediaUrl: string;
  CoverUrl: string;
}

/** CommitUpload: the uploaded object becomes a media item (with its cover, Procedure and event). */
export async function commitUpload(deps: Deps, appId: number, sessionKey: string): Promise<CommittedUpload> {
  const { store } = deps;
  const now = deps.now();
  const s = await store.getUploadSession(sessionKey);
  if (!s || s.appId !== appId || s.expireTime <= now) throw badSessionKey();
  if (s.status === "COMMITTED") throw badSessionKey("This upload was already committed.");
  if (s.status === "OPEN" && !s.media) {
    throw errors.failedOperation(
      undefined,
      `The media file has not been uploaded yet: upload it to /${s.mediaKey} (a multipart upload must be completed) before CommitUpload.`,
    );
  }
  const claimed = await store.claimUploadCommit(s.id, newFileId(), now, now - COMMIT_STALE_MS);
  if (!claimed) {
    const again = await store.getUploadSession(sessionKey);
    if (again?.status === "COMMITTED") throw badSessionKey("This upload was already committed.");
    throw errors.failedOperation(undefined, "A CommitUpload of this upload is already in progress.");
  }
  try {
    return await finishCommit(deps, claimed);
  } catch (err) {
    // The session is given back as it was (the handlers below clear what they rejected), so
    // the client can upload again or retry.
    await store.releaseUploadCommit(claimed.id, []).catch(() => {});
    throw err;
  }
}

async function finishCommit(deps: Deps, s: UploadSessionRow): Promise<CommittedUpload> {
  const { store, blobs, tools, urls } = deps;
  const p = s.params as unknown as UploadParams;
  const dir = sessionDir(deps.config.dataDir, s.id);
  const fileId = s.fileId;
  const key = blobKey(s.appId, fileId, `f0.${p.MediaType}`);
  const coverKey = p.CoverType ? blobKey(s.appId, fileId, `cover.${p.CoverType}`) : "";

  // The object as uploaded, or, when an earlier commit was cut short after moving it, the blob.
  const located = async (obj: UploadSessionRow["media"], blob: string) => {
    if (obj && existsSync(join(dir, obj.file))) return { path: join(dir, obj.file), moved: false };
    if (blob && (await blobs.stat(blob))) return { path: await blobs.localPath(blob), moved: true };
    return undefined;
  };
  const media = await located(s.media, key);
  if (!media) {
    await store.releaseUploadCommit(s.id, ["media"]);
    throw errors.failedOperation(undefined, "The uploaded media file is gone; upload it again.");
  }
  let probed: ProbedMedia;
  try {
    probed = await probeMedia(tools, media.path);
  } catch (err) {
    if (!(err instanceof NotMediaError)) throw err;
    await store.releaseUploadCommit(s.id, ["media"]);
    if (!media.moved) await rm(media.path, { force: true });
    const name = basename(media.path);
    const why = err.message
      .replace(`The source file ${name} `, "")
      .split(`${name}: `)
      .join("")
      .replace(/\.$/, "");
    throw errors.failedOperation(
      undefined,
      `The uploaded file is not media openvod can read (${why}), so it was removed; upload a media file and commit again.`,
    );
  }
  const cover = s.cover || coverKey ? await located(s.cover, coverKey) : undefined;
  if (cover) {
    let isImage = false;
    try {
      isImage = (await probeMedia(tools, cover.path)).category === "Image";
    } catch (err) {
      if (!(err instanceof NotMediaError)) throw err;
    }
    if (!isImage) {
      await store.releaseUploadCommit(s.id, ["cover"]);
      if (!cover.moved) await rm(cover.path, { force: true });
      throw errors.failedOperation("CoverType", "The uploaded cover is not an image, so it was removed.");
    }
  }

  const now = deps.now();
  const row = ingestedMedia(
    {
      fileId,
      appId: s.appId,
      name: p.MediaName ?? "",
      classId: p.ClassId,
      type: p.MediaType,
      category: probed.category,
      blobKey: key,
      coverKey: cover ? coverKey : "",
      metaData: probed.metaData as unknown as Record<string, unknown>,
      sourceContext: p.SourceContext,
      storageRegion: p.StorageRegion,
      expireTime: p.ExpireTime,
    },
    now,
  );
  const procedure = p.Procedure
    ? await procedureTaskFor(deps, {
        appId: s.appId,
        media: row,
        procedure: p.Procedure,
        sessionContext: p.SessionContext,
      })
    : undefined;
  const tasks: NewTask[] = procedure ? [procedure] : [];
  const config = await store.getEventConfig(s.appId);
  const events: NewEvent[] =
    config.uploadSwitch === "ON"
      ? [makeEvent(s.appId, config, fileUploadEvent(row, procedure?.taskId ?? "", urls), now)]
      : [];

  if (!media.moved) await blobs.putFile(key, media.path);
  if (cover && !cover.moved) await blobs.putFile(coverKey, cover.path);
  if (!(await store.finishUploadCommit(s.id, row, tasks, events))) {
    throw errors.failedOperation(undefined, "This upload was committed by another request meanwhile.");
  }
  await rm(dir, { recursive: true, force: true });
  if (events.length) deps.events.notify(s.appId, events);
  if (tasks.length) deps.wakeWorkers();
  deps.log.info(
    { appId: s.appId, fileId, bytes: probed.metaData.Size, procedure: procedure?.taskId },
    "upload committed",
  );
  return { FileId: fileId, MediaUrl: urls.file(key), CoverUrl: urls.file(row.coverKey) };
}

/**
 * Removes sessions past their expiry (committed or not) with their multipart uploads and files,
 * and directories left without a session (a crash between the two): any session directory not
 * written for longer than a session lives.
 */
export async function sweepUploads(deps: Deps): Promise<number> {
  const { store, config } = deps;
  let removed = 0;
  for (;;) {
    const ids = await store.deleteExpiredUploadSessions(deps.now(), SWEEP_BATCH);
    for (const id of ids) await rm(sessionDir(config.dataDir, id), { recursive: true, force: true });
    removed += ids.length;
    if (ids.length < SWEEP_BATCH) break;
  }
  const root = uploadsDir(config.dataDir);
  const names = await readdir(root).catch(() => [] as string[]);
  const oldest = Date.now() - config.uploadSessionTtlSec * 1000 * 2;
  for (const name of names) {
    if (!/^[0-9a-f]{24}$/.test(name)) continue;
    const st = await stat(join(root, name)).catch(() => undefined);
    if (st && st.mtimeMs < oldest) await rm(join(root, name), { recursive: true, force: true });
  }
  if (removed)
    deps.log.info({ sessions: removed, before: isoTime(deps.now()) }, "removed expired upload sessions");
  return removed;
}
