// Reading results the way the tests check them: a Procedure's sub-task results by type, and
// the files left under a directory.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** MediaProcessResultSet grouped by Type, each entry the non-null sub-task result. */
export function results(detail: any): Record<string, any[]> {
  const byType: Record<string, any[]> = {};
  for (const r of detail.ProcedureTask.MediaProcessResultSet) {
    const field = Object.keys(r).find((k) => k !== "Type" && r[k] !== null)!;
    (byType[r.Type] ??= []).push(r[field]);
  }
  return byType;
}

/** Every file and directory (with a trailing /) under dir, relative to it. */
export function tree(dir: string, prefix = ""): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(rel + "/", ...tree(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out;
}
