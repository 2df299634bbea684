// The API dispatcher: one request in, one {"Response": ...} out, always HTTP 200.
// authenticate → version/action → rate limit → schema validation → application → handler →
// response shaped against the spec.
import { randomUUID } from "node:crypto";
import { actions } from "../actions/index.js";
import type { Deps } from "../domain/deps.js";
import { errorBody, okBody, SerializedResponse, serializeResponse } from "../protocol/envelope.js";
import { ApiError, errors } from "../protocol/errors.js";
import { RateLimiter } from "../protocol/ratelimit.js";
import { ReplayRecord } from "../protocol/replay.js";
import { authenticate, type SignedRequest } from "../protocol/signature.js";
import { assertUtf8Request } from "../protocol/utf8.js";
import { hasAction, validateRequest } from "../schema/index.js";
import type { AppRow } from "../store/types.js";

export const API_VERSION = "2018-07-17";
const APP_CACHE_MS = 1000;

export interface ApiAnswer {
  body: string;
  requestId: string;
  /** The error code, for logging; undefined on success. */
  code?: string;
  action?: string;
}

export function createApi(deps: Deps) {
  const limiter = new RateLimiter(deps.config.rateLimit);
  const replays = new ReplayRecord();
  const keys = new Map([[deps.config.secretId, deps.config.secretKey]]);

  // Applications change rarely; a second-old view of one is fine (and spares a read per request).
  const apps = new Map<number, { app: AppRow | undefined; at: number }>();
  async function lookupApp(id: number): Promise<AppRow | undefined> {
    const now = Date.now();
    const hit = apps.get(id);
    if (hit && now - hit.at < APP_CACHE_MS) return hit.app;
    const app = await deps.store.getApp(id);
    if (apps.size > 10_000) apps.clear();
    apps.set(id, { app, at: now });
    return app;
  }

  async function resolveApp(subAppId: unknown): Promise<AppRow> {
    const id = subAppId === undefined ? deps.config.appId : Number(subAppId);
    const app = await lookupApp(id);
    if (!app || app.status !== "On") {
      throw errors.invalidParameterValue("SubAppId", "The SubAppId does not exist or is not enabled.");
    }
    return app;
  }

  async function dispatch(req: SignedRequest, requestId: string): Promise<{ body: string; action: string }> {
    const nowSec = Math.floor(deps.now() / 1000);
    const auth = authenticate(req, (id) => keys.get(id), nowSec);
    if (auth.replay && !replays.firstSeen(auth.replay.key, auth.replay.untilSec, nowSec)) {
      throw errors.signatureFailure(
        "This request was received before (same SecretId, Timestamp, Nonce and signature); sign every request with a new Nonce.",
      );
    }
    const { action } = auth;
    if (auth.version !== API_VERSION) throw errors.noSuchVersion();
    if (!hasAction(action)) throw errors.invalidAction(`The action ${action} does not exist.`);
    const def = actions.get(action);
    if (!def) throw errors.unsupportedOperation(`openvod does not implement ${action} yet.`);
    if (!limiter.take(`${auth.secretId}/${action}`, deps.now())) throw errors.requestLimitExceeded();
    assertUtf8Request(req);
    const params = validateRequest(action, auth.params, { coerceStrings: auth.coerceStrings });
    const app = def.appScoped === false ? await resolveApp(undefined) : await resolveApp(params.SubAppId);
    const result = await def.handler({ deps, app, params, requestId });
    // The actions that are not app-scoped are the ones that create and modify applications.
    if (def.appScoped === false) apps.clear();
    const response = result instanceof SerializedResponse ? result : serializeResponse(action, result);
    return { body: okBody(response, requestId), action };
  }

  return async function handle(req: SignedRequest): Promise<ApiAnswer> {
    const requestId = randomUUID();
    try {
      const { action, body } = await dispatch(req, requestId);
      return { body, requestId, action };
    } catch (err) {
      if (err instanceof ApiError) return { body: errorBody(err, requestId), requestId, code: err.code };
      deps.log.error({ err, requestId }, "request failed");
      return { body: errorBody(errors.internalError(), requestId), requestId, code: "InternalError" };
    }
  };
}
