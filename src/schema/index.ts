// Why this exists: the official SDKs only interoperate if openvod accepts the same parameters and
// answers with exactly the cloud's response shape. This module loads the compact schema derived
// from api.json (spec/vod-schema.json, written by scripts/gen-schema.mjs) once, precomputes
// per-type member maps, and offers the two hot-path operations: validateRequest (incoming
// parameters, both TC3 JSON and legacy form/query) and shapeResponse (outgoing objects).
//
// spec/vod-schema.json format:
//   { "version": "2018-07-17",
//     "actions": { "<Action>": ["<InputType>", "<OutputType>"] },
//     "objects": { "<Type>": [ [name, kind, member, flags, maxItems?], ... ] } }   (api.json order)
//   kind:   "string" | "int" | "float" | "bool" | "object" | "list"
//   member: object type name, or "string" | "int64" | "uint64" | "float" | "bool" | "datetime_iso"
//   flags:  bitmask 1 = required, 2 = output_required, 4 = value_allowed_null, 8 = disabled
//   maxItems: lists only, when the spec's prose states a length limit for requests

import { readFileSync } from "node:fs";
import { packageFile } from "../packageFile.js";
import { errors, type ApiError } from "../protocol/errors.js";

export type MemberKind = "string" | "int" | "float" | "bool" | "object" | "list";

export interface SchemaMember {
  readonly name: string;
  readonly kind: MemberKind;
  /** Object type name, or the scalar (element) type: string, int64, uint64, float, bool, datetime_iso. */
  readonly member: string;
  readonly required: boolean;
  readonly outputRequired: boolean;
  readonly nullable: boolean;
  readonly disabled: boolean;
  /** Longest list a request may send, when the spec states one. */
  readonly maxItems: number | undefined;
}

export const FLAG_REQUIRED = 1;
export const FLAG_OUTPUT_REQUIRED = 2;
export const FLAG_NULLABLE = 4;
export const FLAG_DISABLED = 8;

/** Scalar check selector: the value kind of a scalar member or of a list element. */
type Scalar = "string" | "int" | "uint" | "float" | "bool";

interface Member extends SchemaMember {
  /** "<Type>.<member>". */
  key: string;
  /** Resolved object type for kind object, or for a list of objects. */
  type: TypeInfo | undefined;
  /** Scalar kind for scalar members and lists of scalars. */
  scalar: Scalar | undefined;
}

interface TypeInfo {
  readonly name: string;
  readonly members: Member[];
  readonly byName: Map<string, Member>;
  readonly required: Member[];
}

interface Schema {
  version: string;
  actions: Map<string, readonly [string, string]>;
  types: Map<string, TypeInfo>;
}

type RawSchema = {
  version: string;
  actions: Record<string, [string, string]>;
  objects: Record<string, [string, MemberKind, string, number, number?][]>;
};

let cached: Schema | undefined;

const SCALAR_OF: Record<string, Scalar> = {
  string: "string",
  datetime_iso: "string",
  int64: "int",
  uint64: "uint",
  float: "float",
  bool: "bool",
};

function load(): Schema {
  if (cached) return cached;
  const raw = JSON.parse(readFileSync(packageFile("spec", "vod-schema.json"), "utf8")) as RawSchema;
  const types = new Map<string, TypeInfo>();
  for (const [name, list] of Object.entries(raw.objects)) {
    const members: Member[] = list.map(([n, kind, member, flags, maxItems]) => ({
      key: `${name}.${n}`,
      name: n,
      kind,
      member,
      required: (flags & FLAG_REQUIRED) !== 0,
      outputRequired: (flags & FLAG_OUTPUT_REQUIRED) !== 0,
      nullable: (flags & FLAG_NULLABLE) !== 0,
      disabled: (flags & FLAG_DISABLED) !== 0,
      maxItems,
      type: undefined,
      scalar: kind === "object" ? undefined : SCALAR_OF[member],
    }));
    types.set(name, {
      name,
      members,
      byName: new Map(members.map((m) => [m.name, m])),
      required: members.filter((m) => m.required),
    });
  }
  for (const t of types.values())
    for (const m of t.members) {
      if (m.kind === "object" || (m.kind === "list" && m.scalar === undefined)) {
        m.type = types.get(m.member);
        if (!m.type) throw new Error(`vod-schema: ${t.name}.${m.name} refers to unknown type ${m.member}`);
      }
    }
  const actions = new Map<string, readonly [string, string]>();
  for (const [name, io] of Object.entries(raw.actions)) actions.set(name, [io[0], io[1]]);
  cached = { version: raw.version, actions, types };
  return cached;
}

