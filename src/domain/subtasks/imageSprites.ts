import type { SubTaskKind } from "./kind.js";

export const imageSprites = {
  set: "ImageSpriteTaskSet",
  type: "ImageSprites",
  field: "ImageSpriteTask",
  family: "ImageSprite",
  label: "image sprite",
  part: { filter: "imageSpriteInfo", info: "ImageSpriteInfo", list: "ImageSpriteSet" },
} as const satisfies SubTaskKind;
