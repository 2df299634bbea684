// The web upload endpoint of vod-js-sdk-v6 (and the mobile SDKs): POST /v3/index.php?Action=
// PrepareUploadUGC | ApplyUploadUGC | CommitUploadUGC with a JSON body {signature, ...}, answered
// {code, message, data} with CORS for any origin (the client upload signature is the
// credential; no cookie is read). It is a translation layer: the signature names the
// application and the options (procedure, classId, sourceContext, ...), and the request goes
// through the ApplyUpload / CommitUpload actions, their validation and their COS endpoint.
//
// Codes: 10001 "invalid request", 10004 "invalid signature" (as the SDK's own tests spell them);
// 10005 for a vodSessionKey that is unknown, expired or committed (old SDKs drop their stored
// session on it); 1000 for an internal error. The cloud's full table is not public.
//
// One-time signatures (oneTimeValid=1) start one upload: a second ApplyUploadUGC with one is
// refused, and its CommitUploadUGC is accepted only for the session it started. The record is
// in the store (src/domain/signatureUses.ts): a restart or another API process honours it.
import { createHmac, randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { actions } from "../actions/index.js";
import type { Deps } from "../domain/deps.js";
import { SignatureUses } from "../domain/signatureUses.js";
import { appliedUpload, type AppliedUpload, type CommittedUpload } from "../domain/uploads.js";
import { ApiError } from "../protocol/errors.js";
import {
  signatureId,
  UploadSignatureError,
  verifyUploadSignature,
  type UploadSignatureParams,
} from "../protocol/uploadSignature.js";
import { validateRequest } from "../schema/index.js";
import type { AppRow } from "../store/types.js";

const PATH = "/v3/index.php";

class UgcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
const invalidRequest = (why: string) => new UgcError(10001, `ugc upload | invalid request: ${why}`);
const invalidSignature = (why: string) => new UgcError(10004, `ugc upload | invalid signature: ${why}`);
const invalidSession = (why: string) => new UgcError(10005, `ugc upload | invalid vodSessionKey: ${why}`);

type Body = Record<string, unknown>;

export async function registerUgc(app: FastifyInstance, deps: Deps): Promise<void> {
  const keys = new Map([[deps.config.secretId, deps.config.secretKey]]);
  const oneTime = new SignatureUses(deps.store, "upload.oneTime");
  /** Whether a one-time signature may belong to this session (first use, or its own session). */
  const claim = (id: string, session: string, sig: UploadSignatureParams) =>
    oneTime.use(id, session, 1, sig.expireTime, deps.now());
  const nowSec = () => Math.floor(deps.now() / 1000);

  const verify = (body: Body): UploadSignatureParams => {
    try {
      return verifyUploadSignature(body.signature, (id) => keys.get(id), nowSec());
    } catch (err) {
      if (err instanceof UploadSignatureError) throw invalidSignature(err.message);
      throw err;
    }
  };

  const appOf = async (sig: UploadSignatureParams): Promise<AppRow> => {
    const id = sig.vodSubAppId ? sig.vodSubAppId : deps.config.appId;
    const row = await deps.store.getApp(id);
    if (!row || row.status !== "On") {
      throw invalidSignature(`the signature's vodSubAppId ${id} is not an enabled application.`);
    }
    return row;
  };

  /** Runs an upload action as the API would (schema validation, then the handler). */
  const run = async (name: "ApplyUpload" | "CommitUpload", row: AppRow, params: Body) => {
    const def = actions.get(name)!;
    const validated = validateRequest(name, params, { coerceStrings: false });
    return await def.handler({ deps, app: row, params: validated, requestId: randomUUID() });
  };

  const applyData = (a: AppliedUpload, row: AppRow) => {
    const cut = a.StorageBucket.lastIndexOf("-");
    return {
      video: { storageSignature: "", storagePath: a.MediaStoragePath },
      ...(a.CoverStoragePath ? { cover: { storageSignature: "", storagePath: a.CoverStoragePath } } : {}),
      storageAppId: Number(a.StorageBucket.slice(cut + 1)),
      storageBucket: a.StorageBucket.slice(0, cut),
      storageRegion: a.StorageRegion,
      storageRegionV5: a.StorageRegion,
      StorageRegionV5: a.StorageRegion,
      domain: "",
      vodSessionKey: a.VodSessionKey,
      tempCertificate: {
        secretId: a.TempCertificate.SecretId,
        secretKey: a.TempCertificate.SecretKey,
        token: a.TempCertificate.Token,
        expiredTime: a.TempCertificate.ExpiredTime,
      },
      appId: row.subAppId,
      timestamp: nowSec(),
    };
  };

  const str = (v: unknown, name: string, max: number): string | undefined => {
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string" || v.length > max)
      throw invalidRequest(`${name} must be a string of at most ${max} characters.`);
    return v;
  };

  const prepare = async (body: Body) => {
    const sig = verify(body);
    const row = await appOf(sig);
    // One region: the SDK then skips its region race.
    return { appId: row.subAppId, cosRegionList: [] };
  };

  const apply = async (body: Body) => {
    const sig = verify(body);
    const row = await appOf(sig);
    const id = signatureId(body.signature as string);
    const sessionKey = str(body.vodSessionKey, "vodSessionKey", 256);
    if (sessionKey) {
      // Resuming: the same session and credentials, while it is open.
      const s = await deps.store.getUploadSession(sessionKey);
      if (!s || s.appId !== row.subAppId || s.expireTime <= deps.now() || s.status !== "OPEN") {
        throw invalidSession("the upload session does not exist, has expired or was committed.");
      }
      if (sig.oneTimeValid && !(await claim(id, s.sessionKey, sig))) {
        throw invalidSignature("this one-time signature was used already.");
      }
      return applyData(appliedUpload(s), row);
    }
    if (body.fileId !== undefined) {
      throw invalidRequest("changing the cover of an existing file is not supported by openvod yet.");
    }
    const videoType = str(body.videoType, "videoType", 16);
    if (!videoType) throw invalidRequest("videoType is required.");
    if (sig.oneTimeValid && (await oneTime.used(id))) {
      throw invalidSignature("this one-time signature was used already.");
    }
    const a = (await run("ApplyUpload", row, {
      MediaType: videoType,
      MediaName: str(body.videoName, "videoName", 1000),
      CoverType: str(body.coverType, "coverType", 16),
      Procedure: sig.procedure,
      ClassId: sig.classId,
      SourceContext: sig.sourceContext,
      SessionContext: sig.sessionContext,
      StorageRegion: str(body.storageRegion, "storageRegion", 64) ?? sig.storageRegion,
      ExpireTime: str(body.ExpireTime, "ExpireTime", 64),
    })) as unknown as AppliedUpload;
    // Claimed after the session exists, so a refused request does not burn the signature.
    if (sig.oneTimeValid && !(await claim(id, a.VodSessionKey, sig))) {
      throw invalidSignature("this one-time signature was used already.");
    }
    return applyData(a, row);
  };

  const verifyContent = (fileId: string, expSec: number) => {
    const text = Buffer.from(`ExpTime=${expSec}&FileId=${fileId}`);
    const mac = createHmac("sha1", deps.config.secretKey).update(text).digest();
    return Buffer.concat([mac, text]).toString("base64");
  };

  const commit = async (body: Body) => {
    const sig = verify(body);
    const row = await appOf(sig);
    const sessionKey = str(body.vodSessionKey, "vodSessionKey", 256);
    if (!sessionKey) throw invalidRequest("vodSessionKey is required.");
    if (sig.oneTimeValid && !(await claim(signatureId(body.signature as string), sessionKey, sig))) {
      throw invalidSignature("this one-time signature was used for another upload.");
    }
    const c = (await run("CommitUpload", row, { VodSessionKey: sessionKey })) as unknown as CommittedUpload;
    const exp = nowSec() + 24 * 3600;
    return {
      fileId: c.FileId,
      video: { url: c.MediaUrl, verify_content: verifyContent(c.FileId, exp) },
      ...(c.CoverUrl ? { cover: { url: c.CoverUrl, verify_content: verifyContent(c.FileId, exp) } } : {}),
    };
  };

  const handlers: Record<string, (body: Body) => Promise<unknown>> = {
    PrepareUploadUGC: prepare,
    ApplyUploadUGC: apply,
    CommitUploadUGC: commit,
  };

  const cors = (req: FastifyRequest, reply: FastifyReply) => {
    reply.header("access-control-allow-origin", "*");
    if (req.method === "OPTIONS") {
      const asked = req.headers["access-control-request-headers"];
      reply
        .header("access-control-allow-methods", "POST, OPTIONS")
        .header("access-control-allow-headers", typeof asked === "string" ? asked : "content-type")
        .header("access-control-max-age", "600");
    }
  };

  app.route({
    method: ["POST", "OPTIONS"],
    url: PATH,
    handler: async (req, reply) => {
      cors(req, reply);
      if (req.method === "OPTIONS") return reply.code(204).send();
      const action = (req.query as Record<string, unknown>).Action;
      let answer: { code: number; message: string; data?: unknown };
      try {
        const handler =
          typeof action === "string" && Object.hasOwn(handlers, action) ? handlers[action] : undefined;
        if (!handler) throw invalidRequest(`unknown Action ${String(action).slice(0, 64)}.`);
        let body: unknown;
        try {
          body = JSON.parse(Buffer.isBuffer(req.body) ? req.body.toString("utf8") : "");
        } catch {
          throw invalidRequest("the body is not JSON.");
        }
        if (!body || typeof body !== "object" || Array.isArray(body))
          throw invalidRequest("the body is not a JSON object.");
        answer = { code: 0, message: "", data: await handler(body as Body) };
      } catch (err) {
        answer = toAnswer(err, deps);
      }
      return reply.code(200).type("application/json; charset=utf-8").send(JSON.stringify(answer));
    },
  });
}

function toAnswer(err: unknown, deps: Deps): { code: number; message: string } {
  if (err instanceof UgcError) return { code: err.code, message: err.message };
  if (err instanceof ApiError) {
    const e =
      err.code === "InvalidParameterValue.VodSessionKey"
        ? invalidSession(err.message)
        : invalidRequest(`${err.code}: ${err.message}`);
    return { code: e.code, message: e.message };
  }
  deps.log.error({ err }, "web upload request failed");
  return { code: 1000, message: "ugc upload | internal error" };
}
