// The official SDK client the CLI's own commands use against a running openvod: the same
// contract applications use, so the CLI exercises nothing they cannot.
import * as tencentcloud from "tencentcloud-sdk-nodejs-vod";
import type { Command } from "commander";

export type VodClient = InstanceType<typeof tencentcloud.vod.v20180717.Client>;

export interface ClientOptions {
  endpoint: string;
  secretId?: string;
  secretKey?: string;
}

/** Adds --endpoint/--secret-id/--secret-key (falling back to OPENVOD_* and TENCENTCLOUD_* variables). */
export function clientOptions(cmd: Command): Command {
  return cmd
    .option("--endpoint <host:port>", "openvod's address", process.env.OPENVOD_ENDPOINT ?? "127.0.0.1:9080")
    .option(
      "--secret-id <id>",
      "SecretId (default: OPENVOD_SECRET_ID, TENCENTCLOUD_SECRET_ID or the data dir's key)",
    )
    .option(
      "--secret-key <key>",
      "SecretKey (default: OPENVOD_SECRET_KEY, TENCENTCLOUD_SECRET_KEY or the data dir's key)",
    )
    .option(
      "--data-dir <dir>",
      "the server's data directory, read for its generated keys when none is given",
      process.env.OPENVOD_DATA_DIR ?? "./data",
    )
    .addHelpText(
      "after",
      "\nKeys: --secret-id/--secret-key, else OPENVOD_SECRET_ID/OPENVOD_SECRET_KEY, else\n" +
        "TENCENTCLOUD_SECRET_ID/TENCENTCLOUD_SECRET_KEY, else the pair `openvod serve` generated in\n" +
        "<data dir>/credentials.json. The data dir is ./data of the current directory unless\n" +
        "--data-dir or OPENVOD_DATA_DIR says otherwise: run from where the server runs, or pass it.\n",
    );
}

/** The key pair the CLI acts with (see clientOptions' help for the order). */
export async function resolveKeys(
  o: Omit<ClientOptions, "endpoint"> & { dataDir?: string },
): Promise<{ secretId: string; secretKey: string }> {
  let secretId = o.secretId ?? process.env.OPENVOD_SECRET_ID ?? process.env.TENCENTCLOUD_SECRET_ID;
  let secretKey = o.secretKey ?? process.env.OPENVOD_SECRET_KEY ?? process.env.TENCENTCLOUD_SECRET_KEY;
  if (!secretId || !secretKey) {
    const { readFileSync } = await import("node:fs");
    const { resolve } = await import("node:path");
    const file = resolve(o.dataDir ?? "./data", "credentials.json");
    try {
      const keys = JSON.parse(readFileSync(file, "utf8"));
      secretId = keys.SecretId;
      secretKey = keys.SecretKey;
    } catch {
      throw new Error(
        `no credentials: no --secret-id/--secret-key, no OPENVOD_SECRET_ID/KEY and no ${file}; pass the keys or the server's --data-dir`,
      );
    }
  }
  return { secretId: secretId!, secretKey: secretKey! };
}

export async function makeClient(o: ClientOptions & { dataDir?: string }): Promise<VodClient> {
  const { secretId, secretKey } = await resolveKeys(o);
  return new tencentcloud.vod.v20180717.Client({
    credential: { secretId, secretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: o.endpoint, protocol: "http://", reqTimeout: 30 } },
  });
}
