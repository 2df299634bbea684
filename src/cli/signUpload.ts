// `openvod sign-upload`: prints a client upload signature (doc 266/9221) for vod-js-sdk-v6 and
// the mobile upload SDKs, as an application's server would make one, for scripts and tests.
import { Option, type Command } from "commander";
import { MAX_VALIDITY_SEC, signUpload } from "../protocol/uploadSignature.js";
import { clientOptions, resolveKeys } from "./client.js";

const int = (v: string) => {
  if (!/^-?\d+$/.test(v)) throw new Error(`${v} is not an integer`);
  return Number(v);
};

export function signUploadCommand(program: Command): void {
  const cmd = program
    .command("sign-upload")
    .description("print a client upload signature for the web and mobile upload SDKs")
    .option("--expire-sec <n>", `validity in seconds (at most ${MAX_VALIDITY_SEC})`, int, 3600)
    .option("--procedure <name>", "Procedure to run on the uploaded file")
    .option("--class-id <n>", "category of the file", int)
    .option("--source-context <text>", "echoed in NewFileUpload (at most 250 characters)")
    .option("--session-context <text>", "echoed in the Procedure's events (at most 1000 characters)")
    .option("--sub-app-id <n>", "the application to upload into (default: the account's)", int)
    .option("--storage-region <region>", "storage region")
    .addOption(new Option("--one-time", "valid for one upload only"));
  clientOptions(cmd).action(async (o) => {
    if (o.expireSec < 1 || o.expireSec > MAX_VALIDITY_SEC) {
      throw new Error(`--expire-sec must be from 1 to ${MAX_VALIDITY_SEC}`);
    }
    const { secretId, secretKey } = await resolveKeys(o);
    const now = Math.floor(Date.now() / 1000);
    const signature = signUpload(secretKey, {
      secretId,
      currentTimeStamp: now,
      expireTime: now + o.expireSec,
      random: Math.floor(Math.random() * 2 ** 32),
      procedure: o.procedure,
      classId: o.classId,
      oneTimeValid: o.oneTime ? 1 : undefined,
      sourceContext: o.sourceContext,
      sessionContext: o.sessionContext,
      vodSubAppId: o.subAppId,
      storageRegion: o.storageRegion,
    });
    process.stdout.write(signature + "\n");
  });
}
