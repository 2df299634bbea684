// What FastEditMedia and SimpleHlsClip share: finding an application's HLS playlists (an item's
// original, a transcode, or an openvod URL), writing a clip playlist that plays the source
// segments at once, and queueing the task that copies those segments into a new item.
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { blobKey } from "../blobs/types.js";
import { parsePlaylist, type MediaPlaylist, type Segment } from "../media/jobs/hlsClip.js";
import { errors } from "../protocol/errors.js";
import type { Deps } from "./deps.js";
import { newFileId } from "./ids.js";
import { submitTask } from "./tasks.js";
import type { FastClipInput } from "./tasktypes/fastClipMedia.js";

/** A playlist in blob storage, read, with the metadata of what it plays. */
export interface HlsSource {
  key: string;
  playlist: MediaPlaylist;
  metaData: Record<string, unknown>;
}

const BLOB_PREFIX = "blob:";

/**
 * The blob key a segment URI of the playlist at `base` names; undefined if it leaves the
 * application's files (an uploaded playlist may list anything).
 */
export function segmentKey(base: string, uri: string): string | undefined {
  const app = base.split("/")[0]!;
  if (/^[a-z]+:/i.test(uri) || uri.startsWith("/")) return undefined;
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(base), uri.split(/[?#]/)[0]!));
  if (!joined.startsWith(`${app}/`)) return undefined;
  try {
    return blobKey(...joined.split("/"));
  } catch {
    return undefined;
  }
}

/** Reads and parses the playlist at `key` (InvalidParameterValue.<field> when it is not one). */
export async function readHls(
  deps: Deps,
  key: string,
  metaData: Record<string, unknown>,
  field: string,
): Promise<HlsSource> {
  let text = "";
  if (key.endsWith(".m3u8") && (await deps.blobs.stat(key))) {
    text = await readFile(await deps.blobs.localPath(key), "utf8");
  }
  const playlist = parsePlaylist(text);
  if (!playlist)
    throw errors.invalidParameterValue(field, `${field}: the media is not an HLS media playlist.`);
  return { key, playlist, metaData };
}

/** The HLS playlist of an item: its original (Original) or a transcode (Transcode + definition). */
export async function itemHls(
  deps: Deps,
  appId: number,
  fileId: string,
  type: string,
  definition: number | undefined,
  where: string,
): Promise<HlsSource> {
  const media = await deps.store.getMedia(appId, fileId);
  if (!media) throw errors.invalidParameterValue("FileId", `${where}: the file ${fileId} does not exist.`);
  if (type === "Original") return readHls(deps, media.blobKey, media.metaData, "AudioVideoType");
  if (type !== "Transcode")
    throw errors.invalidParameterValue(
      "AudioVideoType",
      `${where}: AudioVideoType ${type} is not Transcode or Original.`,
    );
  const part = (await deps.store.getMediaParts(appId, fileId)).find(
    (p) => p.kind === "Transcode" && p.definition === definition,
  );
  const url = part?.item.Url;
  if (typeof url !== "string" || !url.startsWith(BLOB_PREFIX))
    throw errors.invalidParameterValue(
      "TranscodeDefinition",
      `${where}: ${fileId} has no transcode ${definition}.`,
    );
  return readHls(deps, url.slice(BLOB_PREFIX.length), part!.item, "TranscodeDefinition");
}

/** The HLS playlist an openvod URL of this application names (SimpleHlsClip's Url). */
export async function urlHls(deps: Deps, appId: number, url: string): Promise<HlsSource> {
  let key: string | undefined;
  try {
    const p = decodeURIComponent(new URL(url).pathname);
    if (p.startsWith("/files/")) key = blobKey(...p.slice("/files/".length).split("/"));
  } catch {
    key = undefined;
  }
  if (!key || !key.startsWith(`${appId}/`))
    throw errors.invalidParameterValue("Url", "Url is not an HLS file of this application on this openvod.");
  const fileId = key.split("/")[1]!;
  const media = await deps.store.getMedia(appId, fileId);
  if (!media) throw errors.invalidParameterValue("Url", "Url names a file that does not exist.");
  const part =
    key === media.blobKey
      ? undefined
      : (await deps.store.getMediaParts(appId, fileId)).find((p) => p.item.Url === BLOB_PREFIX + key);
  if (key !== media.blobKey && !part)
    throw errors.invalidParameterValue("Url", "Url names no HLS output of the file.");
  return readHls(deps, key, part ? part.item : media.metaData, "Url");
}

/** The segments of a source, their URIs rewritten relative to a playlist written at `target`. */
export function relink(source: HlsSource, segments: Segment[], target: string): Segment[] {
  const rel = (uri: string) => {
    const key = segmentKey(source.key, uri);
    if (!key)
      throw errors.invalidParameterValue(
        "Url",
        "The playlist lists a segment outside the application's files.",
      );
    return path.posix.relative(path.posix.dirname(target), key);
  };
  return segments.map((s) => ({ ...s, uri: rel(s.uri), map: s.map && rel(s.map) }));
}

/** Stores a playlist text at `key`. */
export async function putPlaylist(deps: Deps, key: string, text: string): Promise<void> {
  // In the data directory: local blob storage moves the file in with a rename.
  const dir = path.join(deps.config.dataDir, "tmp");
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `clip-${randomBytes(6).toString("hex")}.m3u8`);
  await writeFile(tmp, text);
  try {
    await deps.blobs.putFile(key, tmp);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** Where a persisted clip's playlist lives: the new item's own HLS directory. */
export const persistedKey = (appId: number, fileId: string) => blobKey(appId, fileId, "f0", "f0.m3u8");

/** A new FileId for a clip, and the key of its playlist. */
export function newClip(appId: number): { fileId: string; key: string } {
  const fileId = newFileId();
  return { fileId, key: persistedKey(appId, fileId) };
}

/** Queues the copy of a clip playlist's segments into its new item (TaskType FastClipMedia). */
export async function queuePersistence(
  deps: Deps,
  appId: number,
  input: FastClipInput,
  sessionContext?: string,
): Promise<string> {
  return submitTask(deps, {
    appId,
    taskType: "FastClipMedia",
    sessionContext,
    input: input as unknown as Record<string, unknown>,
  });
}
