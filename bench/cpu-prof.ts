// Preloaded into the openvod process with BENCH_CPU_PROF=<dir> (NODE_OPTIONS=--import ..., since
// --cpu-prof itself is not allowed in NODE_OPTIONS): profiles the whole process and writes a
// .cpuprofile into that directory when it exits.
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 100 });
  session.post("Profiler.start");
  process.on("exit", () => {
    // A same-thread inspector session answers synchronously, so this runs to the end in 'exit'.
    session.post("Profiler.stop", (err, result) => {
      if (err) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `openvod-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
