// Identifiers shaped like the cloud's, so clients that log or pattern-match them see what
// they would see in production. Clients must treat them as opaque; we only keep the shapes.
import { randomBytes, randomInt } from "node:crypto";

/** Kind labels used inside TaskIds, per action (casing follows the cloud's own examples). */
export const TASK_ID_KIND = {
  PullUpload: "pull",
  Procedure: "procedurev2",
  DescribeFileAttributesTask: "DescribeFileAttributes",
} as const;

/** `<appid>-<kind>-<32 hex>t0`, e.g. `1250000000-pull-0f3c...t0`. */
export function newTaskId(appId: number, kind: string): string {
  return `${appId}-${kind}-${randomBytes(16).toString("hex")}t0`;
}

/** FileIds are decimal strings of 19 digits, like `5285890784246869930`. */
export function newFileId(): string {
  return String(randomInt(1, 9)) + String(randomBytes(8).readBigUInt64BE() % 10n ** 18n).padStart(18, "0");
}

/** ISO-8601 UTC without milliseconds, as the cloud prints times: `2019-02-21T08:27:42Z`. */
export function isoTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Parses an ISO-8601 time as clients send it; undefined when unparseable. */
export function parseIsoTime(s: string): number | undefined {
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? ms : undefined;
}

export const NEVER_EXPIRES = "9999-12-31T23:59:59Z";
