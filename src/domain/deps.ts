// The services every action and task handler works with, built once at start.
import type { Logger } from "pino";
import type { BlobStore } from "../blobs/types.js";
import type { Config } from "../config.js";
import type { MediaTools } from "../media/tools.js";
import type { Store } from "../store/types.js";
import type { EventHub } from "./events.js";

/** Where clients fetch files: OPENVOD_PUBLIC_URL, or the listening address once known. */
export class Urls {
  base = "";
  file(key: string): string {
    return key ? `${this.base}/files/${key}` : "";
  }
}

export interface Deps {
  config: Config;
  store: Store;
  blobs: BlobStore;
  tools: MediaTools;
  urls: Urls;
  log: Logger;
  events: EventHub;
  /** Wakes idle workers after a task was queued. */
  wakeWorkers(): void;
  now(): number;
}
