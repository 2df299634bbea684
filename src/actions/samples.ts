// Word samples (the keywords of OCR recognition and keyword review), per application.
import {
  createWordSamples,
  deleteWordSamples,
  describeWordSamples,
  modifyWordSample,
} from "../domain/ai/wordSamples.js";
import type { ActionFamily } from "./types.js";

export const sampleActions: ActionFamily = {
  CreateWordSamples: {
    notes:
      "Up to 100 keywords (≤ 20 characters) with Usages (Recognition.Ocr/Asr, Review.Ocr/Asr, Recognition, Review, All) and Tags; an existing keyword refuses the whole call; used by OCR keyword recognition and review",
    async handler(ctx) {
      await createWordSamples(ctx.deps, ctx.app.subAppId, ctx.params.Usages, ctx.params.Words);
      return {};
    },
  },
  DescribeWordSamples: {
    notes: "Usages (shorthands expanded), Keywords, Tags filters (any matches); Offset/Limit ≤ 100",
    async handler(ctx) {
      return describeWordSamples(ctx.deps, ctx.app.subAppId, ctx.params);
    },
  },
  ModifyWordSample: {
    notes: "Usages, TagOperationInfo add/delete/reset; an unknown keyword answers ResourceNotFound.Keyword",
    async handler(ctx) {
      const p = ctx.params;
      await modifyWordSample(ctx.deps, ctx.app.subAppId, p.Keyword, p.Usages, p.TagOperationInfo);
      return {};
    },
  },
  DeleteWordSamples: {
    notes: "Up to 100 keywords; unknown ones are ignored",
    async handler(ctx) {
      await deleteWordSamples(ctx.deps, ctx.app.subAppId, ctx.params.Keywords);
      return {};
    },
  },
};
