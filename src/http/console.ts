// The web console at /console/: static files only (console/ in the package, and hls.js's
// bundle from node_modules for the player), a fixed list of them, no path taken from a request.
// The page holds no secret and the server keeps no console session: the operator signs in with
// a key, which stays in the tab, and every call is a signed API request like any SDK's. A strict
// Content-Security-Policy keeps scripts to these files, so a media name can never run as code.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Deps } from "../domain/deps.js";
import { packageFile } from "../packageFile.js";

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

export function registerConsole(app: FastifyInstance, deps: Deps): void {
  const dir = dirname(packageFile("console", "index.html"));
  const hlsBundle = join(
    dirname(createRequire(import.meta.url).resolve("hls.js/package.json")),
    "dist/hls.min.js",
  );
  const files = new Map<string, Buffer>([
    ["index.html", readFileSync(join(dir, "index.html"))],
    ["console.js", readFileSync(join(dir, "console.js"))],
    ["console.css", readFileSync(join(dir, "console.css"))],
    ["hls.min.js", readFileSync(hlsBundle)],
  ]);

  const policy = () => {
    // Files may be served from OPENVOD_PUBLIC_URL's origin rather than this one.
    const files = deps.urls.base ? new URL(deps.urls.base).origin : "";
    return [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data: blob:",
      `connect-src 'self' ${files}`,
      `media-src 'self' blob: ${files}`,
      "worker-src blob:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; ");
  };

  const serve = (name: string, reply: FastifyReply) => {
    const body = files.get(name);
    if (!body) return reply.code(404).type("text/plain").send("Not Found\n");
    return reply
      .header("content-type", TYPES[name.slice(name.lastIndexOf(".") + 1)]!)
      .header("content-security-policy", policy())
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .header("x-frame-options", "DENY")
      .header("cache-control", "no-cache")
      .send(body);
  };
  app.get("/console", async (_req, reply) => reply.redirect("/console/"));
  app.get("/console/", async (_req, reply) => serve("index.html", reply));
  app.get<{ Params: { name: string } }>("/console/:name", async (req, reply) =>
    serve(req.params.name, reply),
  );
}
