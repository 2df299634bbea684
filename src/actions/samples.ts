// Word samples (the keywords of OCR recognition and keyword review) and person samples (the
// people of face recognition), per application.
import {
  createPersonSample,
  deletePersonSample,
  describePersonSamples,
  modifyPersonSample,
} from "../domain/ai/personSamples.js";
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
  CreatePersonSample: {
    notes:
      "Name, Usages (Recognition/Review/All or Recognition.Face/Review.Face), Tags, up to 5 FaceContents (JPEG/PNG, one face each: face-api's 128-d descriptor is kept, the picture served as FaceInfoSet.Url); a picture without exactly one face is listed in FailFaceInfoSet (ErrCode 18004), and when none is usable the call is refused",
    async handler(ctx) {
      return createPersonSample(ctx.deps, ctx.app.subAppId, ctx.params);
    },
  },
  DescribePersonSamples: {
    notes:
      "PersonIds, Names, Tags filters; Offset/Limit ≤ 100; Type Default (public figures) is refused: openvod has no such library",
    async handler(ctx) {
      return describePersonSamples(ctx.deps, ctx.app.subAppId, ctx.params);
    },
  },
  ModifyPersonSample: {
    notes:
      "Name, Description, Usages, FaceOperationInfo add/delete/reset (pictures checked as at creation), TagOperationInfo",
    async handler(ctx) {
      return modifyPersonSample(ctx.deps, ctx.app.subAppId, ctx.params);
    },
  },
  DeletePersonSample: {
    notes: "Removes the person and its pictures; an unknown PersonId answers ResourceNotFound.Person",
    async handler(ctx) {
      await deletePersonSample(ctx.deps, ctx.app.subAppId, ctx.params.PersonId);
      return {};
    },
  },
};
