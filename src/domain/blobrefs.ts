// Stored outputs name their files by blob key ("blob:<key>"), never by URL, so a change of
// OPENVOD_PUBLIC_URL (or a proxy in front) never leaves stale links in the database.
import type { Urls } from "./deps.js";

/** Marks a blob key inside a stored output, to become a URL in every view. */
export const blobRef = (key: string) => `blob:${key}`;

/** Replaces every "blob:<key>" string in a stored output with the URL clients fetch. */
export function withUrls<T>(value: T, urls: Urls): T {
  if (typeof value === "string") return (value.startsWith("blob:") ? urls.file(value.slice(5)) : value) as T;
  if (Array.isArray(value)) return value.map((v) => withUrls(v, urls)) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withUrls(v, urls)])) as T;
  }
  return value;
}
