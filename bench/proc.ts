// Child-process helpers for the bench: CPU time of a process (Linux /proc; undefined elsewhere)
// and a registry that kills what the bench started and removes its temp dirs, even on failure.
import { execFileSync, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";

let ticksPerSec: number | undefined;
function clockTicks(): number {
  if (ticksPerSec === undefined) {
    try {
      ticksPerSec = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSec = 100;
    }
  }
  return ticksPerSec;
}

/** User + system CPU seconds used so far by a process (all its threads), or undefined. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / clockTicks();
  } catch {
    return undefined;
  }
}

/** Everything the bench must undo: async steps run in reverse order, with a sync last resort on exit. */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<void> | void }[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly dirs = new Set<string>();
  private done = false;

  constructor() {
    // If the bench dies without running the async steps, still leave nothing behind.
    process.on("exit", () => this.runSync());
  }

  add(name: string, run: () => Promise<void> | void): void {
    this.steps.push({ name, run });
  }

  child(c: ChildProcess): ChildProcess {
    this.children.add(c);
    c.once("exit", () => this.children.delete(c));
    return c;
  }

  dir(path: string): string {
    this.dirs.add(path);
    return path;
  }

  async run(): Promise<void> {
    if (this.done) return;
    this.done = true;
    for (const step of this.steps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        process.stderr.write(`bench: cleanup "${step.name}" failed: ${String(err)}\n`);
      }
    }
    this.runSync();
  }

  private runSync(): void {
    for (const c of this.children) {
      if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    }
    this.children.clear();
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    this.dirs.clear();
  }
}
