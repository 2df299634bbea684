// Playback domains: DescribeVodDomains and ModifyVodDomainConfig over the one domain each
// application has (src/domain/domains.ts). Key hotlink protection (UrlSignatureAuthPolicy) is
// enforced by /files/ (src/http/hotlink.ts); the Referer, IP and QUIC policies can only be
// left disabled.
import { domainDetail, domainOf, setUrlSignaturePolicy, urlSignaturePolicy } from "../domain/domains.js";
import { errors } from "../protocol/errors.js";
import type { ActionFamily } from "./types.js";

/** 8 to 40 visible ASCII characters, as the spec asks of EncryptedKey. */
const ENCRYPTED_KEY = /^[\x21-\x7e]{8,40}$/;

export const domainActions: ActionFamily = {
  DescribeVodDomains: {
    notes:
      "The application's one domain (the host of OPENVOD_PUBLIC_URL or the listening address) with its Key hotlink policy; Referer/IP/QUIC policies Disabled",
    async handler(ctx) {
      const p = ctx.params;
      const detail = await domainDetail(ctx.deps, ctx.app);
      const wanted = !p.Domains?.length || p.Domains.some((d) => d.toLowerCase() === detail.Domain);
      const set = wanted ? [detail].slice(p.Offset ?? 0, (p.Offset ?? 0) + (p.Limit ?? 20)) : [];
      return { TotalCount: wanted ? 1 : 0, DomainSet: set };
    },
  },
  ModifyVodDomainConfig: {
    notes:
      "UrlSignatureAuthPolicy (Key hotlink protection, enforced on /files/ for the application: t/exper/rlimit/us/sign); enabling RefererAuthPolicy, IPFilterPolicy or QUICConfig: UnsupportedOperation",
    async handler(ctx) {
      const p = ctx.params;
      if (p.Domain.toLowerCase() !== domainOf(ctx.deps)) {
        throw errors.invalidParameterValue(
          "Domain",
          `The domain ${p.Domain} is not a domain of this application.`,
        );
      }
      for (const [name, policy] of [
        ["RefererAuthPolicy", p.RefererAuthPolicy],
        ["IPFilterPolicy", p.IPFilterPolicy],
        ["QUICConfig", p.QUICConfig],
      ] as const) {
        if (policy && policy.Status !== "Disabled") {
          throw errors.unsupportedOperation(
            `openvod does not offer ${name} yet; only Key hotlink protection.`,
          );
        }
      }
      const u = p.UrlSignatureAuthPolicy;
      if (u) {
        if (u.Status !== "Enabled" && u.Status !== "Disabled") {
          throw errors.invalidParameterValue(
            undefined,
            "UrlSignatureAuthPolicy.Status must be Enabled or Disabled.",
          );
        }
        const key = u.EncryptedKey ?? (await urlSignaturePolicy(ctx.deps, ctx.app.subAppId)).EncryptedKey;
        if (u.EncryptedKey !== undefined && !ENCRYPTED_KEY.test(u.EncryptedKey)) {
          throw errors.invalidParameterValue(
            undefined,
            "UrlSignatureAuthPolicy.EncryptedKey must be 8 to 40 visible ASCII characters.",
          );
        }
        if (u.Status === "Enabled" && !key) {
          throw errors.invalidParameterValue(
            undefined,
            "Enabling Key hotlink protection needs an EncryptedKey.",
          );
        }
        await setUrlSignaturePolicy(ctx.deps, ctx.app.subAppId, { Status: u.Status, EncryptedKey: key });
      }
      return {};
    },
  },
};
