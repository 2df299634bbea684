// Task dispatch (issue 6): the embedded store (SQLite, API and workers in one process) against
// cluster mode (PostgreSQL, one API process and 1, 2 or 4 worker processes), on the same machine.
//   - submit → start: one DescribeFileAttributes at a time on an idle system; the task's
//     begin_time minus its create_time, read from the database in milliseconds (the API shows
//     whole seconds). This is how fast an idle worker learns of a new task and claims it: an
//     in-process wake-up with SQLite, LISTEN/NOTIFY from another process with PostgreSQL.
//   - tasks/s: a burst of DescribeFileAttributes submitted through the SDK (8 in flight) until
//     every one is FINISH; digests checked afterwards, outside the clock.
// Every process runs OPENVOD_WORKERS=2 task slots. Rounds rotate through the configurations;
// medians are reported. CPU is that of the openvod processes (the PostgreSQL server's own is
// not counted). Knobs: BENCH_DISPATCH_TASKS (200), BENCH_DISPATCH_ROUNDS (3),
// BENCH_DISPATCH_SAMPLES (20 per round), BENCH_DISPATCH_WORKERS (1,2,4); the PostgreSQL server
// is OPENVOD_TEST_PG_URL's (default postgres://postgres@127.0.0.1:5432/postgres).
import Database from "better-sqlite3";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { createTestDatabase } from "../test/helpers/pg.js";
import { OpenvodProcess, tempDir, type FileServer, type Vod } from "../test/helpers/server.js";
import { processCpuSeconds, type Cleanup } from "./proc.js";
import { round } from "./stats.js";

export interface DispatchFile {
  name: string;
  md5: string;
}

export interface DispatchRow {
  store: "sqlite" | "postgres";
  /** Processes running tasks (SQLite: the one process that also serves the API). */
  workerProcesses: number;
  taskSlots: number;
  latencyMs: { p50: number | null; p95: number | null; max: number | null; samples: number };
  tasksPerSec: number | null;
  roundTasksPerSec: (number | null)[];
  cpuMsPerTask: number | null;
}

export interface DispatchSummary {
  tasks: number;
  rounds: number;
  samplesPerRound: number;
  slotsPerProcess: number;
  rows: DispatchRow[];
}

const SLOTS = 2;
const SUBMIT_CONCURRENCY = 8;
const POLL_MS = 10;

interface TaskTimes {
  status: string;
  createTime: number;
  beginTime: number | null;
}

