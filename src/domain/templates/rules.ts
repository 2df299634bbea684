// Small declarative checks for template fields: each rule knows how to test a value and how to
// say what it expects, so a family's validation is a table, and every message reads the same:
// "VideoTemplate.Fps must be 0 to 100." with the cloud's error code for the field.
import { ApiError, errors } from "../../protocol/errors.js";

export interface Rule {
  test(v: any): boolean;
  /** What a valid value is, for the message ("0 or 128 to 8192"). */
  text: string;
}

export const oneOf = (...values: Array<string | number>): Rule => ({
  test: (v) => values.includes(v),
  text: `one of ${values.map((x) => (typeof x === "string" ? `"${x}"` : x)).join(", ")}`,
});

export const range = (lo: number, hi: number): Rule => ({
  test: (v) => typeof v === "number" && v >= lo && v <= hi,
  text: `${lo} to ${hi}`,
});

export const zeroOr = (lo: number, hi: number): Rule => ({
  test: (v) => v === 0 || (typeof v === "number" && v >= lo && v <= hi),
  text: `0 or ${lo} to ${hi}`,
});

export const maxLength = (n: number): Rule => ({
  test: (v) => typeof v === "string" && [...v].length <= n,
  text: `at most ${n} characters`,
});

export const matches = (re: RegExp, text: string): Rule => ({ test: (v) => re.test(String(v)), text });

/**
 * Sub-codes of InvalidParameterValue the cloud defines (vod/v20180717/errors.go) for template
 * fields; a field outside this list is reported with the bare InvalidParameterValue.
 */
const CLOUD_SUBCODES = new Set([
  "AiAnalysisTaskDefinition",
  "AiContentReviewTaskDefinition",
  "AiRecognitionTaskDefinition",
  "DeleteDefaultTemplate",
  "ModifyDefaultTemplate",
  "AudioBitrate",
  "AudioChannel",
  "AudioCodec",
  "Bitrate",
  "Codec",
  "ColumnCount",
  "Comment",
  "Container",
  "ContainerType",
  "CoordinateOrigin",
  "Definition",
  "Definitions",
  "DisableHigherVideoBitrate",
  "DisableHigherVideoResolution",
  "DrmType",
  "FillType",
  "Format",
  "Fps",
  "Height",
  "ImageContent",
  "ImageDecodeError",
  "ImageTemplate",
  "Limit",
  "Name",
  "Names",
  "Offset",
  "Quality",
  "RemoveAudio",
  "RemoveVideo",
  "RepeatType",
  "Resolution",
  "ResolutionAdaptive",
  "RowCount",
  "SampleInterval",
  "SampleRate",
  "SampleType",
  "Sort",
  "Switch",
  "TEHDType",
  "TextAlpha",
  "TextTemplate",
  "Type",
  "Vcrf",
  "VideoBitrate",
  "VideoCodec",
  "Width",
  "XPos",
  "YPos",
]);

/** InvalidParameterValue.<sub> when the cloud has that sub-code, else the bare code. */
export function invalid(sub: string, message: string): ApiError {
  return errors.invalidParameterValue(CLOUD_SUBCODES.has(sub) ? sub : undefined, message);
}

/** [rule, error sub-code (default: the field name)] per field. */
export type RuleTable = Record<string, Rule | [Rule, string]>;

/** Checks the fields of `obj` that are present; `path` prefixes field names in messages. */
export function checkFields(obj: Record<string, any> | null | undefined, table: RuleTable, path = ""): void {
  if (!obj) return;
  for (const [field, entry] of Object.entries(table)) {
    const v = obj[field];
    if (v === undefined || v === null) continue;
    const [rule, sub] = Array.isArray(entry) ? entry : [entry, field];
    if (!rule.test(v)) throw invalid(sub, `${path}${field} must be ${rule.text}; got ${JSON.stringify(v)}.`);
  }
}

export const NAME_AND_COMMENT: RuleTable = { Name: maxLength(64), Comment: maxLength(256) };

export const RESOLUTION_ADAPTIVE = oneOf("open", "close");
