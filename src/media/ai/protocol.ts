// Messages between the main thread and the AI worker thread (src/media/ai/worker.ts).

/** One video frame as ffmpeg writes it with `-f rawvideo -pix_fmt rgb24`. */
export interface Frame {
  data: Uint8Array;
  width: number;
  height: number;
}

export type AiModel = "ocr" | "porn" | "face";

export type AiRequest =
  | { id: number; op: "load"; model: AiModel }
  | { id: number; op: "ocr"; frame: Frame }
  | { id: number; op: "porn"; frame: Frame }
  | { id: number; op: "faces"; frame: Frame };

export type AiReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** One line of text PaddleOCR read: confidence 0..1, box [x1, y1, x2, y2] in frame pixels. */
export interface OcrLine {
  text: string;
  confidence: number;
  box: [number, number, number, number];
}

/** nsfwjs class probabilities (0..1). */
export type PornScores = Record<"Drawing" | "Hentai" | "Neutral" | "Porn" | "Sexy", number>;

/** One face face-api found: detection score 0..1, box [x1, y1, x2, y2] in frame pixels, 128-d descriptor. */
export interface FaceHit {
  score: number;
  box: [number, number, number, number];
  descriptor: number[];
}
