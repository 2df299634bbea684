// The HTTP front of a worker process (OPENVOD_ROLE=worker): no API and no files, only
// GET /healthz for load balancers and orchestrators, with what this process is doing.
import Fastify, { type FastifyInstance } from "fastify";

export function buildHealthServer(info: () => Record<string, unknown>): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: false });
  app.get("/healthz", async () => ({ status: "ok", ...info() }));
  return app;
}
