// Watermark templates: an image (stored as a blob and served at ImageTemplate.ImageUrl) or a
// line of text. SVG watermarks are refused. Fonts: the cloud offers simkai.ttf and arial.ttf;
// openvod accepts both names and renders every text watermark with DejaVu Sans.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { blobKey } from "../../blobs/types.js";
import { NotMediaError, probeMedia } from "../../media/probe.js";
import type { Deps } from "../deps.js";
import { mergeFamily } from "./merge.js";
import { checkFields, invalid, matches, NAME_AND_COMMENT, oneOf, range, type Rule } from "./rules.js";
import type { FamilyDescriptor, TemplateBody } from "./types.js";

const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
/** Probed image types the cloud accepts for watermarks (jpeg, png, gif). */
const IMAGE_TYPES = new Set(["png", "jpg", "gif"]);
const ORIGINS = ["TopLeft", "TopRight", "BottomLeft", "BottomRight", "Center"];
export const WATERMARK_FONTS = ["simkai.ttf", "arial.ttf"];

const POSITION = matches(/^\d+(\.\d+)?(%|px)$/, 'a number followed by "%" or "px", e.g. "10%" or "10px"');

/** "N%" or "Npx" with N px in [lo, hi] (0 also allowed when zero). */
const size = (lo: number, hi: number, zero: boolean): Rule => ({
  test: (v) => {
    const m = /^(\d+(?:\.\d+)?)(%|px)$/.exec(String(v));
    if (!m) return false;
    const n = Number(m[1]);
    return m[2] === "%" ? n <= 100 : (zero && n === 0) || (n >= lo && n <= hi && Number.isInteger(n));
  },
  text: `"N%" (N up to 100) or "Npx" (${zero ? "0 or " : ""}${lo} to ${hi})`,
});

const ALPHA: Rule = {
  test: (v) => typeof v === "number" && v > 0 && v <= 1,
  text: "greater than 0 and at most 1",
};

function derive(b: TemplateBody): TemplateBody {
  const origin = ORIGINS.find((o) => o.toLowerCase() === String(b.CoordinateOrigin).toLowerCase());
  const image = b.Type === "image";
  const text = b.Type === "text";
  return {
    ...b,
    CoordinateOrigin: origin ?? b.CoordinateOrigin,
    // Only the part that matches the Type is kept; the cloud ignores the others.
    ImageTemplate: image
      ? { Width: "10%", Height: "0px", RepeatType: "repeat", Transparency: 0, ...b.ImageTemplate }
      : null,
    TextTemplate: text ? { FontColor: "0xFFFFFF", FontAlpha: 1, ...b.TextTemplate } : null,
    SvgTemplate: null,
  };
}

function validate(b: TemplateBody): void {
  if (b.Type === "svg") throw invalid("Type", "SVG watermarks are not supported by openvod.");
  checkFields(b, {
    Type: oneOf("image", "text"),
    ...NAME_AND_COMMENT,
    CoordinateOrigin: oneOf(...ORIGINS),
    XPos: POSITION,
    YPos: POSITION,
  });
  if (b.Type === "image") {
    if (!b._imageKey && !b.ImageTemplate.ImageContent)
      throw invalid("ImageTemplate", "ImageTemplate.ImageContent is required when Type is image.");
    checkFields(
      b.ImageTemplate,
      {
        Width: size(8, 4096, false),
        Height: size(8, 4096, true),
        RepeatType: [oneOf("once", "repeat_last_frame", "repeat"), "RepeatType"],
        Transparency: range(0, 100),
      },
      "ImageTemplate.",
    );
  } else {
    const t = b.TextTemplate;
    if (!t.FontType || !t.FontSize)
      throw invalid("TextTemplate", "TextTemplate with FontType and FontSize is required when Type is text.");
    checkFields(
      t,
      {
        FontType: [oneOf(...WATERMARK_FONTS), "TextTemplate"],
        FontSize: [matches(/^([1-9]\d{0,2})px$/, '"Npx" with N from 1 to 999'), "TextTemplate"],
        FontColor: [matches(/^0x[0-9A-Fa-f]{6}$/, '"0xRRGGBB"'), "TextTemplate"],
        FontAlpha: [ALPHA, "TextAlpha"],
      },
      "TextTemplate.",
    );
  }
}

/** Decodes the base64 image, checks with ffprobe that it really is one, and stores it. */
async function storeImage(deps: Deps, appId: number, definition: number, content: string): Promise<string> {
  const b64 = content.replace(/^data:[^,]*;base64,/, "").replace(/\s+/g, "");
  if (!b64 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1)
    throw invalid("ImageDecodeError", "ImageTemplate.ImageContent is not valid base64.");
  const bytes = Buffer.from(b64, "base64");
  if (bytes.length > MAX_IMAGE_BYTES)
    throw invalid("ImageContent", `The watermark image is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB.`);
  const dir = await mkdtemp(join(deps.config.dataDir, "tmp", "watermark-"));
  try {
    const file = join(dir, "image");
    await writeFile(file, bytes);
    const probed = await probeMedia(deps.tools, file, 15_000).catch((err) => {
      if (err instanceof NotMediaError) return undefined;
      throw err;
    });
    if (!probed || probed.category !== "Image" || !IMAGE_TYPES.has(probed.formatName))
      throw invalid("ImageContent", "ImageTemplate.ImageContent must be a jpeg, png or gif image.");
    const key = blobKey(appId, "templates", `watermark-${definition}.${probed.formatName}`);
    await deps.blobs.putFile(key, file);
    return key;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const watermark: FamilyDescriptor = {
  family: "Watermark",
  keyField: "Definition",
  maxCustom: 100,
  presets: [],
  ...mergeFamily({ Name: "", Comment: "", CoordinateOrigin: "TopLeft", XPos: "0px", YPos: "0px" }, derive),
  validate,
  async persist(body, previous, ctx) {
    const content = body.ImageTemplate?.ImageContent;
    if (!content) return body;
    const { ImageContent: _content, ...image } = body.ImageTemplate;
    const key = await storeImage(ctx.deps, ctx.appId, body.Definition, content);
    // A new image of another type has another key: the old file goes.
    if (previous?._imageKey && previous._imageKey !== key) await ctx.deps.blobs.remove(previous._imageKey);
    return { ...body, ImageTemplate: image, _imageKey: key };
  },
  async release(body, deps) {
    if (body._imageKey) await deps.blobs.remove(body._imageKey);
  },
  view(v, deps) {
    if (!v.ImageTemplate) return v;
    return { ...v, ImageTemplate: { ...v.ImageTemplate, ImageUrl: deps.urls.file(v._imageKey ?? "") } };
  },
  kindType: true,
  filter(p) {
    if (p.Type === "svg") return () => false;
    checkFields(p, { Type: oneOf("image", "text", "svg") });
    return (v) => p.Type === undefined || v.Type === p.Type;
  },
  output: (v) => ({ ImageUrl: v.ImageTemplate?.ImageUrl ?? "" }),
};
