// What an action handler receives and returns. Handlers are thin: check values the schema
// cannot express, call the domain, and return the response fields (shaped against the spec by
// the dispatcher). Parameters are typed from the spec (src/schema/api-types.ts), so reading a
// field the action does not have is a compile error.
import type { Deps } from "../domain/deps.js";
import type { SerializedResponse } from "../protocol/envelope.js";
import type { ActionName, ActionRequest } from "../schema/api-types.js";
import type { AppRow } from "../store/types.js";

export interface ActionContext<A extends ActionName = ActionName> {
  deps: Deps;
  /** The application the request addresses (SubAppId, or the account's default). */
  app: AppRow;
  /** The validated parameters (required members are present: the validator checked them). */
  params: ActionRequest[A];
  requestId: string;
}

/** The response fields (shaped by the dispatcher), or a response serialized ahead (a cache hit). */
export type ActionHandler<A extends ActionName = ActionName> = (
  ctx: ActionContext<A>,
) => Promise<Record<string, unknown> | SerializedResponse>;

export interface ActionDef<A extends ActionName = ActionName> {
  handler: ActionHandler<A>;
  /** False for actions whose SubAppId names the target rather than the caller's app. */
  appScoped?: boolean;
  /** One line for the README's support table. */
  notes: string;
}

export type ActionFamily = { [A in ActionName]?: ActionDef<A> };

/**
 * An action as the dispatcher holds it, whatever its name: it passes the parameters the
 * validator checked for that action (method syntax, so every ActionDef<A> is one).
 */
export interface RegisteredAction {
  handler(ctx: ActionContext<any>): Promise<Record<string, unknown> | SerializedResponse>;
  appScoped?: boolean;
  notes: string;
}
