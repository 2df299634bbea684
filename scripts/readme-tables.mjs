// Regenerates the README's generated tables (support and settings) from the built code.
// Usage: npm run build && node scripts/readme-tables.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { supportTable } from "../dist/src/actions/supportTable.js";
import { settingsTable } from "../dist/src/config.js";

const file = new URL("../README.md", import.meta.url);
let readme = readFileSync(file, "utf8");
for (const [name, table] of [
  ["support-table", supportTable()],
  ["settings-table", settingsTable()],
]) {
  const re = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`);
  if (!re.test(readme)) throw new Error(`README has no ${name} section`);
  readme = readme.replace(re, (_m, a, b) => a + table + b);
}
writeFileSync(file, readme);
