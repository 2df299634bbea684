// Event notifications: the reliable PULL queue (PullEvents, ConfirmEvents, DescribeEventsState)
// and the per-application configuration (ModifyEventConfig, DescribeEventConfig).
import { checkLiteralHost, checkUrl, OutboundError } from "../net/http.js";
import { errors } from "../protocol/errors.js";
import type { EventConfig } from "../store/types.js";
import type { ActionFamily } from "./types.js";

/** PullEvents holds an empty answer this long, waking as soon as an event arrives. */
const LONG_POLL_MS = 5_000;
const MAX_EVENTS_PER_PULL = 16;
/** Pulled events must be confirmed within this window or they are delivered again. */
const CONFIRM_WINDOW_MS = 30_000;

const SWITCHES = [
  "UploadMediaCompleteEventSwitch",
  "DeleteMediaCompleteEventSwitch",
  "PersistenceCompleteEventSwitch",
] as const;

/** A switch value already checked to be ON, OFF or absent. */
const onOff = (v: string | undefined) => v as "ON" | "OFF" | undefined;

export const eventActions: ActionFamily = {
  PullEvents: {
    notes: "Long-polls up to 5 s, at most 16 events; unconfirmed events come back after 30 s; kept 4 days",
    async handler(ctx) {
      const { store, events, now } = ctx.deps;
      const appId = ctx.app.subAppId;
      const deadline = Date.now() + LONG_POLL_MS;
      for (;;) {
        const rows = await store.pullEvents(appId, now(), CONFIRM_WINDOW_MS, MAX_EVENTS_PER_PULL);
        if (rows.length) {
          return { EventSet: rows.map((e) => ({ ...e.content, EventHandle: e.handle })) };
        }
        const left = deadline - Date.now();
        if (left <= 0) return { EventSet: [] };
        await events.wait(appId, left);
      }
    },
  },

  ConfirmEvents: {
    notes: "Up to 16 EventHandles; a handle past its 30 s window or unknown is refused",
    async handler(ctx) {
      const handles: string[] = ctx.params.EventHandles;
      if (handles.length === 0 || handles.length > MAX_EVENTS_PER_PULL) {
        throw errors.invalidParameterValue("EventHandles", "EventHandles must hold 1 to 16 handles.");
      }
      const stale = await ctx.deps.store.confirmEvents(ctx.app.subAppId, handles, ctx.deps.now());
      if (stale.length) {
        throw errors.invalidParameterValue(
          "EventHandles",
          `These handles are unknown or were not confirmed within 30 s: ${stale.join(",")}.`,
        );
      }
      return {};
    },
  },

  DescribeEventsState: {
    notes: "Exact count of events waiting to be pulled",
    async handler(ctx) {
      return {
        CountOfEventsToPull: await ctx.deps.store.countPullableEvents(ctx.app.subAppId, ctx.deps.now()),
      };
    },
  },

  ModifyEventConfig: {
    notes: "Mode PULL or PUSH, NotificationUrl, SignKey, the three event switches",
    async handler(ctx) {
      const p = ctx.params;
      if (p.Mode !== undefined && p.Mode !== "PULL" && p.Mode !== "PUSH") {
        throw errors.invalidParameterValue("Mode", "Mode must be PULL or PUSH.");
      }
      for (const s of SWITCHES) {
        if (p[s] !== undefined && p[s] !== "ON" && p[s] !== "OFF")
          throw errors.invalidParameterValue(s, `${s} must be ON or OFF.`);
      }
      if (p.SignKey !== undefined && !/^[A-Za-z0-9]{0,32}$/.test(p.SignKey)) {
        throw errors.invalidParameterValue("SignKey", "SignKey is up to 32 letters and digits.");
      }
      if (p.NotificationUrl) {
        // The dispatcher checks every address it connects to as well (a hostname may resolve
        // to a private address later); a literal one is refused here, where it can be said.
        try {
          const url = checkUrl(p.NotificationUrl);
          if (!ctx.deps.config.allowPrivateUrls) checkLiteralHost(url);
        } catch (err) {
          if (err instanceof OutboundError)
            throw errors.invalidParameterValue("NotificationUrl", `NotificationUrl: ${err.message}.`);
          throw err;
        }
      }
      const patch: Partial<EventConfig> = {
        mode: p.Mode,
        notificationUrl: p.NotificationUrl,
        signKey: p.SignKey,
        uploadSwitch: onOff(p.UploadMediaCompleteEventSwitch),
        deleteSwitch: onOff(p.DeleteMediaCompleteEventSwitch),
        persistenceSwitch: onOff(p.PersistenceCompleteEventSwitch),
      };
      await ctx.deps.store.setEventConfig(ctx.app.subAppId, patch);
      return {};
    },
  },

  DescribeEventConfig: {
    notes: "Mode, NotificationUrl and the switches (SignKey is never echoed)",
    async handler(ctx) {
      const c = await ctx.deps.store.getEventConfig(ctx.app.subAppId);
      return {
        Mode: c.mode,
        NotificationUrl: c.notificationUrl,
        UploadMediaCompleteEventSwitch: c.uploadSwitch,
        DeleteMediaCompleteEventSwitch: c.deleteSwitch,
        PersistenceCompleteEventSwitch: c.persistenceSwitch,
      };
    },
  },
};
