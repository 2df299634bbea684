// `openvod events`: follow an application's events live (PULL mode), one JSON line each,
// confirming them as they are printed unless --no-confirm.
import type { Command } from "commander";
import { clientOptions, makeClient } from "./client.js";

export function eventsCommand(program: Command): void {
  clientOptions(
    program.command("events").description("follow an application's events (PULL mode) as JSON lines"),
  )
    .option("--sub-app-id <id>", "the application (default: the account's default)")
    .option("--no-confirm", "print without confirming (events come back after 30 s)")
    .option("--once", "stop after the first PullEvents call")
    .action(async (o) => {
      const vod = await makeClient(o);
      const subApp = o.subAppId ? { SubAppId: Number(o.subAppId) } : {};
      let stop = false;
      process.on("SIGINT", () => (stop = true));
      do {
        const r = await vod.PullEvents(subApp);
        const events = r.EventSet ?? [];
        for (const e of events) process.stdout.write(JSON.stringify(e) + "\n");
        if (o.confirm && events.length) {
          await vod.ConfirmEvents({ ...subApp, EventHandles: events.map((e) => e.EventHandle!) });
        }
      } while (!stop && !o.once);
    });
}
