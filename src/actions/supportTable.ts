// The README's table of supported actions, generated from the registry so it cannot drift
// (test/readme.test.ts compares the two; `openvod support-table` prints it).
import { actionNames } from "../schema/index.js";
import { actions } from "./index.js";

export function supportTable(): string {
  const rows = [...actions.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, def]) => `| ${name} | ${def.notes.replace(/\|/g, "\\|")} |`);
  const others = actionNames().length - actions.size;
  return [
    "| Action | What openvod does |",
    "| --- | --- |",
    ...rows,
    `| *the other ${others} actions of 2018-07-17* | answer \`UnsupportedOperation\` (never a made-up result) |`,
  ].join("\n");
}
