// What this ffmpeg build can do (encoders, filters), listed once per binary.
import { runProcess } from "../run.js";
import type { MediaTools } from "../tools.js";
import type { JobContext } from "./types.js";
import { mapError } from "./ffmpeg.js";

export interface Capabilities {
  encoders: Set<string>;
  filters: Set<string>;
}

const capsCache = new Map<string, Promise<Capabilities>>();

export function capabilities(tools: MediaTools): Promise<Capabilities> {
  let p = capsCache.get(tools.ffmpeg);
  if (!p) {
    p = (async () => {
      const list = async (what: string) => {
        const { stdout } = await runProcess({
          name: "ffmpeg",
          command: tools.ffmpeg,
          args: ["-hide_banner", what],
          timeoutMs: 15_000,
          collectStdoutMax: 4 * 1024 * 1024,
        });
        const names = new Set<string>();
        for (const line of stdout.toString("utf8").split("\n")) {
          // " V....D libx264   description" and " TSC gblur   V->V   description".
          const m = /^\s*[A-Z.|]{3,6}\s+(\S+)\s/.exec(line);
          if (m) names.add(m[1]!);
        }
        return names;
      };
      // One after the other: a worker never has more than one ffmpeg child at a time.
      const encoders = await list("-encoders");
      const filters = await list("-filters");
      return { encoders, filters };
    })();
    // A failed listing is not cached: the next job tries again.
    p.catch(() => capsCache.delete(tools.ffmpeg));
    capsCache.set(tools.ffmpeg, p);
  }
  return p;
}

/** The build's capabilities for a job: a failed listing is the job's internal error. */
export async function loadCaps(ctx: JobContext): Promise<Capabilities> {
  try {
    return await capabilities(ctx.tools);
  } catch (err) {
    throw mapError(err);
  }
}