function typeOf(name: string): TypeInfo {
  const t = load().types.get(name);
  if (!t) throw new Error(`vod-schema: unknown type ${name}`);
  return t;
}

export function schemaVersion(): string {
  return load().version;
}

export function hasAction(name: string): boolean {
  return load().actions.has(name);
}

export function actionNames(): string[] {
  return [...load().actions.keys()];
}

/** [InputType, OutputType] of an action, or undefined when the action does not exist. */
export function actionTypes(name: string): readonly [input: string, output: string] | undefined {
  return load().actions.get(name);
}

export function hasType(name: string): boolean {
  return load().types.has(name);
}

/** Parsed members of an object type, in api.json order. Throws for an unknown type. */
export function objectMembers(typeName: string): readonly SchemaMember[] {
  return typeOf(typeName).members;
}

// ---------------------------------------------------------------------------------------------
// Request validation

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const MAX = BigInt(Number.MAX_SAFE_INTEGER);
const MIN = BigInt(Number.MIN_SAFE_INTEGER);

const invalidType = (path: string, type: string) =>
  errors.invalidParameter(`The parameter \`${path}\` should be of type ${type}.`);

/** The member name a path ends in ("A.0.B.1" → "B"), for the InvalidParameterValue.<Name> code. */
const leafName = (path: string) =>
  path
    .split(".")
    .filter((seg) => !INT_RE.test(seg))
    .pop() ?? "";
const invalidValue = (path: string, message: string) =>
  errors.invalidParameterValue(leafName(path), `The parameter \`${path}\` ${message}`);

/**
 * Lists the spec gives no length for are still capped, and so is the request as a whole: every
 * list ends up as SQL parameters or as ffmpeg work, and the cloud itself bounds every list it
 * documents at 100 or less. Both caps are far above any official example.
 */
export const DEFAULT_MAX_ITEMS = 1000;
export const MAX_REQUEST_VALUES = 10_000;

/** The cloud's own error for the lists it has a dedicated code for; InvalidParameterValue.<Name> else. */
const OVER_CAP: Record<string, (message: string) => ApiError> = {
  "DescribeMediaInfosRequest.FileIds": (m) => errors.invalidParameterValue("FileIdsTooMany", m),
  "ModifyMediaInfoRequest.AddTags": (m) => errors.limitExceeded("TagCountReachMax", m),
  "ModifyMediaInfoRequest.AddKeyFrameDescs": (m) => errors.limitExceeded("KeyFrameDescCountReachMax", m),
};

/** State of one validation walk. */
interface Walk {
  coerce: boolean;
  /** Values (objects, list elements, scalars) the request may still contain. */
  left: number;
}

// Lone surrogates cannot be stored as UTF-8 (they come back as U+FFFD, so the value is never
// found again) and NUL ends C strings (ffmpeg filter arguments, file names): both are refused in
// every string. Other C0 controls are refused too, except tab, LF and CR, which descriptions and
// watermark texts may legitimately contain; names are single-line, so they refuse those as well.
// With the u flag a surrogate pair is one code point, so this matches only unpaired halves.
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const C0_ANYWHERE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
const C0_IN_NAME = /[\u0000-\u001f]/;
const isNameMember = (name: string) => /Names?$|NamePrefixes$/.test(name);

function checkString(v: string, path: string): string {
  if (LONE_SURROGATE.test(v)) throw invalidValue(path, "contains a lone UTF-16 surrogate.");
  const bad = (isNameMember(leafName(path)) ? C0_IN_NAME : C0_ANYWHERE).exec(v);
  if (bad) {
    const code = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    throw invalidValue(path, `contains the control character U+${code}.`);
  }
  return v;
}