interface Setup {
  row: Pick<DispatchRow, "store" | "workerProcesses" | "taskSlots">;
  api: OpenvodProcess;
  procs: OpenvodProcess[];
  fileIds: string[];
  times(taskId: string): Promise<TaskTimes | undefined>;
  unfinished(): Promise<number>;
  /** err_code and the MD5 each task reported. */
  results(taskIds: string[]): Promise<Map<string, { errCode: number; md5: string | undefined }>>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const median = (xs: number[]) => percentile(xs, 50);

const ENV = {
  OPENVOD_RATE_LIMIT: "0",
  OPENVOD_LOG_LEVEL: "warn",
  OPENVOD_WORKERS: String(SLOTS),
  OPENVOD_STRICT_SHAPE: "0",
};

async function startProcess(cleanup: Cleanup, o: ConstructorParameters<typeof OpenvodProcess>[0]) {
  const p = new OpenvodProcess(o);
  cleanup.add("openvod (dispatch)", () => p.stop());
  await p.start();
  cleanup.child(p.child);
  return p;
}

async function pullFiles(vod: Vod, files: FileServer, names: string[]): Promise<string[]> {
  return Promise.all(
    names.map(async (name) => {
      const { TaskId } = await vod.PullUpload({ MediaUrl: `${files.url}/${name}`, MediaName: name });
      for (;;) {
        const d: any = await vod.DescribeTaskDetail({ TaskId: TaskId! });
        if (d.Status === "FINISH") {
          if (d.PullUploadTask.ErrCode !== 0)
            throw new Error(`pull of ${name} failed: ${d.PullUploadTask.Message}`);
          return d.PullUploadTask.FileId as string;
        }
        await sleep(50);
      }
    }),
  );
}

async function sqliteSetup(cleanup: Cleanup, files: FileServer, names: string[]): Promise<Setup> {
  const dataDir = cleanup.dir(tempDir("openvod-bench-dispatch-"));
  const api = await startProcess(cleanup, { dataDir, env: ENV });
  const fileIds = await pullFiles(api.client(), files, names);
  // A second connection to the live database, read-only (WAL lets it read beside the writer).
  const db = new Database(join(dataDir, "openvod.db"), { readonly: true, fileMustExist: true });
  cleanup.add("sqlite reader", () => {
    db.close();
  });
  const byId = db.prepare("SELECT status, create_time, begin_time FROM tasks WHERE task_id = ?");
  const open = db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE status IN ('WAITING', 'PROCESSING')");
  return {
    row: { store: "sqlite", workerProcesses: 1, taskSlots: SLOTS },
    api,
    procs: [api],
    fileIds,
    async times(taskId) {
      const r = byId.get(taskId) as
        { status: string; create_time: number; begin_time: number | null } | undefined;
      return r && { status: r.status, createTime: r.create_time, beginTime: r.begin_time };
    },
    async unfinished() {
      return (open.get() as { n: number }).n;
    },
    async results(taskIds) {
      const out = new Map<string, { errCode: number; md5: string | undefined }>();
      const stmt = db.prepare("SELECT err_code, state FROM tasks WHERE task_id = ?");
      for (const id of taskIds) {
        const r = stmt.get(id) as { err_code: number; state: string } | undefined;
        if (r) out.set(id, { errCode: r.err_code, md5: JSON.parse(r.state).output?.Md5 });
      }
      return out;
    },
    async close() {
      await api.stop();
    },
  };
}

async function postgresSetup(
  cleanup: Cleanup,
  files: FileServer,
  names: string[],
  workerProcesses: number,
): Promise<Setup> {
  const database = await createTestDatabase("openvod_bench");
  cleanup.add("bench database", () => database.drop());
  const dataDir = cleanup.dir(tempDir("openvod-bench-dispatch-"));
  const env = { ...ENV, OPENVOD_DATABASE_URL: database.url };
  const api = await startProcess(cleanup, { dataDir, env: { ...env, OPENVOD_ROLE: "api" } });
  const workers = await Promise.all(
    Array.from({ length: workerProcesses }, () =>
      startProcess(cleanup, {
        dataDir,
        env: { ...env, OPENVOD_ROLE: "worker", OPENVOD_PUBLIC_URL: api.url },
      }),
    ),
  );
  const fileIds = await pullFiles(api.client(), files, names);
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  cleanup.add("bench database pool", () => pool.end());
  return {
    row: { store: "postgres", workerProcesses, taskSlots: SLOTS * workerProcesses },
    api,
    procs: [api, ...workers],
    fileIds,
    async times(taskId) {
      const { rows } = await pool.query(
        "SELECT status, create_time::float8 AS c, begin_time::float8 AS b FROM tasks WHERE task_id = $1",
        [taskId],
      );
      const r = rows[0];
      return r && { status: r.status, createTime: r.c, beginTime: r.b };
    },
    async unfinished() {
      const { rows } = await pool.query(
        "SELECT COUNT(*)::int AS n FROM tasks WHERE status IN ('WAITING', 'PROCESSING')",
      );
      return rows[0].n;
    },
    async results(taskIds) {
      const { rows } = await pool.query(
        "SELECT task_id, err_code, state->'output'->>'Md5' AS md5 FROM tasks WHERE task_id = ANY($1)",
        [taskIds],
      );
      return new Map(
        rows.map((r) => [r.task_id as string, { errCode: r.err_code as number, md5: r.md5 ?? undefined }]),
      );
    },
    async close() {
      await Promise.all([api, ...workers].map((p) => p.stop()));
    },
  };
}

/** Submit → start of single tasks on an idle system, in ms. */
async function latencySamples(s: Setup, samples: number): Promise<number[]> {
  const vod = s.api.client();
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    // Let the workers go idle (waiting for a wake-up, not between two claims).
    await sleep(20);
    const { TaskId } = await vod.DescribeFileAttributes({ FileId: s.fileIds[i % s.fileIds.length]! });
    for (;;) {
      const t = await s.times(TaskId!);
      if (t?.status === "FINISH" && t.beginTime !== null) {
        out.push(t.beginTime - t.createTime);
        break;
      }
      await sleep(2);
    }
  }
  return out;
}

async function throughputRound(
  s: Setup,
  tasks: number,
  files: DispatchFile[],
): Promise<{ tasksPerSec: number; cpuMsPerTask: number }> {
  if ((await s.unfinished()) !== 0) throw new Error("tasks are still running before the round starts");
  const vod = s.api.client();
  const pids = s.procs.map((p) => p.child.pid);
  const cpu = () => pids.reduce<number>((sum, pid) => sum + (processCpuSeconds(pid) ?? NaN), 0);
  const cpu0 = cpu();
  const ids: string[] = new Array(tasks);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SUBMIT_CONCURRENCY }, async () => {
      while (next < tasks) {
        const i = next++;
        const { TaskId } = await vod.DescribeFileAttributes({ FileId: s.fileIds[i % s.fileIds.length]! });
        ids[i] = TaskId!;
      }
    }),
  );
  while ((await s.unfinished()) > 0) await sleep(POLL_MS);
  const seconds = (performance.now() - t0) / 1000;
  const cpuMsPerTask = ((cpu() - cpu0) * 1000) / tasks;
  // Outside the clock: each task finished with the digest of its file.
  const results = await s.results(ids);
  ids.forEach((id, i) => {
    const r = results.get(id);
    const want = files[i % files.length]!.md5;
    if (!r || r.errCode !== 0 || r.md5 !== want)
      throw new Error(`task ${id} did not finish right: ${JSON.stringify(r)} (want MD5 ${want})`);
  });
  return { tasksPerSec: tasks / seconds, cpuMsPerTask };
}

