// The {"Response": ...} envelope every API answer travels in, always over HTTP 200: the SDK
// ignores the body of any other status, so an error in any other form is unreadable to it.
import { actionTypes, shapeResponse } from "../schema/index.js";
import { ApiError } from "./errors.js";

/** An action's response already shaped and serialized (without RequestId), e.g. from a cache. */
export class SerializedResponse {
  private head: string | undefined;
  constructor(readonly json: string) {}

  /** `{"Response":{<fields>,"RequestId":` (cached: a cached answer is sent many times). */
  get envelopeHead(): string {
    if (this.head === undefined) {
      const fields = this.json.slice(1, -1);
      this.head = `{"Response":{${fields}${fields ? "," : ""}"RequestId":`;
    }
    return this.head;
  }
}

/** Shapes an action's response fields against the spec's output type and serializes them. */
export function serializeResponse(action: string, response: Record<string, unknown>): SerializedResponse {
  return new SerializedResponse(JSON.stringify(shapeResponse(actionTypes(action)![1], response)));
}

export function okBody(response: SerializedResponse, requestId: string): string {
  return `${response.envelopeHead}${JSON.stringify(requestId)}}}`;
}

export function errorBody(err: ApiError, requestId: string): string {
  return JSON.stringify({
    Response: { Error: { Code: err.code, Message: err.message }, RequestId: requestId },
  });
}