/** Integer from a number / bigint (and, when coercing, a decimal string); undefined when not one. */
function toInt(v: unknown, coerce: boolean): number | bigint | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? v : undefined;
  if (typeof v === "bigint") return v >= MIN && v <= MAX ? Number(v) : v;
  if (coerce && typeof v === "string" && INT_RE.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : BigInt(v);
  }
  return undefined;
}

function checkScalar(s: Scalar, v: unknown, path: string, coerce: boolean): unknown {
  switch (s) {
    case "string":
      if (typeof v === "string") return checkString(v, path);
      if (coerce && (typeof v === "number" || typeof v === "boolean")) return String(v);
      throw invalidType(path, "string");
    case "int":
    case "uint": {
      const n = toInt(v, coerce);
      if (n === undefined) throw invalidType(path, "int");
      if (s === "uint" && n < 0) throw invalidType(path, "uint64");
      return n;
    }
    case "float": {
      const n =
        typeof v === "number" ? v : coerce && typeof v === "string" && FLOAT_RE.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw invalidType(path, "float");
      return n;
    }
    case "bool":
      if (typeof v === "boolean") return v;
      if (coerce && typeof v === "string") {
        const l = v.toLowerCase();
        if (l === "true" || l === "1") return true;
        if (l === "false" || l === "0") return false;
      }
      throw invalidType(path, "bool");
  }
}

/** Legacy un-flattening yields {"0":a,"1":b} for lists: turn consecutive numeric keys into an array. */
function asArray(v: unknown, coerce: boolean): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (!coerce || !isPlainObject(v)) return undefined;
  const keys = Object.keys(v);
  const out = new Array<unknown>(keys.length);
  for (const k of keys) {
    const i = INT_RE.test(k) ? Number(k) : -1;
    if (!(i >= 0 && i < keys.length) || String(i) !== k) return undefined;
    out[i] = v[k];
  }
  return out;
}

/** Counts n more values against the request's budget. */
function spend(w: Walk, n: number): void {
  w.left -= n;
  if (w.left < 0)
    throw errors.invalidParameterValue(
      undefined,
      `The request contains more than ${MAX_REQUEST_VALUES} parameter values.`,
    );
}

function checkObject(t: TypeInfo, v: unknown, path: string, w: Walk): Record<string, unknown> {
  if (!isPlainObject(v))
    throw path
      ? invalidType(path, "object")
      : errors.invalidParameter("The request parameters should be an object.");
  const prefix = path ? path + "." : "";
  const out: Record<string, unknown> = {};
  const keys = Object.keys(v);
  spend(w, keys.length);
  for (const key of keys) {
    const m = t.byName.get(key);
    if (!m) throw errors.unknownParameter(`The parameter \`${prefix}${key}\` is not recognized.`);
    const x = v[key];
    if (x === null || x === undefined) continue; // treated as absent
    out[key] = checkMember(m, x, prefix + key, w);
  }
  for (const m of t.required)
    if (out[m.name] === undefined)
      throw errors.missingParameter(`The parameter \`${prefix}${m.name}\` is missing.`);
  return out;
}

function checkMember(m: Member, v: unknown, path: string, w: Walk): unknown {
  if (m.kind === "object") return checkObject(m.type!, v, path, w);
  if (m.kind !== "list") return checkScalar(m.scalar!, v, path, w.coerce);
  const arr = asArray(v, w.coerce);
  if (!arr) throw invalidType(path, "list");
  const max = m.maxItems ?? DEFAULT_MAX_ITEMS;
  if (arr.length > max) {
    const message = `has ${arr.length} elements; at most ${max} are allowed.`;
    const own = OVER_CAP[m.key];
    throw own ? own(`The parameter \`${path}\` ${message}`) : invalidValue(path, message);
  }
  spend(w, arr.length);
  const out = new Array<unknown>(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const e = arr[i];
    const p = `${path}.${i}`;
    if (e === null || e === undefined) throw invalidType(p, m.type ? "object" : m.scalar!);
    out[i] = m.type ? checkObject(m.type, e, p, w) : checkScalar(m.scalar!, e, p, w.coerce);
  }
  return out;
}

