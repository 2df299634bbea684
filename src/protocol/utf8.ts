// Parameters must arrive as UTF-8 text. The body and query are decoded leniently (the signature
// covers the raw bytes), which turns a broken byte sequence, e.g. a lone surrogate encoded as
// CESU-8 (ED B0 80), into U+FFFD replacement characters: the value would be stored altered and
// never found again. So the raw request is checked first, and refused when it is not UTF-8.

import { isUtf8 } from "node:buffer";
import { errors } from "./errors.js";
import type { SignedRequest } from "./signature.js";

/** True when every percent-encoded byte run of a form/query string decodes as UTF-8. */
function percentRunsAreUtf8(text: string): boolean {
  for (const run of text.match(/(?:%[0-9a-fA-F]{2})+/g) ?? []) {
    try {
      decodeURIComponent(run);
    } catch {
      return false;
    }
  }
  return true;
}

const isForm = (req: SignedRequest) =>
  /^\s*application\/x-www-form-urlencoded\b/i.test(String(req.headers["content-type"] ?? ""));

/**
 * Throws InvalidParameterValue unless the body and the query string are UTF-8 text, percent-
 * encoded form values included (a JSON body's text is its own: "%FF" in a URL there is literal).
 */
export function assertUtf8Request(req: SignedRequest): void {
  const ok =
    isUtf8(req.body) &&
    percentRunsAreUtf8(req.rawQuery) &&
    (!isForm(req) || percentRunsAreUtf8(req.body.toString("utf8")));
  if (!ok)
    throw errors.invalidParameterValue(
      undefined,
      "The request parameters are not valid UTF-8 (a lone surrogate or a broken byte sequence).",
    );
}
