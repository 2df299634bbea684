// Procedure templates (task flows): a named MediaProcessTask that ProcessMediaByProcedure (and
// upload with a Procedure) runs, with the AI sub-tasks ProcessMedia also takes (AiRecognitionTask,
// AiContentReviewTask, AiAnalysisTask). Every template a procedure names must exist for the
// application; what openvod does not run (ReviewAudioVideoTask, knowledge import) is refused.
import { errors } from "../../protocol/errors.js";
import { payload } from "./merge.js";
import { AI_SUBTASK_KINDS, SUBTASK_KINDS } from "../subtasks/index.js";
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

/** The AI sub-tasks a procedure may hold: each names a template of its family that must exist. */
async function checkAiTasks(find: Find, b: TemplateBody): Promise<void> {
  if (b.AiRecognitionTaskSet?.length)
    throw invalid(
      "AiRecognitionTaskDefinition",
      "AiRecognitionTaskSet: openvod runs AI recognition as the procedure's AiRecognitionTask.",
    );
  if (b.ReviewAudioVideoTask)
    throw errors.unsupportedOperation(
      "ReviewAudioVideoTask in a procedure: openvod runs it as the ReviewAudioVideo action, or use AiContentReviewTask.",
    );
  if (b.ImportMediaKnowledgeTaskSet?.length)
    throw errors.unsupportedOperation("ImportMediaKnowledgeTaskSet: openvod has no media knowledge base.");
  for (const kind of AI_SUBTASK_KINDS) {
    const task = b[kind.ai.request] as TemplateBody | undefined | null;
    if (!task) continue;
    const definition = task.Definition;
    if (!(await find(kind.family, definition)))
      throw invalid(
        `${kind.ai.request}Definition`,
        `${kind.ai.request}: the ${kind.label} template ${definition} does not exist.`,
      );
  }
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
    await checkAiTasks(ctx.find, b);
    const task = b.MediaProcessTask ?? {};
    if (!TASK_SETS.some(([set]) => task[set]?.length) && !AI_SUBTASK_KINDS.some((k) => b[k.ai.request]))
      throw invalid(
        "MediaProcessTask",
        "A procedure must contain at least one task (MediaProcessTask, or an AI task).",
      );
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
