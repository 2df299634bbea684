// The digital watermarks of transcodes (TraceWatermark, CopyRightWatermark, BlindWatermark) as
// openvod's own invisible mark (src/media/jobs/digitalMark.ts): the key of each (application,
// kind), the 32-bit payload each kind carries, and the texts behind the payloads of copyright
// and blind marks. A mark has room for 32 bits, not for 200 characters: the text is kept in
// the store (rows of the private template family "DigitalMarkText", no Describe action shows
// them) under a keyed hash of itself, and the extraction looks the payload up.
import { createHmac } from "node:crypto";
import { errors } from "../protocol/errors.js";
import type { Deps } from "./deps.js";

export type MarkKind = "Trace" | "CopyRight" | "Blind";

/** What a transcode sub-task embeds (kept in the queued task). */
export interface MarkSpec {
  kind: MarkKind;
  payload: number;
  /** Trace: the Uv (6 hex digits); CopyRight / Blind: the text. */
  value: string;
  /** Blind: the template. */
  definition?: number;
}

const TEXT_FAMILY = "DigitalMarkText";
/** Not a number: template Definitions are allocated above the largest numeric key. */
const textKey = (payload: number) => `mark-${payload >>> 0}`;

/**
 * The key of an application's marks of one kind: HMAC-SHA256 of the server's SecretKey. Marks
 * of another application or kind do not correlate with it; a new SecretKey makes old marks
 * unreadable.
 */
export function markKey(deps: Deps, appId: number, kind: MarkKind): Buffer {
  return createHmac("sha256", deps.config.secretKey).update(`openvod-digital-mark:${appId}:${kind}`).digest();
}

/** The Uv of a trace mark: 6 hexadecimal digits (24 bits), upper case. */
export function parseUv(v: unknown): string {
  const s = typeof v === "string" ? v.trim() : "";
  if (!/^[0-9a-fA-F]{6}$/.test(s))
    throw errors.invalidParameterValue(
      "ExtInfo",
      'A trace watermark needs ExtInfo {"Uv":"<6 hexadecimal digits>"}: the player id it carries.',
    );
  return s.toUpperCase();
}

/** Registers a text (idempotent) and returns the payload that stands for it. */
export async function textPayload(deps: Deps, appId: number, kind: MarkKind, text: string): Promise<number> {
  const family = `${TEXT_FAMILY}:${kind}`;
  const base = createHmac("sha256", markKey(deps, appId, kind))
    .update(text)
    .digest()
    .readUInt32BE(0);
  // A different text under the same hash (1 in 2^32) takes the next free payload.
  for (let i = 0; i < 16; i++) {
    const payload = (base + i) >>> 0;
    const row = await deps.store.getTemplate(appId, family, textKey(payload));
    if (row && row.body.Text === text) return payload;
    if (!row) {
      const now = deps.now();
      await deps.store.putTemplate({
        appId,
        family,
        key: textKey(payload),
        body: { Text: text },
        createTime: now,
        updateTime: now,
      });
      return payload;
    }
  }
  throw errors.internalError("No payload is free for this watermark text.");
}

/** The text a copyright or blind payload stands for, if this application registered it. */
export async function payloadText(
  deps: Deps,
  appId: number,
  kind: MarkKind,
  payload: number,
): Promise<string | undefined> {
  const row = await deps.store.getTemplate(appId, `${TEXT_FAMILY}:${kind}`, textKey(payload));
  return row ? String(row.body.Text ?? "") : undefined;
}

/** The Uv a trace payload carries. */
export function payloadUv(payload: number): string | undefined {
  return payload >>> 24 === 0 ? payload.toString(16).toUpperCase().padStart(6, "0") : undefined;
}
