// `openvod upload FILE`: the upload flow applications run, with the official clients:
// ApplyUpload (tencentcloud-sdk-nodejs-vod), the file and cover to openvod's COS endpoint with the
// temporary credentials (cos-nodejs-sdk-v5 sliceUploadFile, as vod-node-sdk does; openvod's COS
// endpoint takes both the 2.x vod-node-sdk bundles and the 3.x used here), CommitUpload.
// Prints the CommitUpload answer as JSON on stdout; a progress bar on stderr when it is a terminal.
import { statSync } from "node:fs";
import { basename, extname } from "node:path";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import COS from "cos-nodejs-sdk-v5";
import { clientOptions, makeClient } from "./client.js";

const MiB = 1024 * 1024;

function typeOf(file: string, given: string | undefined, what: string): string {
  const t = (given ?? extname(file).slice(1)).toLowerCase();
  if (!t)
    throw new Error(
      `cannot tell the ${what} type of ${file} from its name; pass --${what === "media" ? "type" : "cover-type"}`,
    );
  return t;
}

function sizeOf(file: string): number {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error("not a regular file");
    return st.size;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export function uploadCommand(program: Command): void {
  clientOptions(
    program
      .command("upload")
      .description("upload a media file (and a cover) through ApplyUpload, COS and CommitUpload")
      .argument("<file>", "the media file"),
  )
    .option("--cover <file>", "a cover image")
    .option("--procedure <name>", "a procedure template to run on the new file")
    .option("--sub-app-id <id>", "the application (default: the account's default)")
    .option("--name <name>", "the media name (default: the file name without its extension)")
    .option("--type <ext>", "the media type (default: the file's extension)")
    .option("--cover-type <ext>", "the cover type (default: the cover's extension)")
    .option("--slice-mb <n>", "multipart slice size in MiB", "8")
    .action(async (file: string, o) => {
      const mediaSize = sizeOf(file);
      const coverSize = o.cover ? sizeOf(o.cover) : 0;
      const sliceSize = Number(o.sliceMb) * MiB;
      if (!(sliceSize >= MiB)) throw new Error("--slice-mb must be at least 1");
      const vod = await makeClient(o);
      const subApp = o.subAppId ? { SubAppId: Number(o.subAppId) } : {};
      const applied = await vod.ApplyUpload({
        ...subApp,
        MediaType: typeOf(file, o.type, "media"),
        MediaName: o.name ?? basename(file, extname(file)),
        ...(o.cover ? { CoverType: typeOf(o.cover, o.coverType, "cover") } : {}),
        ...(o.procedure ? { Procedure: o.procedure } : {}),
      });
      const cert = applied.TempCertificate!;
      const cos = new COS({
        SecretId: cert.SecretId,
        SecretKey: cert.SecretKey,
        XCosSecurityToken: cert.Token,
        Protocol: "http:",
        // openvod serves COS under /cos/<bucket>/ on its own port.
        Domain: `${o.endpoint}/cos/{Bucket}`,
      });

      const bars = new cliProgress.MultiBar(
        {
          format: " {name} |{bar}| {percentage}% | {done}/{size} MiB | {speed} MiB/s",
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      const mib = (n: number) => (n / MiB).toFixed(1);
      const send = (path: string, key: string, size: number) => {
        const bar = bars.create(size, 0, {
          name: basename(path),
          done: mib(0),
          size: mib(size),
          speed: "0.0",
        });
        // The average since the start: the SDK's own speed is per interval and reads 0 at the end.
        const started = performance.now();
        const show = (loaded: number) =>
          bar.update(loaded, {
            done: mib(loaded),
            speed: mib(loaded / Math.max((performance.now() - started) / 1000, 0.001)),
          });
        return new Promise<void>((resolve, reject) => {
          cos.sliceUploadFile(
            {
              Bucket: applied.StorageBucket!,
              Region: applied.StorageRegion!,
              Key: key,
              FilePath: path,
              SliceSize: sliceSize,
              onProgress: (p) => show(p.loaded),
            },
            (err) => {
              if (!err) {
                show(size);
                return resolve();
              }
              const e = err as { code?: string; message?: string; error?: { Message?: string } };
              reject(
                new Error(
                  `uploading ${path} failed: ${e.code ?? ""} ${e.error?.Message ?? e.message ?? ""}`.trim(),
                ),
              );
            },
          );
        });
      };
      try {
        await send(file, applied.MediaStoragePath!, mediaSize);
        if (o.cover) await send(o.cover, applied.CoverStoragePath!, coverSize);
      } finally {
        bars.stop();
      }
      const committed = await vod.CommitUpload({ ...subApp, VodSessionKey: applied.VodSessionKey! });
      process.stdout.write(
        JSON.stringify({
          FileId: committed.FileId,
          MediaUrl: committed.MediaUrl,
          CoverUrl: committed.CoverUrl,
        }) + "\n",
      );
    });
}
