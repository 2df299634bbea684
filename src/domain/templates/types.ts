// What makes one template family different from another. The engine (index.ts) does the CRUD
// for every family; a descriptor only says how the family's body is built, checked and shown.
import type { Deps } from "../deps.js";

export type TemplateFamily =
  | "Transcode"
  | "SnapshotByTimeOffset"
  | "SampleSnapshot"
  | "ImageSprite"
  | "AnimatedGraphics"
  | "AdaptiveDynamicStreaming"
  | "Watermark"
  | "Procedure"
  | "QualityInspect"
  | "RebuildMedia"
  | "EnhanceMedia"
  | "AIRecognition"
  | "AIAnalysis"
  | "Review"
  | "BlindWatermark";

/** A template as its Describe item shows it (without Type and times), plus private "_" keys. */
export type TemplateBody = Record<string, any>;

export interface FamilyContext {
  deps: Deps;
  appId: number;
  /** findTemplate for the same application (procedures check the templates they reference). */
  find(family: TemplateFamily, key: number | string): Promise<TemplateBody | undefined>;
}

export interface FamilyDescriptor {
  family: TemplateFamily;
  /** "Definition" (numeric, allocated by openvod) or "Name" (procedures: chosen by the client). */
  keyField: "Definition" | "Name";
  /** Custom templates an application may have in this family. */
  maxCustom: number;
  presets: readonly TemplateBody[];
  /** The body of a new template from the Create request (without SubAppId; Definition is added later). */
  fromCreate(params: Record<string, any>): TemplateBody;
  /** The body after a Modify (or Reset) request. */
  applyModify(body: TemplateBody, params: Record<string, any>): TemplateBody;
  /** Throws an ApiError when the body is not something openvod can really do. */
  validate(body: TemplateBody, ctx: FamilyContext): void | Promise<void>;
  /** Side effects before the body is saved (the watermark image); returns the body to save. */
  persist?(body: TemplateBody, previous: TemplateBody | undefined, ctx: FamilyContext): Promise<TemplateBody>;
  /** Removes what persist created (after a delete, or a failed save). */
  release?(body: TemplateBody, deps: Deps): Promise<void>;
  /** Last touches of the Describe view (Transcode's string Definition, the watermark ImageUrl). */
  view?(view: TemplateBody, deps: Deps): TemplateBody;
  /** Family-specific Describe filters (throws on invalid filter values); true keeps a view. */
  filter?(params: Record<string, any>): (view: TemplateBody) => boolean;
  /** The item's Type is the family's own kind (watermarks: image/text), not Preset/Custom. */
  kindType?: boolean;
  /** The Describe response's list field, when it is not `${family}TemplateSet`. */
  setField?: string;
  /** Extra Create/Modify response fields (CreateWatermarkTemplate's ImageUrl). */
  output?(view: TemplateBody): Record<string, unknown>;
}
