// A strict check of an answer against the spec's types, written apart from src/schema (which
// shapes answers on the way out) so that a shaping bug cannot hide itself: every key is a member
// of its type, every output_required member is there, null only where the spec allows it, each
// value of its member's kind, objects and lists checked all the way down. Reads the compact
// schema the repository keeps (spec/vod-schema.json, derived from api.json by scripts/gen-schema.mjs).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "./server.js";

type Row = [name: string, kind: string, member: string, flags: number, maxItems?: number];
interface Schema {
  actions: Record<string, [string, string]>;
  objects: Record<string, Row[]>;
}

const OUTPUT_REQUIRED = 2;
const NULLABLE = 4;

let schema: Schema | undefined;
const load = (): Schema =>
  (schema ??= JSON.parse(readFileSync(join(REPO_ROOT, "spec/vod-schema.json"), "utf8")) as Schema);

/** The output type of an action (DescribeTaskDetail → DescribeTaskDetailResponse). */
export function responseType(action: string): string {
  const a = load().actions[action];
  if (!a) throw new Error(`no action ${action} in the spec`);
  return a[1];
}

/** Every departure of value from typeName, as "Path.To.Member: what is wrong" lines. */
export function shapeProblems(typeName: string, value: unknown, path = typeName): string[] {
  const rows = load().objects[typeName];
  if (!rows) return [`${path}: the spec has no type ${typeName}`];
  if (!isObject(value)) return [`${path}: expected an object, got ${JSON.stringify(value)}`];
  const out: string[] = [];
  const byName = new Map(rows.map((r) => [r[0], r]));
  for (const key of Object.keys(value))
    if (!byName.has(key)) out.push(`${path}.${key}: not a member of ${typeName}`);
  for (const [name, kind, member, flags] of rows) {
    const v = value[name];
    const where = `${path}.${name}`;
    if (v === undefined) {
      if (flags & OUTPUT_REQUIRED) out.push(`${where}: missing (output_required)`);
      continue;
    }
    if (v === null) {
      if (!(flags & NULLABLE)) out.push(`${where}: null, which the spec does not allow`);
      continue;
    }
    if (kind === "list") {
      if (!Array.isArray(v)) out.push(`${where}: expected a list, got ${JSON.stringify(v)}`);
      else v.forEach((e, i) => out.push(...valueProblems(member, e, `${where}[${i}]`)));
    } else out.push(...valueProblems(member, v, where));
  }
  return out;
}

function valueProblems(member: string, v: unknown, where: string): string[] {
  const ok: Record<string, (x: unknown) => boolean> = {
    string: (x) => typeof x === "string",
    datetime_iso: (x) => typeof x === "string",
    int64: (x) => Number.isInteger(x),
    uint64: (x) => Number.isInteger(x) && (x as number) >= 0,
    float: (x) => typeof x === "number" && Number.isFinite(x),
    bool: (x) => typeof x === "boolean",
  };
  const scalar = ok[member];
  if (scalar) return scalar(v) ? [] : [`${where}: expected ${member}, got ${JSON.stringify(v)}`];
  return shapeProblems(member, v, where);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Fails with every problem listed when value is not exactly of typeName. */
export function assertShape(typeName: string, value: unknown): void {
  const problems = shapeProblems(typeName, value);
  if (problems.length) throw new Error(`not a strict ${typeName}:\n  ${problems.slice(0, 30).join("\n  ")}`);
}
