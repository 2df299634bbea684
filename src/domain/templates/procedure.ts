// Procedure templates (task flows): a named MediaProcessTask that ProcessMediaByProcedure (and
// upload with a Procedure) runs. Every template a procedure names must exist for the
// application; the AI sub-tasks are refused, since openvod runs no AI analysis.
import { errors } from "../../protocol/errors.js";
import { payload } from "./merge.js";
import { SUBTASK_KINDS } from "../subtasks/index.js";
import { PRESETS } from "./presets.js";
import { checkFields, invalid, maxLength, oneOf, type Rule } from "./rules.js";
import type { FamilyContext, FamilyDescriptor, TemplateBody, TemplateFamily } from "./types.js";

type Find = FamilyContext["find"];

/** The MediaProcessTask lists, the template family each item's Definition names, and a label. */
const TASK_SETS: ReadonlyArray<[set: string, family: TemplateFamily, label: string]> = SUBTASK_KINDS.map(
  (k) => [k.set, k.family, k.label],
);

async function exists(find: Find, family: TemplateFamily, label: string, definition: number, path: string) {
  if (!(await find(family, definition)))
    throw invalid("Definition", `${path}Definition: the ${label} template ${definition} does not exist.`);
}

/**
 * Checks that every template a MediaProcessTask names exists for the application (through
 * `find`), and refuses the parts that name template kinds openvod does not have. Throws
 * InvalidParameterValue.Definition naming the first offender.
 */
export async function checkMediaProcessTask(
  find: Find,
  task: TemplateBody | undefined,
  path = "MediaProcessTask.",
): Promise<void> {
  if (!task) return;
  for (const [set, family, label] of TASK_SETS) {
    const items: TemplateBody[] = task[set] ?? [];
    for (const [i, item] of items.entries()) {
      const at = `${path}${set}.${i}.`;
      await exists(find, family, label, item.Definition, at);
      if (set === "CoverBySnapshotTaskSet") checkFields(item, { PositionType: oneOf("Time", "Percent") }, at);
      for (const [j, w] of ((item.WatermarkSet ?? []) as TemplateBody[]).entries())
        await exists(find, "Watermark", "watermark", w.Definition, `${at}WatermarkSet.${j}.`);
      if (item.HeadTailSet?.length)
        throw invalid("Definition", `${at}HeadTailSet: head/tail templates are not supported by openvod.`);
      if (item.BlindWatermark) {
        if (set !== "TranscodeTaskSet")
          throw invalid(
            "Definition",
            `${at}BlindWatermark: only transcodes carry blind watermarks in openvod.`,
          );
        await exists(
          find,
          "BlindWatermark",
          "blind watermark",
          item.BlindWatermark.Definition,
          `${at}BlindWatermark.`,
        );
      }
    }
  }
}

const NO_AI = "openvod does not run AI analysis";

function refuseAi(b: TemplateBody): void {
  if (b.AiContentReviewTask)
    throw invalid("AiContentReviewTaskDefinition", `AiContentReviewTask: ${NO_AI} or content review.`);
  if (b.AiAnalysisTask) throw invalid("AiAnalysisTaskDefinition", `AiAnalysisTask: ${NO_AI}.`);
  if (b.AiRecognitionTaskSet?.length || b.AiRecognitionTask)
    throw invalid("AiRecognitionTaskDefinition", `AiRecognitionTaskSet: ${NO_AI} or recognition.`);
  if (b.ReviewAudioVideoTask)
    throw errors.unsupportedOperation(`ReviewAudioVideoTask: ${NO_AI} or content review.`);
  if (b.ImportMediaKnowledgeTaskSet?.length)
    throw errors.unsupportedOperation(`ImportMediaKnowledgeTaskSet: ${NO_AI} or media knowledge import.`);
}

const NAME: Rule = {
  test: (v) => typeof v === "string" && v.length >= 1 && v.length <= 20,
  text: "1 to 20 characters",
};

function fromRequest(params: Record<string, any>): TemplateBody {
  return { Comment: "", ...payload(params) };
}

export const procedure: FamilyDescriptor = {
  family: "Procedure",
  keyField: "Name",
  maxCustom: 50,
  presets: PRESETS.Procedure,
  fromCreate: fromRequest,
  // ResetProcedureTemplate replaces the whole content.
  applyModify: (_body, params) => fromRequest(params),
  async validate(b, ctx) {
    checkFields(b, { Name: NAME, Comment: maxLength(256) });
    refuseAi(b);
    const task = b.MediaProcessTask ?? {};
    if (!TASK_SETS.some(([set]) => task[set]?.length))
      throw invalid("MediaProcessTask", "MediaProcessTask must contain at least one task.");
    await checkMediaProcessTask(ctx.find, task);
  },
  // As the cloud shows it: every task list present, the unused ones empty.
  view: (v) => ({
    ...v,
    MediaProcessTask: {
      ...Object.fromEntries(TASK_SETS.map(([set]) => [set, []])),
      ...v.MediaProcessTask,
    },
  }),
};
