// Every COS error openvod's object endpoint answers with, spelled once. COS clients read a
// non-2xx reply's `<Error><Code/><Message/><RequestId/></Error>` body and, crucially, treat a
// reply without an `x-cos-request-id` header as a network error (retried, host switched), so
// src/cos/routes.ts sends that header on every reply.

export class CosError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "CosError";
  }
}

const make =
  (status: number, code: string, fallback: string) =>
  (message: string = fallback) =>
    new CosError(status, code, message);

export const cosErrors = {
  // 400
  invalidArgument: make(400, "InvalidArgument", "Invalid argument."),
  invalidDigest: make(400, "InvalidDigest", "The Content-MD5 you specified is not valid."),
  invalidURI: make(400, "InvalidURI", "The object key is not valid."),
  entityTooLarge: make(
    400,
    "EntityTooLarge",
    "Your proposed upload exceeds the maximum allowed object size.",
  ),
  entityTooSmall: make(
    400,
    "EntityTooSmall",
    "Your proposed upload is smaller than the minimum allowed size.",
  ),
  invalidPart: make(400, "InvalidPart", "One or more of the specified parts could not be found."),
  invalidPartOrder: make(400, "InvalidPartOrder", "The list of parts was not in ascending order."),
  malformedXML: make(400, "MalformedXML", "The XML you provided was not well-formed."),
  invalidRequest: make(400, "InvalidRequest", "The request is not valid."),
  // 403
  accessDenied: make(403, "AccessDenied", "Access Denied."),
  invalidAccessKeyId: make(
    403,
    "InvalidAccessKeyId",
    "The access key Id you provided does not exist in our records.",
  ),
  signatureDoesNotMatch: make(
    403,
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided.",
  ),
  requestTimeTooSkewed: make(
    403,
    "RequestTimeTooSkewed",
    "The difference between the request time and the server's time is too large.",
  ),
  // 404
  noSuchUpload: make(404, "NoSuchUpload", "The specified multipart upload does not exist."),
  noSuchKey: make(404, "NoSuchKey", "The specified key does not exist."),
  // 405 / 501 / 500
  methodNotAllowed: make(
    405,
    "MethodNotAllowed",
    "The specified method is not allowed against this resource.",
  ),
  notImplemented: make(501, "NotImplemented", "openvod's COS endpoint does not implement this operation."),
  internalError: make(500, "InternalError", "We encountered an internal error. Please try again."),
};
