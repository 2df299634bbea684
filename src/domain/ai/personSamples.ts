// Person samples: the people an application's face recognition looks for (CreatePersonSample,
// DescribePersonSamples, ModifyPersonSample, DeletePersonSample). Each face picture is checked
// and described once, when it is added: it must be a JPEG or PNG showing exactly one face, whose
// 128-d face-api descriptor is kept with the person; the picture itself goes to the blob store
// (FaceInfoSet.Url). Recognition then only compares descriptors.
import { randomInt } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { blobKey } from "../../blobs/types.js";
import { aiMissingMessage } from "../../media/ai/engine.js";
import { pictureFaces } from "../../media/ai/faces.js";
import { errors } from "../../protocol/errors.js";
import type { PersonFace, PersonSampleRow } from "../../store/types.js";
import type { Deps } from "../deps.js";
import { isoTime } from "../ids.js";
import { applyTagOperation, checkTags, expandUsagesOf, pageOf } from "./wordSamples.js";

export const PERSON_USAGES = ["Recognition.Face", "Review.Face"] as const;
export type PersonUsage = (typeof PERSON_USAGES)[number];
const SHORTHANDS: Record<string, readonly PersonUsage[]> = {
  Recognition: ["Recognition.Face"],
  Review: ["Review.Face"],
  All: PERSON_USAGES,
};
const expand = (usages: readonly string[]) => expandUsagesOf(PERSON_USAGES, SHORTHANDS, usages);

/** Pictures per call, as the cloud limits FaceContents. */
const MAX_PICTURES = 5;
const MAX_PICTURE_BYTES = 5 * 1024 * 1024;
/**
 * The cloud's one documented per-picture error code (AiSampleFailFaceInfo.ErrCode, "face picture
 * format error"); openvod gives it for every refused picture, the Message saying why.
 */
const FACE_PICTURE_ERROR = 18004;

/** A picture of FaceContents that was not added, as AiSampleFailFaceInfo. */
interface FailedFace {
  Index: number;
  ErrCode: number;
  Message: string;
}

/** IDs are decimal strings, like the cloud's (opaque to clients). */
const newId = () => String(randomInt(10_000, 2 ** 47));

