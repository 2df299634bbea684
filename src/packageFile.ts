// Files the package ships beside its code (spec/, console/): found by walking up from the
// compiled module, so the same code works from src via tsx, from dist, and once installed.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function packageFile(...segments: string[]): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, ...segments);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`${segments.join("/")} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
