// BlindWatermark templates: the text a transcode's BlindWatermark {Definition} embeds as
// openvod's invisible mark (src/domain/digitalMarks.ts). Type blind-basic only: NAGRA forensic
// marks are a vendor's product openvod does not have. The Type cannot change on Modify.
import { mergeFamily } from "./merge.js";
import { checkFields, invalid, maxLength, NAME_AND_COMMENT, oneOf } from "./rules.js";
import type { FamilyDescriptor } from "./types.js";

export const blindWatermark: FamilyDescriptor = {
  family: "BlindWatermark",
  keyField: "Definition",
  maxCustom: 100,
  presets: [],
  fromCreate: mergeFamily({ Name: "", Comment: "" }).fromCreate,
  applyModify: (body, params) => ({ ...mergeFamily({}).applyModify(body, params), Type: body.Type }),
  validate(b) {
    if (b.Type === "blind-nagra")
      throw invalid("Type", "NAGRA watermarks are not supported by openvod; use blind-basic.");
    checkFields(b, { ...NAME_AND_COMMENT, Type: oneOf("blind-basic"), TextContent: maxLength(64) });
    if (typeof b.TextContent !== "string" || b.TextContent === "")
      throw invalid("TextContent", "TextContent must have 1 to 64 characters.");
  },
  kindType: true,
  filter(p) {
    checkFields(p, { Type: oneOf("blind-basic", "blind-nagra") });
    return (v) => p.Type === undefined || v.Type === p.Type;
  },
};
