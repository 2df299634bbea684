// The action registry: every action openvod implements, by family. Actions in the spec but
// not here answer UnsupportedOperation (see src/http/api.ts).
import { appActions } from "./apps.js";
import { editingActions } from "./editing.js";
import { domainActions } from "./domains.js";
import { digitalMarkActions } from "./digitalMarks.js";
import { eventActions } from "./events.js";
import { mediaActions } from "./media.js";
import { processActions } from "./process.js";
import { qualityActions } from "./quality.js";
import { reviewActions } from "./review.js";
import { sampleActions } from "./samples.js";
import { taskActions } from "./tasks.js";
import { templateActions } from "./templates.js";
import type { RegisteredAction } from "./types.js";
import { uploadActions } from "./upload.js";

export const actions: ReadonlyMap<string, RegisteredAction> = new Map<string, RegisteredAction>(
  Object.entries({
    ...taskActions,
    ...mediaActions,
    ...uploadActions,
    ...appActions,
    ...eventActions,
    ...templateActions,
    ...processActions,
    ...qualityActions,
    ...editingActions,
    ...domainActions,
    ...sampleActions,
    ...reviewActions,
    ...digitalMarkActions,
  }),
);
