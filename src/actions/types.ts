// What an action handler receives and returns. Handlers are thin: check values the schema
// cannot express, call the domain, and return the response fields (shaped against the spec by
// the dispatcher).
import type { Deps } from "../domain/deps.js";
import type { SerializedResponse } from "../protocol/envelope.js";
import type { AppRow } from "../store/types.js";

export interface ActionContext {
  deps: Deps;
  /** The application the request addresses (SubAppId, or the account's default). */
  app: AppRow;
  params: Record<string, any>;
  requestId: string;
}

/** The response fields (shaped by the dispatcher), or a response serialized ahead (a cache hit). */
export type ActionHandler = (ctx: ActionContext) => Promise<Record<string, unknown> | SerializedResponse>;

export interface ActionDef {
  handler: ActionHandler;
  /** False for actions whose SubAppId names the target rather than the caller's app. */
  appScoped?: boolean;
  /** One line for the README's support table. */
  notes: string;
}

export type ActionFamily = Record<string, ActionDef>;
