// The client upload signature (Tencent doc 266/9221): what an application's server hands to a
// browser or phone so that vod-js-sdk-v6 and the mobile SDKs may upload into VOD without the
// API key. signature = base64(HMAC-SHA1(SecretKey, original) ‖ original), where `original` is a
// URL-encoded query string (secretId, currentTimeStamp, expireTime, random, and optional
// procedure, classId, oneTimeValid, sourceContext, sessionContext, vodSubAppId, storageRegion,
// taskPriority, taskNotifyMode). Nothing here knows about uploads: it signs and verifies.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** The longest validity the cloud accepts: 90 days. */
export const MAX_VALIDITY_SEC = 7_776_000;
/** How far currentTimeStamp may lie ahead of this clock (the signing server's clock drifts). */
const MAX_FUTURE_SEC = 300;
const HMAC_BYTES = 20;
const MAX_SIGNATURE_CHARS = 8192;

export interface UploadSignatureParams {
  secretId: string;
  currentTimeStamp: number;
  expireTime: number;
  random: number;
  procedure?: string;
  classId?: number;
  oneTimeValid?: 0 | 1;
  sourceContext?: string;
  sessionContext?: string;
  vodSubAppId?: number;
  storageRegion?: string;
  taskPriority?: number;
  taskNotifyMode?: string;
}

/** A signature openvod refused: why, in words that never repeat the key. */
export class UploadSignatureError extends Error {
  constructor(
    readonly reason: "invalid" | "expired",
    message: string,
  ) {
    super(message);
  }
}

/** Signs as the docs' server samples do (for `openvod sign-upload`, scripts and tests). */
export function signUpload(secretKey: string, p: UploadSignatureParams): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined) q.set(k, String(v));
  const original = Buffer.from(q.toString());
  const mac = createHmac("sha1", secretKey).update(original).digest();
  return Buffer.concat([mac, original]).toString("base64");
}

/** A stable name for a signature (the one-time record, the session it started). */
export function signatureId(signature: string): string {
  return createHash("sha256").update(signature).digest("base64url");
}

const integer = (v: string | null, name: string, min: number, max: number): number | undefined => {
  if (v === null || v === "") return undefined;
  if (!/^-?\d{1,20}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UploadSignatureError("invalid", `The signature's ${name} is not an integer in ${min}..${max}.`);
  }
  return Number(v);
};

/**
 * Checks a signature against the key of its secretId and the clock; returns what it grants.
 * Every failure is an UploadSignatureError.
 */
export function verifyUploadSignature(
  signature: unknown,
  lookupSecretKey: (secretId: string) => string | undefined,
  nowSec: number,
): UploadSignatureParams {
  if (typeof signature !== "string" || !signature || signature.length > MAX_SIGNATURE_CHARS) {
    throw new UploadSignatureError("invalid", "The signature is missing or too long.");
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) {
    throw new UploadSignatureError("invalid", "The signature is not base64.");
  }
  const raw = Buffer.from(signature, "base64");
  if (raw.length <= HMAC_BYTES) throw new UploadSignatureError("invalid", "The signature is too short.");
  const mac = raw.subarray(0, HMAC_BYTES);
  const original = raw.subarray(HMAC_BYTES);
  const q = new URLSearchParams(original.toString("utf8"));
  const secretId = q.get("secretId") ?? "";
  const key = secretId ? lookupSecretKey(secretId) : undefined;
  if (!key)
    throw new UploadSignatureError("invalid", "The signature's secretId is not a key of this account.");
  const expected = createHmac("sha1", key).update(original).digest();
  if (!timingSafeEqual(mac, expected)) {
    throw new UploadSignatureError("invalid", "The signature does not match its content.");
  }

  const currentTimeStamp = integer(q.get("currentTimeStamp"), "currentTimeStamp", 0, 2 ** 40);
  const expireTime = integer(q.get("expireTime"), "expireTime", 0, 2 ** 40);
  const random = integer(q.get("random"), "random", 0, 2 ** 32 - 1);
  if (currentTimeStamp === undefined || expireTime === undefined || random === undefined) {
    throw new UploadSignatureError("invalid", "The signature lacks currentTimeStamp, expireTime or random.");
  }
  if (expireTime <= currentTimeStamp || expireTime - currentTimeStamp > MAX_VALIDITY_SEC) {
    throw new UploadSignatureError(
      "invalid",
      `The signature's expireTime must be after currentTimeStamp and at most ${MAX_VALIDITY_SEC} s later.`,
    );
  }
  if (currentTimeStamp > nowSec + MAX_FUTURE_SEC) {
    throw new UploadSignatureError("invalid", "The signature's currentTimeStamp is in the future.");
  }
  if (expireTime <= nowSec) throw new UploadSignatureError("expired", "The signature has expired.");

  const oneTime = integer(q.get("oneTimeValid"), "oneTimeValid", 0, 1);
  const text = (name: string, max: number): string | undefined => {
    const v = q.get(name);
    if (v === null || v === "") return undefined;
    if (v.length > max)
      throw new UploadSignatureError("invalid", `The signature's ${name} is longer than ${max} characters.`);
    return v;
  };
  return {
    secretId,
    currentTimeStamp,
    expireTime,
    random,
    procedure: text("procedure", 200),
    classId: integer(q.get("classId"), "classId", 0, 2 ** 53 - 1),
    oneTimeValid: oneTime === 1 ? 1 : oneTime === 0 ? 0 : undefined,
    sourceContext: text("sourceContext", 250),
    sessionContext: text("sessionContext", 1000),
    vodSubAppId: integer(q.get("vodSubAppId"), "vodSubAppId", 0, 2 ** 53 - 1),
    storageRegion: text("storageRegion", 64),
    taskPriority: integer(q.get("taskPriority"), "taskPriority", -10, 10),
    taskNotifyMode: text("taskNotifyMode", 16),
  };
}
