// The README's generated tables must match the code, so the docs cannot drift.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { supportTable } from "../src/actions/supportTable.js";
import { settingsTable } from "../src/config.js";
import { REPO_ROOT } from "./helpers/server.js";

const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");

function section(name: string): string {
  const m = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(readme);
  assert.ok(m, `README has no ${name} section`);
  return m[1]!;
}

it("lists exactly the implemented actions (regenerate with `npm run docs`)", () => {
  assert.equal(section("support-table"), supportTable());
});

it("documents every setting", () => {
  assert.equal(section("settings-table"), settingsTable());
});
