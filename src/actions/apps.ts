// Applications (sub-apps): each has its own tasks and media, never visible to another.
import { isoTime } from "../domain/ids.js";
import { errors } from "../protocol/errors.js";
import type { AppRow } from "../store/types.js";
import type { ActionContext, ActionFamily } from "./types.js";

/** New application ids start here, as the cloud's 15xxxxxxxx SubAppIds do. */
const FIRST_SUB_APP_ID = 1500000000;

function appInfo(a: AppRow): Record<string, unknown> {
  return {
    SubAppId: a.subAppId,
    SubAppIdName: a.name,
    Name: a.name,
    Description: a.description,
    CreateTime: isoTime(a.createTime),
    Status: a.status,
  };
}

function checkName(name: string | undefined): void {
  if (name !== undefined && (name.length === 0 || name.length > 40)) {
    throw errors.invalidParameterValue("Name", "Name must be 1 to 40 characters.");
  }
}

function checkDescription(d: string | undefined): void {
  if (d !== undefined && d.length > 300)
    throw errors.invalidParameterValue("Description", "Description is longer than 300 characters.");
}

async function targetApp(ctx: ActionContext<"ModifySubAppIdInfo" | "ModifySubAppIdStatus">): Promise<AppRow> {
  const app = await ctx.deps.store.getApp(ctx.params.SubAppId);
  if (!app) throw errors.invalidParameterValue("SubAppId", "The application does not exist.");
  return app;
}

export const appActions: ActionFamily = {
  CreateSubAppId: {
    appScoped: false,
    notes: "Name and Description; Type, Mode, StorageRegion and Tags accepted and not used",
    async handler(ctx) {
      const { Name, Description } = ctx.params;
      checkName(Name);
      checkDescription(Description);
      for (;;) {
        let subAppId = await ctx.deps.store.nextAppId(FIRST_SUB_APP_ID);
        // The account's own AppId (OPENVOD_APP_ID) may lie in the same range: never reuse it.
        while (await ctx.deps.store.getApp(subAppId)) subAppId++;
        const created = await ctx.deps.store.createApp({
          subAppId,
          name: Name,
          description: Description ?? "",
          status: "On",
          createTime: ctx.deps.now(),
          isDefault: false,
        });
        // Another call (in this process or another) took the id meanwhile: take the next one.
        if (created) return { SubAppId: subAppId };
      }
    },
  },

  DescribeSubAppIds: {
    appScoped: false,
    notes: "Name filter, Offset/Limit; the default application is listed first",
    async handler(ctx) {
      const { Name, Tags, Offset = 0, Limit = 200 } = ctx.params;
      // Applications keep no tags, so a tag filter cannot be answered truthfully.
      if (Tags?.length)
        throw errors.unsupportedOperation("Filtering applications by Tags is not supported by openvod.");
      if (Limit < 1 || Limit > 200)
        throw errors.invalidParameterValue("Limit", "Limit must be from 1 to 200.");
      if (Name !== undefined) {
        const { apps } = await ctx.deps.store.listApps(0, 1_000_000);
        const matching = apps.filter((a) => a.name === Name);
        return {
          SubAppIdInfoSet: matching.slice(Offset, Offset + Limit).map(appInfo),
          TotalCount: matching.length,
        };
      }
      const { total, apps } = await ctx.deps.store.listApps(Offset, Limit);
      return { SubAppIdInfoSet: apps.map(appInfo), TotalCount: total };
    },
  },

  ModifySubAppIdInfo: {
    appScoped: false,
    notes: "Name and Description",
    async handler(ctx) {
      const app = await targetApp(ctx);
      checkName(ctx.params.Name);
      checkDescription(ctx.params.Description);
      await ctx.deps.store.updateApp(app.subAppId, {
        name: ctx.params.Name,
        description: ctx.params.Description,
      });
      return {};
    },
  },

  ModifySubAppIdStatus: {
    appScoped: false,
    notes: "On and Off; a disabled application answers InvalidParameterValue.SubAppId",
    async handler(ctx) {
      const app = await targetApp(ctx);
      const { Status } = ctx.params;
      if (Status !== "On" && Status !== "Off") {
        throw errors.invalidParameterValue("Status", "Status must be On or Off.");
      }
      if (app.isDefault && Status === "Off") {
        throw errors.invalidParameterValue("SubAppId", "The default application cannot be disabled.");
      }
      await ctx.deps.store.updateApp(app.subAppId, { status: Status });
      return {};
    },
  },
};