/**
 * Validate (and, for legacy signatures, coerce) an action's request parameters against its input
 * type. Common parameters (Action, Version, Region, Timestamp, Nonce, SecretId, Signature, ...)
 * must be stripped by the caller. Returns a new object; the input is not mutated.
 * Throws ApiError InvalidAction / MissingParameter / InvalidParameter / UnknownParameter, and
 * InvalidParameterValue for a list longer than its cap, a request with too many values, or a
 * string with a lone surrogate or a forbidden control character.
 */
export function validateRequest(
  action: string,
  params: Record<string, unknown>,
  opts: { coerceStrings: boolean },
): Record<string, unknown> {
  const io = load().actions.get(action);
  if (!io) throw errors.invalidAction();
  return checkObject(typeOf(io[0]), params, "", { coerce: opts.coerceStrings, left: MAX_REQUEST_VALUES });
}

// ---------------------------------------------------------------------------------------------
// Response shaping

const NUM_RE = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const NONE = Symbol("none");

function shapeScalar(s: Scalar, v: unknown): unknown {
  switch (s) {
    case "string":
      if (typeof v === "string") return v;
      if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
      if (v instanceof Date) return v.toISOString().replace(/\.\d{3}Z$/, "Z");
      return NONE;
    case "int":
    case "uint":
    case "float": {
      const n =
        typeof v === "number"
          ? v
          : typeof v === "bigint"
            ? Number(v)
            : typeof v === "string" && NUM_RE.test(v)
              ? Number(v)
              : typeof v === "boolean"
                ? Number(v)
                : NaN;
      if (!Number.isFinite(n)) return NONE;
      return s === "float" ? n : Math.round(n);
    }
    case "bool":
      if (typeof v === "boolean") return v;
      if (v === 1 || v === "true" || v === "1") return true;
      if (v === 0 || v === "false" || v === "0") return false;
      return NONE;
  }
}

function defaultFor(m: Member): unknown {
  if (m.nullable) return null;
  switch (m.kind) {
    case "string":
      return "";
    case "int":
    case "float":
      return 0;
    case "bool":
      return false;
    case "list":
      return [];
    case "object":
      return shapeObject(m.type!, {}, false);
  }
}

function shapeMember(m: Member, v: unknown, strict: boolean, where: string): unknown {
  if (m.kind === "object") {
    if (isPlainObject(v)) return shapeObject(m.type!, v, strict);
  } else if (m.kind === "list") {
    if (Array.isArray(v)) {
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) {
        const e = v[i];
        if (e === null || e === undefined) out[i] = null;
        else if (m.type) {
          if (!isPlainObject(e)) return NONE;
          out[i] = shapeObject(m.type, e, strict);
        } else {
          const x = shapeScalar(m.scalar!, e);
          if (x === NONE) return NONE;
          out[i] = x;
        }
      }
      return out;
    }
  } else {
    const x = shapeScalar(m.scalar!, v);
    if (x !== NONE) return x;
  }
  if (strict)
    throw new Error(`shapeResponse: ${where}.${m.name} cannot be shaped as ${m.kind} (${m.member})`);
  return NONE;
}

function shapeObject(t: TypeInfo, value: Record<string, unknown>, strict: boolean): Record<string, unknown> {
  if (strict)
    for (const key of Object.keys(value))
      if (!t.byName.has(key)) throw new Error(`shapeResponse: type ${t.name} has no member ${key}`);
  const out: Record<string, unknown> = {};
  for (const m of t.members) {
    const v = value[m.name];
    let x: unknown = NONE;
    if (v === null) x = null;
    else if (v !== undefined) x = shapeMember(m, v, strict, t.name);
    if (x === NONE) {
      if (!m.outputRequired) continue;
      x = defaultFor(m);
    }
    out[m.name] = x;
  }
  return out;
}

/**
 * Produce an object in exactly the spec's shape and member order for typeName: values are coerced
 * to the member types, absent output_required members get typed defaults (null when nullable),
 * absent optional members are omitted and unknown keys are dropped (with OPENVOD_STRICT_SHAPE=1,
 * unknown keys and unconvertible values throw instead).
 */
export function shapeResponse(typeName: string, value: Record<string, unknown>): Record<string, unknown> {
  return shapeObject(typeOf(typeName), value, process.env.OPENVOD_STRICT_SHAPE === "1");
}
