// The playback domain of an application and its Key hotlink protection. openvod serves every
// application's files from one origin (OPENVOD_PUBLIC_URL, else the listening address), so each
// application has exactly one domain, that origin's host; its UrlSignatureAuthPolicy is kept
// per application as a document in the template store (family DomainConfig, keyed by domain),
// which needs no schema change.
import type { AppRow } from "../store/types.js";
import type { Deps } from "./deps.js";
import { isoTime } from "./ids.js";

export interface UrlSignaturePolicy {
  Status: "Enabled" | "Disabled";
  EncryptedKey: string;
}

const FAMILY = "DomainConfig";
export const DISABLED: UrlSignaturePolicy = { Status: "Disabled", EncryptedKey: "" };

/** The host (and port, when not the scheme's default) clients fetch files from. */
export function domainOf(deps: Deps): string {
  return new URL(deps.urls.base).host;
}

export async function urlSignaturePolicy(deps: Deps, appId: number): Promise<UrlSignaturePolicy> {
  const row = await deps.store.getTemplate(appId, FAMILY, domainOf(deps));
  const p = row?.body.UrlSignatureAuthPolicy as UrlSignaturePolicy | undefined;
  return p ?? DISABLED;
}

let changes = 0;
/** Counts this process's policy changes, so caches of it see them at once (other processes: their cache's age). */
export const policyChanges = (): number => changes;

export async function setUrlSignaturePolicy(deps: Deps, appId: number, p: UrlSignaturePolicy): Promise<void> {
  const domain = domainOf(deps);
  const now = deps.now();
  const old = await deps.store.getTemplate(appId, FAMILY, domain);
  await deps.store.putTemplate({
    appId,
    family: FAMILY,
    key: domain,
    body: { ...old?.body, UrlSignatureAuthPolicy: p },
    createTime: old?.createTime ?? now,
    updateTime: now,
  });
  changes++;
}

/** DomainDetailInfo of the application's one domain. */
export async function domainDetail(deps: Deps, app: AppRow): Promise<Record<string, unknown>> {
  return {
    Domain: domainOf(deps),
    Type: "VOD",
    AccelerateAreaInfos: [],
    DeployStatus: "Online",
    // openvod holds no certificate of its own (TLS is a reverse proxy's job).
    HTTPSConfig: { CertExpireTime: "", CloudCertId: "" },
    UrlSignatureAuthPolicy: await urlSignaturePolicy(deps, app.subAppId),
    RefererAuthPolicy: { Status: "Disabled", AuthType: "", Referers: [], BlankRefererAllowed: "Yes" },
    CreateTime: isoTime(app.createTime),
    QUICConfig: { Status: "Disabled" },
    IPFilterPolicy: { Status: "Disabled", FilterType: "", IPList: [] },
  };
}
