// Every Tencent error code openvod answers with is spelled once, here. Handlers throw an
// ApiError; the envelope turns it into {"Response":{"Error":{Code,Message},RequestId}} over
// HTTP 200, which is the only error form the official SDKs can read.

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const make =
  (code: string, fallback: string) =>
  (message: string = fallback) =>
    new ApiError(code, message);

export const errors = {
  // Authentication (common platform codes).
  invalidAuthorization: make("AuthFailure.InvalidAuthorization", "Authorization header is invalid."),
  secretIdNotFound: make(
    "AuthFailure.SecretIdNotFound",
    "The SecretId is not found, please ensure that your SecretId is correct.",
  ),
  signatureFailure: make(
    "AuthFailure.SignatureFailure",
    "The provided credentials could not be validated. Please check your signature is correct.",
  ),
  signatureExpire: make(
    "AuthFailure.SignatureExpire",
    "Signature expired. Timestamp is more than 5 minutes away from the server time.",
  ),
  tokenFailure: make("AuthFailure.TokenFailure", "Token is invalid or expired."),

  // Request shape.
  invalidAction: make("InvalidAction", "The action requested is invalid for this service."),
  noSuchVersion: make(
    "NoSuchVersion",
    "The requested version does not exist or is not supported by this service.",
  ),
  missingParameter: make("MissingParameter", "A required parameter is missing."),
  invalidParameter: make("InvalidParameter", "A parameter has an invalid format or type."),
  unknownParameter: make("UnknownParameter", "An unknown parameter was sent."),
  procedureNameNotExist: make("InvalidParameter.ProcedureNameNotExist", "The procedure does not exist."),
  existedProcedureName: make(
    "InvalidParameter.ExistedProcedureName",
    "A procedure template with this name already exists.",
  ),
  invalidStorageRegion: make("InvalidParameter.StorageRegion", "The storage region is not valid."),
  invalidParameterValue: (sub?: string, message = "A parameter value is invalid.") =>
    new ApiError(sub ? `InvalidParameterValue.${sub}` : "InvalidParameterValue", message),
  requestSizeLimitExceeded: make("RequestSizeLimitExceeded", "The request body is too large."),
  invalidRequest: make("InvalidRequest", "The request body could not be parsed."),
  unsupportedProtocol: make("UnsupportedProtocol", "HTTP method or content type is not supported."),
  requestLimitExceeded: make("RequestLimitExceeded", "The request rate for this action exceeds the limit."),

  // Operations.
  unsupportedOperation: make("UnsupportedOperation", "This operation is not supported by openvod."),
  failedOperation: (sub?: string, message = "The operation failed.") =>
    new ApiError(sub ? `FailedOperation.${sub}` : "FailedOperation", message),
  resourceNotFound: (sub?: string, message = "The resource does not exist.") =>
    new ApiError(sub ? `ResourceNotFound.${sub}` : "ResourceNotFound", message),
  limitExceeded: (sub?: string, message = "A limit was exceeded.") =>
    new ApiError(sub ? `LimitExceeded.${sub}` : "LimitExceeded", message),
  internalError: make("InternalError", "An internal error occurred."),
};

/** Task-level numeric error codes, as the cloud sets ErrCode on a finished task. */
export const TaskErrCode = {
  ok: 0,
  badParameter: 40000,
  sourceFile: 60000,
  internal: 70000,
} as const;

/** The ErrCodeExt that goes with a task ErrCode when nothing more precise is known. */
export function taskErrCodeExt(errCode: number): string {
  if (errCode === TaskErrCode.badParameter) return "InvalidParameter";
  if (errCode === TaskErrCode.sourceFile) return "SourceFileError";
  return errCode === TaskErrCode.ok ? "" : "InternalError";
}

/** A failure inside a task: ends the task FINISH with ErrCode/ErrCodeExt/Message set. */
export class TaskFailure extends Error {
  constructor(
    readonly errCode: number,
    readonly errCodeExt: string,
    message: string,
  ) {
    super(message);
    this.name = "TaskFailure";
  }
}
