// The store interface: everything openvod persists goes through it, and nothing outside
// src/store writes SQL. SQLite (embedded) implements it now; PostgreSQL (cluster mode) can
// follow behind the same interface, which is why every method returns a Promise.

export type TaskStatus = "WAITING" | "PROCESSING" | "FINISH" | "ABORTED";

export interface TaskRow {
  taskId: string;
  appId: number;
  /** The DescribeTaskDetail TaskType, e.g. "PullUpload", "DescribeFileAttributesTask". */
  taskType: string;
  status: TaskStatus;
  priority: number;
  fileId: string;
  sessionId: string;
  sessionContext: string;
  /** The validated request parameters the task runs with. */
  input: Record<string, unknown>;
  /** Type-specific progress and results, shaped into the task view by the domain mappers. */
  state: Record<string, unknown>;
  errCode: number;
  errCodeExt: string;
  message: string;
  createTime: number;
  beginTime: number | null;
  finishTime: number | null;
  attempts: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
}

export type NewTask = Pick<
  TaskRow,
  | "taskId"
  | "appId"
  | "taskType"
  | "priority"
  | "fileId"
  | "sessionId"
  | "sessionContext"
  | "input"
  | "state"
  | "createTime"
>;

export interface TaskListFilter {
  appId: number;
  status?: string;
  fileId?: string;
  createAfter?: number;
  createBefore?: number;
  finishAfter?: number;
  finishBefore?: number;
  sortField: "CreateTime" | "FinishTime";
  order: "Asc" | "Desc";
  /** Start at this task (inclusive): the ScrollToken of the previous page. */
  fromTaskId?: string;
  /** Tasks created before this are past retention and never listed. */
  notBefore: number;
  limit: number;
}

export interface MediaRow {
  fileId: string;
  appId: number;
  name: string;
  description: string;
  classId: number;
  /** File type as MediaBasicInfo.Type reports it, e.g. "mp4". */
  type: string;
  category: string;
  /** Blob key of the original file. */
  blobKey: string;
  /** Blob key of the cover image, "" when none. */
  coverKey: string;
  metaData: Record<string, unknown>;
  sourceType: string;
  sourceContext: string;
  storageRegion: string;
  expireTime: string;
  tags: string[];
  createTime: number;
  updateTime: number;
}

export interface MediaSearch {
  appId: number;
  fileIds?: string[];
  names?: string[];
  namePrefixes?: string[];
  descriptions?: string[];
  classIds?: number[];
  categories?: string[];
  sourceTypes?: string[];
  mediaTypes?: string[];
  storageRegions?: string[];
  tags?: string[];
  /** Found inside the name or the description. */
  text?: string;
  createAfter?: number;
  createBefore?: number;
  /** Bounds on expire_time, as normalized ISO times (which sort as text). */
  expireAfter?: string;
  expireBefore?: string;
  sortOrder: "Asc" | "Desc";
  offset: number;
  limit: number;
}

export interface AppRow {
  subAppId: number;
  name: string;
  description: string;
  status: "On" | "Off";
  createTime: number;
  isDefault: boolean;
}

export type EventDelivery = "PULL" | "PUSH";

export interface EventConfig {
  mode: EventDelivery;
  notificationUrl: string;
  signKey: string;
  uploadSwitch: "ON" | "OFF";
  deleteSwitch: "ON" | "OFF";
  persistenceSwitch: "ON" | "OFF";
}

export const DEFAULT_EVENT_CONFIG: EventConfig = {
  mode: "PULL",
  notificationUrl: "",
  signKey: "",
  uploadSwitch: "OFF",
  deleteSwitch: "OFF",
  persistenceSwitch: "OFF",
};

export interface NewEvent {
  appId: number;
  eventType: string;
  /** The EventContent without EventHandle, shaped against the spec. */
  content: Record<string, unknown>;
  /** Fixed when the event is created, from the application's mode at that moment. */
  delivery: EventDelivery;
  createTime: number;
}

export interface EventRow extends NewEvent {
  seq: number;
  /** PULL: the handle of the latest pull. */
  handle: string;
  attempts: number;
  /** PULL: when it may be pulled again; PUSH: when the next attempt is due. */
  availableAt: number;
}

/** A custom template of one family (presets live in code, see src/domain/templates). */
export interface TemplateRow {
  appId: number;
  /** e.g. "Transcode", "SnapshotByTimeOffset", "Procedure". */
  family: string;
  /** The Definition, or the Name for procedure templates. */
  key: string;
  /** The template as its Describe action shows it, without Type and times. */
  body: Record<string, unknown>;
  createTime: number;
  updateTime: number;
}

/** One output of media processing kept with a media item (a transcode, a set of snapshots...). */
export interface MediaPart {
  appId: number;
  fileId: string;
  /** "Transcode", "SnapshotByTimeOffset", "SampleSnapshot", "ImageSprite", "AnimatedGraphics", "AdaptiveDynamicStreaming". */
  kind: string;
  definition: number;
  /** The spec item (e.g. MediaTranscodeItem) with blob keys where clients see URLs. */
  item: Record<string, unknown>;
  /** Blob keys (files or `prefix/` directories) to remove with the part. */
  blobs: string[];
  createTime: number;
}

