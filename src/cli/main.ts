#!/usr/bin/env node
// `openvod` command line: `openvod serve` runs the server; each OPENVOD_* setting has a flag.
import { Command, Option } from "commander";
import { flagOf, loadConfig, prepareKeys, SETTINGS, type SettingName } from "../config.js";
import { createLogger, startOpenvod } from "../app.js";
import { eventsCommand } from "./events.js";
import { uploadCommand } from "./upload.js";
import { signUploadCommand } from "./signUpload.js";

const program = new Command("openvod").description(
  "A self-hosted server that speaks Tencent Cloud VOD's API",
);

const serve = program
  .command("serve")
  .description("run the API server and the task workers (--role api|worker|all)");
for (const [name, s] of Object.entries(SETTINGS)) {
  serve.addOption(new Option(`--${flagOf(name)} <value>`, `${s.help} [${s.env}]`));
}
serve.action(async (opts: Record<string, string | undefined>) => {
  const overrides: Partial<Record<SettingName, string>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[])
    if (opts[name] !== undefined) overrides[name] = opts[name];
  let config;
  try {
    config = prepareKeys(loadConfig(overrides));
  } catch (err) {
    console.error(`openvod: ${(err as Error).message}`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  const running = await startOpenvod(config, log);
  if (config.generatedKeys) {
    process.stderr.write(
      `openvod: generated an API key pair, kept in ${config.dataDir}/credentials.json (mode 0600):\n` +
        `  SecretId:  ${config.secretId}\n  SecretKey: ${config.secretKey}\n`,
    );
  } else if (!process.env.OPENVOD_SECRET_ID && !overrides.secretId) {
    process.stderr.write(
      `openvod: SecretId ${config.secretId} (key in ${config.dataDir}/credentials.json)\n`,
    );
  }
  process.stdout.write(`openvod listening on ${running.url}\n`);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await running.close();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
});

eventsCommand(program);
uploadCommand(program);
signUploadCommand(program);

program
  .command("support-table")
  .description("print the README's table of supported actions")
  .action(async () => {
    const { supportTable } = await import("../actions/supportTable.js");
    process.stdout.write(supportTable() + "\n");
  });

program.parseAsync().catch((err) => {
  // API errors from the SDK carry the cloud's code; show it, it is what users search for.
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  console.error(`openvod: ${typeof code === "string" ? `${code}: ` : ""}${message}`);
  process.exit(1);
});