/** JPEG or PNG by their signatures (FaceContents: "仅支持 jpeg、png 图片格式"), else undefined. */
function pictureType(b: Buffer): "jpg" | "png" | undefined {
  if (b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpg";
  if (b.length > 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return "png";
  return undefined;
}

/**
 * The faces of FaceContents that show exactly one face, stored as pictures with their
 * descriptors, and the ones refused. When pictures were given and none could be used, nothing is
 * kept and the call is refused: a person is recognised only by its faces.
 */
async function addFaces(
  deps: Deps,
  appId: number,
  personId: string,
  contents: readonly string[],
): Promise<{ faces: PersonFace[]; failed: FailedFace[] }> {
  if (contents.length > MAX_PICTURES)
    throw errors.invalidParameterValue(
      "FaceContents",
      `FaceContents holds at most ${MAX_PICTURES} pictures.`,
    );
  const faces: PersonFace[] = [];
  const failed: FailedFace[] = [];
  if (contents.length === 0) return { faces, failed };
  const missing = aiMissingMessage("Person sample face pictures (FaceContents)", "face");
  if (missing) throw errors.unsupportedOperation(missing);
  const dir = await mkdtemp(join(deps.config.dataDir, "tmp", "faces-"));
  try {
    for (const [i, content] of contents.entries()) {
      const fail = (Message: string) => failed.push({ Index: i, ErrCode: FACE_PICTURE_ERROR, Message });
      const bytes = Buffer.from(content, "base64");
      const type = pictureType(bytes);
      if (!type || bytes.length > MAX_PICTURE_BYTES) {
        fail(
          `face picture format error: FaceContents.${i} is not a base64 JPEG or PNG picture of at most 5 MB`,
        );
        continue;
      }
      const file = join(dir, `${i}.${type}`);
      await writeFile(file, bytes);
      const found = await pictureFaces(deps.tools, file);
      if (!found) {
        fail(`face picture format error: FaceContents.${i} could not be decoded as a picture`);
        continue;
      }
      if (found.length !== 1) {
        fail(
          found.length === 0
            ? `FaceContents.${i} shows no face`
            : `FaceContents.${i} shows ${found.length} faces; a person sample picture shows one person`,
        );
        continue;
      }
      const faceId = newId();
      const key = blobKey(appId, "ai_samples", personId, `${faceId}.${type}`);
      await deps.blobs.putFile(key, file);
      faces.push({ faceId, key, descriptor: found[0]!.descriptor });
    }
  } catch (err) {
    // The call fails whole: the pictures stored so far would belong to nothing.
    await removePictures(deps, faces);
    throw err;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (faces.length === 0) {
    throw errors.invalidParameterValue(
      "FaceContents",
      `No picture of FaceContents can be used: ${failed.map((f) => f.Message).join("; ")}.`,
    );
  }
  return { faces, failed };
}

async function removePictures(deps: Deps, faces: readonly PersonFace[]): Promise<void> {
  for (const f of faces) await deps.blobs.remove(f.key);
}

export function personView(deps: Deps, r: PersonSampleRow) {
  return {
    PersonId: r.personId,
    Name: r.name,
    Description: r.description,
    FaceInfoSet: r.faces.map((f) => ({ FaceId: f.faceId, Url: deps.urls.file(f.key) })),
    TagSet: r.tags,
    UsageSet: r.usages,
    CreateTime: isoTime(r.createTime),
    UpdateTime: isoTime(r.updateTime),
  };
}

function checkName(name: string | undefined, max: number): string {
  const n = (name ?? "").trim();
  if (n.length === 0 || [...n].length > max)
    throw errors.invalidParameterValue("Name", `Name must be 1 to ${max} characters.`);
  return n;
}

function checkDescription(d: string | undefined): string {
  if ([...(d ?? "")].length > 1024)
    throw errors.invalidParameterValue("Description", "Description is at most 1024 characters.");
  return d ?? "";
}

export interface CreatePerson {
  Name: string;
  Usages: string[];
  Description?: string;
  FaceContents?: string[];
  Tags?: string[];
}

export async function createPersonSample(deps: Deps, appId: number, p: CreatePerson) {
  const name = checkName(p.Name, 20);
  const description = checkDescription(p.Description);
  const usages = expand(p.Usages);
  if (usages.length === 0)
    throw errors.invalidParameterValue("Usages", "Usages must name at least one usage.");
  const tags = checkTags(p.Tags ?? [], "Tags");
  const personId = newId();
  // Pictures first, then the row: a crash in between leaves unused pictures, never a person
  // whose FaceInfoSet points at nothing.
  const { faces, failed } = await addFaces(deps, appId, personId, p.FaceContents ?? []);
  const now = deps.now();
  const row: PersonSampleRow = {
    appId,
    personId,
    name,
    description,
    usages,
    tags,
    faces,
    createTime: now,
    updateTime: now,
  };
  if (!(await deps.store.insertPersonSample(row))) {
    await removePictures(deps, faces);
    throw errors.failedOperation(undefined, "A new PersonId collided with an existing one; try again.");
  }
  return { Person: personView(deps, row), FailFaceInfoSet: failed };
}

export interface PersonFilter {
  Type?: string;
  PersonIds?: string[];
  Names?: string[];
  Tags?: string[];
  Offset?: number;
  Limit?: number;
}

export async function describePersonSamples(deps: Deps, appId: number, f: PersonFilter) {
  if (f.Type === "Default")
    throw errors.unsupportedOperation(
      "DescribePersonSamples Type Default: the public-figure library is the cloud's own; openvod has only the application's person samples (UserDefine).",
    );
  if (f.Type !== undefined && f.Type !== "UserDefine")
    throw errors.invalidParameterValue("Type", "Type is UserDefine or Default.");
  if ((f.PersonIds?.length ?? 0) > 100)
    throw errors.invalidParameterValue("PersonIds", "At most 100 PersonIds.");
  if ((f.Names?.length ?? 0) > 20) throw errors.invalidParameterValue("Names", "At most 20 names.");
  if ((f.Tags?.length ?? 0) > 20) throw errors.invalidParameterValue("Tags", "At most 20 tags.");
  const ids = f.PersonIds?.length ? new Set(f.PersonIds) : undefined;
  const names = f.Names?.length ? new Set(f.Names) : undefined;
  const tags = f.Tags?.length ? new Set(f.Tags) : undefined;
  const all = (await deps.store.listPersonSamples(appId)).filter(
    (r) =>
      (!ids || ids.has(r.personId)) &&
      (!names || names.has(r.name)) &&
      (!tags || r.tags.some((t) => tags.has(t))),
  );
  return { TotalCount: all.length, PersonSet: pageOf(all, f).map((r) => personView(deps, r)) };
}

export interface ModifyPerson {
  PersonId: string;
  Name?: string;
  Description?: string;
  Usages?: string[];
  FaceOperationInfo?: { Type?: string; FaceIds?: string[]; FaceContents?: string[] };
  TagOperationInfo?: { Type?: string; Tags?: string[] };
}

const notFound = (id: string) => errors.resourceNotFound("Person", `The person ${id} does not exist.`);

export async function modifyPersonSample(deps: Deps, appId: number, p: ModifyPerson) {
  const current = await deps.store.getPersonSample(appId, p.PersonId);
  if (!current) throw notFound(p.PersonId);
  const next: PersonSampleRow = {
    ...current,
    name: p.Name !== undefined ? checkName(p.Name, 128) : current.name,
    description: p.Description !== undefined ? checkDescription(p.Description) : current.description,
    usages: p.Usages?.length ? expand(p.Usages) : current.usages,
    tags: p.TagOperationInfo ? applyTagOperation(current.tags, p.TagOperationInfo) : current.tags,
    updateTime: deps.now(),
  };
  const op = p.FaceOperationInfo;
  let failed: FailedFace[] | null = null;
  let added: PersonFace[] = [];
  let dropped: PersonFace[] = [];
  if (op) {
    if (op.Type === "delete") {
      const ids = new Set(op.FaceIds ?? []);
      if (ids.size === 0)
        throw errors.invalidParameterValue(
          "FaceIds",
          "FaceOperationInfo.FaceIds is required to delete faces.",
        );
      dropped = current.faces.filter((f) => ids.has(f.faceId));
      next.faces = current.faces.filter((f) => !ids.has(f.faceId));
      if (next.faces.length === 0)
        throw errors.invalidParameterValue(
          "FaceIds",
          "Deleting would leave the person without a face picture; use FaceOperationInfo.Type reset instead.",
        );
    } else if (op.Type === "add" || op.Type === "reset") {
      if (!op.FaceContents?.length)
        throw errors.invalidParameterValue(
          "FaceContents",
          `FaceOperationInfo.FaceContents is required to ${op.Type}.`,
        );
      const r = await addFaces(deps, appId, current.personId, op.FaceContents);
      added = r.faces;
      failed = r.failed.length ? r.failed : null;
      if (op.Type === "add") next.faces = [...current.faces, ...added];
      else {
        next.faces = added;
        dropped = current.faces;
      }
    } else {
      throw errors.invalidParameterValue(
        "FaceOperationInfo",
        "FaceOperationInfo.Type is add, delete or reset.",
      );
    }
  }
  if (!(await deps.store.updatePersonSample(next))) {
    await removePictures(deps, added);
    throw notFound(p.PersonId);
  }
  // Only once the row no longer names them (as at creation: at worst unused pictures remain).
  await removePictures(deps, dropped);
  return { Person: personView(deps, next), FailFaceInfoSet: failed };
}

export async function deletePersonSample(deps: Deps, appId: number, personId: string): Promise<void> {
  const gone = await deps.store.deletePersonSample(appId, personId);
  if (!gone) throw notFound(personId);
  await removePictures(deps, gone.faces);
}

/** The application's persons for one usage, with at least one face (what recognition compares). */
export async function personsFor(deps: Deps, appId: number, usage: PersonUsage): Promise<PersonSampleRow[]> {
  return (await deps.store.listPersonSamples(appId)).filter(
    (r) => r.usages.includes(usage) && r.faces.length > 0,
  );
}