/** What finishing a task changes besides the task row, committed in the same transaction. */
export interface TaskEffects {
  /** Events the finished task emits; written with it so none is lost or emitted for nothing. */
  events?: NewEvent[];
  insertMedia?: MediaRow;
  /** Tasks the finished one starts (e.g. the Procedure a PullUpload names). */
  insertTasks?: NewTask[];
  /** Outputs kept with their media item, replacing earlier parts of the same kind and definition. */
  putParts?: MediaPart[];
  /** A new cover for a media item (CoverBySnapshot). */
  setCover?: { appId: number; fileId: string; coverKey: string };
  /** Shallow-merged into the media's MetaData (e.g. Md5 after DescribeFileAttributes). */
  mergeMetaData?: { appId: number; fileId: string; patch: Record<string, unknown> };
}

export interface TaskFinish {
  errCode: number;
  errCodeExt: string;
  message: string;
  state: Record<string, unknown>;
  finishTime: number;
}

export interface Store {
  close(): Promise<void>;

  // Applications.
  ensureDefaultApp(appId: number, now: number): Promise<void>;
  getApp(subAppId: number): Promise<AppRow | undefined>;
  listApps(offset: number, limit: number): Promise<{ total: number; apps: AppRow[] }>;
  createApp(app: AppRow): Promise<void>;
  updateApp(
    subAppId: number,
    patch: Partial<Pick<AppRow, "name" | "description" | "status">>,
  ): Promise<boolean>;
  nextAppId(floor: number): Promise<number>;

  // Tasks.
  insertTask(task: NewTask): Promise<void>;
  getTask(appId: number, taskId: string): Promise<TaskRow | undefined>;
  findTaskBySession(appId: number, sessionId: string, since: number): Promise<TaskRow | undefined>;
  listTasks(filter: TaskListFilter): Promise<TaskRow[]>;
  /** Atomically takes the next runnable task (WAITING, or PROCESSING with an expired lease). */
  claimTask(owner: string, now: number, leaseMs: number): Promise<TaskRow | undefined>;
  /** Extends the lease and saves progress (with the events it causes); false when the task is no longer ours. */
  heartbeat(
    taskId: string,
    owner: string,
    leaseUntil: number,
    state?: Record<string, unknown>,
    events?: NewEvent[],
  ): Promise<boolean>;
  /** Ends a task FINISH with its effects, only while we still hold it; false otherwise. */
  finishTask(taskId: string, owner: string, finish: TaskFinish, effects?: TaskEffects): Promise<boolean>;
  /**
   * Hands a task we hold back to the queue (an orderly shutdown stopped it): runnable at once,
   * progress saved, and the attempt not counted, since the task did not fail. False if not ours.
   */
  releaseTask(taskId: string, owner: string, state: Record<string, unknown>): Promise<boolean>;
  abortTask(appId: number, taskId: string, now: number): Promise<"aborted" | "notWaiting" | "notFound">;
  /** Embedded mode owns its database: leases (of tasks and of callbacks) left by a killed process are void at once. */
  releaseAllLeases(): Promise<number>;
  purgeTasks(createdBefore: number, limit: number): Promise<number>;
  countRunnable(): Promise<number>;

  // Media.
  getMedia(appId: number, fileId: string): Promise<MediaRow | undefined>;
  updateMedia(
    appId: number,
    fileId: string,
    patch: Partial<
      Pick<
        MediaRow,
        "name" | "description" | "classId" | "expireTime" | "tags" | "coverKey" | "blobKey" | "updateTime"
      >
    >,
  ): Promise<boolean>;
  /** Deletes the media row, writing `events` in the same transaction. */
  deleteMedia(appId: number, fileId: string, events?: NewEvent[]): Promise<MediaRow | undefined>;
  searchMedia(q: MediaSearch): Promise<{ total: number; media: MediaRow[] }>;

  // Media parts.
  getMediaParts(appId: number, fileId: string): Promise<MediaPart[]>;
  /** Removes parts of a kind (all definitions when definition is 0) and returns them. */
  deleteMediaParts(appId: number, fileId: string, kind: string, definition: number): Promise<MediaPart[]>;

  // Custom templates.
  listTemplates(appId: number, family: string): Promise<TemplateRow[]>;
  getTemplate(appId: number, family: string, key: string): Promise<TemplateRow | undefined>;
  /** Inserts or replaces. */
  putTemplate(row: TemplateRow): Promise<void>;
  deleteTemplate(appId: number, family: string, key: string): Promise<boolean>;
  /** The next free numeric key of the application's custom templates (shared by all families). */
  nextTemplateDefinition(appId: number, floor: number): Promise<number>;

  // Events.
  getEventConfig(appId: number): Promise<EventConfig>;
  setEventConfig(appId: number, patch: Partial<EventConfig>): Promise<void>;
  insertEvents(events: NewEvent[]): Promise<void>;
  /** Takes up to `limit` pullable events, hiding them for `hideMs` under fresh handles. */
  pullEvents(appId: number, now: number, hideMs: number, limit: number): Promise<EventRow[]>;
  /** Deletes the events whose handles are current and unexpired; returns the handles that were not. */
  confirmEvents(appId: number, handles: string[], now: number): Promise<string[]>;
  countPullableEvents(appId: number, now: number): Promise<number>;
  /** Claims due PUSH events (at most `perApp` per application, skipping `busyApps`). */
  claimPushEvents(
    now: number,
    leaseMs: number,
    limit: number,
    perApp: number,
    busyApps: number[],
  ): Promise<EventRow[]>;
  /** After a delivery attempt: delivered (delete) or retry at `retryAt` (null = give up). */
  settlePushEvent(seq: number, delivered: boolean, retryAt: number | null, error: string): Promise<void>;
  nextPushDue(): Promise<number | undefined>;
  purgeEvents(createdBefore: number): Promise<number>;
}
