// The Store interface cut by concept: each dialect implements one module per concept
// (src/store/<dialect>/<concept>.ts) and assembles them here, so the compiler checks that
// every method of Store has exactly one home in each dialect.
import type { Store } from "./types.js";

export type Apps = Pick<
  Store,
  "ensureDefaultApp" | "getApp" | "listApps" | "createApp" | "updateApp" | "nextAppId"
>;

export type Tasks = Pick<
  Store,
  | "insertTask"
  | "getTask"
  | "findTaskBySession"
  | "listTasks"
  | "claimTask"
  | "heartbeat"
  | "finishTask"
  | "releaseTask"
  | "abortTask"
  | "releaseAllLeases"
  | "purgeTasks"
  | "countRunnable"
>;

export type Segments = Pick<
  Store,
  | "insertSegments"
  | "listSegments"
  | "claimSegment"
  | "segmentHeartbeat"
  | "finishSegment"
  | "releaseSegment"
  | "deleteSegments"
>;

export type Media = Pick<
  Store,
  "getMedia" | "updateMedia" | "deleteMedia" | "searchMedia" | "getMediaParts" | "deleteMediaParts"
>;

export type Events = Pick<
  Store,
  | "getEventConfig"
  | "setEventConfig"
  | "insertEvents"
  | "pullEvents"
  | "confirmEvents"
  | "countPullableEvents"
  | "claimPushEvents"
  | "settlePushEvent"
  | "nextPushDue"
  | "purgeEvents"
>;

export type Templates = Pick<
  Store,
  | "listTemplates"
  | "getTemplate"
  | "putTemplate"
  | "insertTemplate"
  | "deleteTemplate"
  | "nextTemplateDefinition"
>;

export type Uploads = Pick<
  Store,
  | "insertUploadSession"
  | "getUploadSession"
  | "getUploadSessionBySecretId"
  | "setUploadObject"
  | "claimUploadCommit"
  | "releaseUploadCommit"
  | "finishUploadCommit"
  | "deleteExpiredUploadSessions"
  | "insertMultipart"
  | "getMultipart"
  | "listMultiparts"
  | "deleteMultipart"
  | "putUploadPart"
  | "listUploadParts"
>;

export type Signatures = Pick<Store, "useSignature" | "signatureUsed" | "purgeSignatureUses">;
export type Samples = Pick<
  Store,
  | "insertWordSamples"
  | "listWordSamples"
  | "updateWordSample"
  | "deleteWordSamples"
  | "insertPersonSample"
  | "listPersonSamples"
  | "getPersonSample"
  | "updatePersonSample"
  | "deletePersonSample"
>;

/** One dialect's concept modules, each made from the dialect's connection D. */
export interface Concepts<D> {
  apps(d: D): Apps;
  tasks(d: D): Tasks;
  segments(d: D): Segments;
  media(d: D): Media;
  events(d: D): Events;
  templates(d: D): Templates;
  uploads(d: D): Uploads;
  signatures(d: D): Signatures;
  samples(d: D): Samples;
}

/** A whole Store from a dialect's concept modules and its connection's own methods. */
export function assemble<D>(d: D, c: Concepts<D>, own: Pick<Store, "close" | "subscribe">): Store {
  return {
    ...own,
    ...c.apps(d),
    ...c.tasks(d),
    ...c.segments(d),
    ...c.media(d),
    ...c.events(d),
    ...c.templates(d),
    ...c.uploads(d),
    ...c.signatures(d),
    ...c.samples(d),
  };
}
