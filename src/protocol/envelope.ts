// The {"Response": ...} envelope every API answer travels in, always over HTTP 200: the SDK
// ignores the body of any other status, so an error in any other form is unreadable to it.
import { ApiError } from "./errors.js";

export function okBody(response: Record<string, unknown>, requestId: string): string {
  return JSON.stringify({ Response: { ...response, RequestId: requestId } });
}

export function errorBody(err: ApiError, requestId: string): string {
  return JSON.stringify({
    Response: { Error: { Code: err.code, Message: err.message }, RequestId: requestId },
  });
}
