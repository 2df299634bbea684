// The API dispatcher: one request in, one {"Response": ...} out, always HTTP 200.
// authenticate → version/action → rate limit → schema validation → application → handler →
// response shaped against the spec.
import { randomUUID } from "node:crypto";
import { actions } from "../actions/index.js";
import type { Deps } from "../domain/deps.js";
import { errorBody, okBody } from "../protocol/envelope.js";
import { ApiError, errors } from "../protocol/errors.js";
import { RateLimiter } from "../protocol/ratelimit.js";
import { authenticate, type SignedRequest } from "../protocol/signature.js";
import { actionTypes, hasAction, shapeResponse, validateRequest } from "../schema/index.js";
import type { AppRow } from "../store/types.js";

export const API_VERSION = "2018-07-17";

export interface ApiAnswer {
  body: string;
  requestId: string;
  /** The error code, for logging; undefined on success. */
  code?: string;
  action?: string;
}

export function createApi(deps: Deps) {
  const limiter = new RateLimiter(deps.config.rateLimit);
  const keys = new Map([[deps.config.secretId, deps.config.secretKey]]);

  async function resolveApp(subAppId: unknown): Promise<AppRow> {
    const id = subAppId === undefined ? deps.config.appId : Number(subAppId);
    const app = await deps.store.getApp(id);
    if (!app || app.status !== "On") {
      throw errors.invalidParameterValue("SubAppId", "The SubAppId does not exist or is not enabled.");
    }
    return app;
  }

  async function dispatch(
    req: SignedRequest,
    requestId: string,
  ): Promise<Record<string, unknown> & { action: string }> {
    const auth = authenticate(req, (id) => keys.get(id), Math.floor(deps.now() / 1000));
    const { action } = auth;
    if (auth.version !== API_VERSION) throw errors.noSuchVersion();
    if (!hasAction(action)) throw errors.invalidAction(`The action ${action} does not exist.`);
    const def = actions.get(action);
    if (!def) throw errors.unsupportedOperation(`openvod does not implement ${action} yet.`);
    if (!limiter.take(`${auth.secretId}/${action}`, deps.now())) throw errors.requestLimitExceeded();
    const params = validateRequest(action, auth.params, { coerceStrings: auth.coerceStrings });
    const app = def.appScoped === false ? await resolveApp(undefined) : await resolveApp(params.SubAppId);
    const result = await def.handler({ deps, app, params, requestId });
    const outputType = actionTypes(action)![1];
    return { ...shapeResponse(outputType, { ...result, RequestId: requestId }), action };
  }

  return async function handle(req: SignedRequest): Promise<ApiAnswer> {
    const requestId = randomUUID();
    try {
      const { action, ...response } = await dispatch(req, requestId);
      return { body: okBody(response, requestId), requestId, action };
    } catch (err) {
      if (err instanceof ApiError) return { body: errorBody(err, requestId), requestId, code: err.code };
      deps.log.error({ err, requestId }, "request failed");
      return { body: errorBody(errors.internalError(), requestId), requestId, code: "InternalError" };
    }
  };
}
