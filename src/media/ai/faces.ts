// The faces of one picture (a person sample's photo): decoded by ffmpeg like a video frame, at
// most FRAME_MAX pixels on its longer side, then searched by face-api on the AI worker thread.
import { NotMediaError, probeMedia } from "../probe.js";
import type { MediaTools } from "../tools.js";
import { FRAME_MAX } from "./analyze.js";
import { aiEngine } from "./engine.js";
import { eachFrame, frameSize, scaleBox } from "./frames.js";
import type { FaceHit } from "./protocol.js";

/** The picture's faces (boxes in its own pixels), or undefined when it is not a picture. */
export async function pictureFaces(tools: MediaTools, file: string): Promise<FaceHit[] | undefined> {
  const probed = await probeMedia(tools, file, 15_000).catch((err) => {
    if (err instanceof NotMediaError) return undefined;
    throw err;
  });
  if (!probed || probed.category !== "Image") return undefined;
  const { Width: w, Height: h } = probed.metaData;
  const { width, height } = frameSize(w, h, FRAME_MAX);
  const engine = aiEngine();
  await engine.load("face");
  let faces: FaceHit[] = [];
  await eachFrame(
    tools,
    { input: file, videoIndex: 0, interval: 1, width, height, timeoutMs: 30_000, still: true },
    async (frame) => {
      faces = await engine.faces(frame);
    },
  );
  return faces.map((f) => ({ ...f, box: scaleBox(f.box, w / width, h / height) }));
}