export async function benchDispatch(o: {
  cleanup: Cleanup;
  files: FileServer;
  media: DispatchFile[];
  tasks: number;
  rounds: number;
  samples: number;
  workerProcesses: number[];
  log: (line: string) => void;
}): Promise<DispatchSummary> {
  const names = o.media.map((m) => m.name);
  const setups: Setup[] = [await sqliteSetup(o.cleanup, o.files, names)];
  for (const n of o.workerProcesses) setups.push(await postgresSetup(o.cleanup, o.files, names, n));
  const label = (s: Setup) =>
    s.row.store === "sqlite"
      ? "SQLite, 1 process"
      : `PostgreSQL, ${s.row.workerProcesses} worker process(es)`;
  o.log(`dispatch: ${setups.map(label).join("; ")} up`);

  const latency = setups.map(() => [] as number[]);
  const rounds = setups.map(() => [] as { tasksPerSec: number; cpuMsPerTask: number }[]);
  for (let r = 0; r < o.rounds; r++) {
    // Rotate the order, so no configuration always runs first (or last) in a round.
    const order = setups.map((_, i) => (i + r) % setups.length);
    for (const i of order) {
      const s = setups[i]!;
      const lat = await latencySamples(s, o.samples);
      latency[i]!.push(...lat);
      const result = await throughputRound(s, o.tasks, o.media);
      rounds[i]!.push(result);
      o.log(
        `dispatch round ${r + 1}/${o.rounds} ${label(s).padEnd(36)} submit→start p50 ${median(lat).toFixed(1)} ms ` +
          `max ${Math.max(...lat).toFixed(0)} ms; ${o.tasks} tasks at ${result.tasksPerSec.toFixed(1)} tasks/s, ` +
          `${result.cpuMsPerTask.toFixed(2)} ms CPU/task`,
      );
    }
  }
  for (const s of setups) await s.close();

  return {
    tasks: o.tasks,
    rounds: o.rounds,
    samplesPerRound: o.samples,
    slotsPerProcess: SLOTS,
    rows: setups.map((s, i) => ({
      ...s.row,
      latencyMs: {
        p50: round(percentile(latency[i]!, 50), 1),
        p95: round(percentile(latency[i]!, 95), 1),
        max: round(Math.max(...latency[i]!), 1),
        samples: latency[i]!.length,
      },
      tasksPerSec: round(median(rounds[i]!.map((x) => x.tasksPerSec)), 1),
      roundTasksPerSec: rounds[i]!.map((x) => round(x.tasksPerSec, 1)),
      cpuMsPerTask: round(median(rounds[i]!.map((x) => x.cpuMsPerTask)), 2),
    })),
  };
}

export function reportDispatch(
  d: DispatchSummary,
  table: (rows: string[][], align: ("l" | "r")[]) => string,
) {
  const n = (x: number | null, digits = 0) => (x === null ? "-" : x.toFixed(digits));
  const sqlite = d.rows.find((r) => r.store === "sqlite");
  return [
    `6. Task dispatch: SQLite embedded (1 process) vs PostgreSQL (1 API process + N worker processes), ` +
      `${d.slotsPerProcess} task slots per process, ${d.rounds} rotating rounds, medians`,
    table(
      [
        [
          "store",
          "task slots",
          "submit→start p50 ms",
          "p95 ms",
          "max ms",
          `tasks/s (${d.tasks} DescribeFileAttributes)`,
          "vs SQLite",
          "openvod CPU ms/task",
        ],
        ...d.rows.map((r) => [
          r.store === "sqlite"
            ? "SQLite, API + workers in 1 process"
            : `PostgreSQL, ${r.workerProcesses} worker process${r.workerProcesses === 1 ? "" : "es"}`,
          String(r.taskSlots),
          n(r.latencyMs.p50, 1),
          n(r.latencyMs.p95, 1),
          n(r.latencyMs.max, 0),
          n(r.tasksPerSec, 1),
          sqlite?.tasksPerSec && r.tasksPerSec !== null
            ? (r.tasksPerSec / sqlite.tasksPerSec).toFixed(2)
            : "-",
          n(r.cpuMsPerTask, 2),
        ]),
      ],
      ["l", "r", "r", "r", "r", "r", "r", "r"],
    ),
    `   submit→start: ${d.rows[0]?.latencyMs.samples ?? 0} single tasks per configuration on an idle system, ` +
      `begin_time − create_time from the database; tasks/s per round: ` +
      d.rows
        .map(
          (r) =>
            `${r.store === "sqlite" ? "SQLite" : `PG×${r.workerProcesses}`} ${r.roundTasksPerSec.map((x) => n(x, 1)).join("/")}`,
        )
        .join("; "),
  ];
}
