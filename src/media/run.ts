// Child-process plumbing for ffmpeg and ffprobe. Every run is a spawn (never a shell) with a
// timeout and an optional AbortSignal; both end the child with SIGKILL, and the promise settles
// only once the child has been reaped, so no zombie is left behind. Children die with the
// server, even on kill -9 (see parentDeathWrapper). Output files are produced under a temporary
// name and renamed into place only when complete (writeAtomically).

import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import { accessSync, constants as fsConstants } from "node:fs";
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { MediaTools } from "./tools.js";
import { childEnv } from "./childenv.js";

export type MediaErrorKind = "exit" | "timeout" | "aborted" | "spawn";

/** A failed ffmpeg/ffprobe run. `stderrTail` holds the last few KB the tool wrote to stderr. */
export class MediaError extends Error {
  constructor(
    message: string,
    readonly kind: MediaErrorKind,
    readonly stderrTail: string = "",
    readonly exitCode: number | null = null,
    readonly exitSignal: string | null = null,
  ) {
    super(message);
    this.name = "MediaError";
  }

  /**
   * The tool crashed: killed by a signal we did not send (SIGSEGV, SIGABRT, the OOM killer's
   * SIGKILL...), or a shell-style 128+signal status of one. Never the input's fault, whatever
   * its stderr said before. (ffmpeg's own error statuses, AVERROR codes masked to 8 bits, never
   * take these values in practice.)
   */
  get crashed(): boolean {
    return this.kind === "exit" && (this.exitSignal !== null || CRASH_STATUSES.has(this.exitCode ?? 0));
  }
}

/** 128 + SIGILL, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGSEGV. */
const CRASH_STATUSES = new Set([132, 134, 135, 136, 137, 139]);

/**
 * The prefix that makes a child die with this process. On Linux, `setpriv --pdeathsig KILL`
 * (util-linux) sets PR_SET_PDEATHSIG and execs the tool, which keeps its pid, so our kill,
 * exit status and signal are the tool's own. The kernel sends the signal when the *thread* that
 * spawned the child exits: Node spawns from its main thread, whose end is the process's. Where
 * setpriv is missing (or refuses, e.g. in a restricted sandbox) tools run as they are.
 */
let deathWrapper: string[] | undefined;

function parentDeathWrapper(): string[] {
  if (deathWrapper) return deathWrapper;
  deathWrapper = [];
  if (process.platform !== "linux") return deathWrapper;
  for (const dir of (process.env.PATH ?? "").split(":").concat("/usr/bin", "/bin")) {
    const setpriv = path.join(dir || ".", "setpriv");
    try {
      accessSync(setpriv, fsConstants.X_OK);
    } catch {
      continue;
    }
    // Once per process: a quick check that this setpriv knows --pdeathsig and may use it.
    const probe = [setpriv, "--pdeathsig", "KILL", "--"];
    const ok = spawnSync(setpriv, [...probe.slice(1), setpriv, "--version"], {
      stdio: "ignore",
      timeout: 10_000,
    });
    if (ok.status === 0) deathWrapper = probe;
    break;
  }
  return deathWrapper;
}

/** What setpriv says when the tool itself cannot be started (it then exits 127). */
const WRAPPED_SPAWN_FAILURE = /^setpriv: failed to execute .*$/m;

export interface FfmpegRun {
  args: string[];
  timeoutMs: number;
  signal?: AbortSignal;
  /** Duration of the output in seconds; needed for intermediate progress values. */
  durationSec?: number;
  /** Integer percent 0..100, called only when it increases; 100 only once the run succeeded. */
  onProgress?: (percent: number) => void;
}

const STDERR_TAIL_BYTES = 4096;
const FFPROBE_STDOUT_CAP = 16 * 1024 * 1024;

/** Options prepended to every ffmpeg run. */
export const FFMPEG_COMMON_ARGS: readonly string[] = [
  "-hide_banner",
  "-nostdin",
  "-y",
  "-loglevel",
  "error",
  "-progress",
  "pipe:1",
  "-nostats",
];

export interface ProcessRun {
  /** Name used in error messages ("ffmpeg", "ffprobe"). */
  name: string;
  command: string;
  args: readonly string[];
  timeoutMs: number;
  signal?: AbortSignal;
  /** Receives every stdout chunk. */
  onStdout?: (chunk: Buffer) => void;
  /** Collect stdout and return it; the run fails (kind "exit") once it exceeds this many bytes. */
  collectStdoutMax?: number;
  /** Receives the stdout stream once spawned (to pause/resume it: backpressure on the child). */
  onStdoutStream?: (stdout: Readable) => void;
}

export interface ProcessResult {
  stdout: Buffer;
  stderrTail: string;
}

/**
 * Runs one child process to completion. Resolves on exit code 0; rejects with a MediaError on
 * a spawn failure, a non-zero exit, a timeout or an abort (the last two SIGKILL the child).
 * Internal building block of runFfmpeg/runFfprobe; exported for the locator's `-version` runs.
 */
export function runProcess(run: ProcessRun): Promise<ProcessResult> {
  const { name, signal } = run;
  if (signal?.aborted) {
    return Promise.reject(new MediaError(`${name} was aborted before it started`, "aborted"));
  }
  return new Promise<ProcessResult>((resolve, reject) => {
    let child: ChildProcessByStdio<null, Readable, Readable>;
    const [wrapper, ...wrapperArgs] = parentDeathWrapper();
    try {
      const command = wrapper ?? run.command;
      const args = wrapper ? [...wrapperArgs, run.command, ...run.args] : (run.args as string[]);
      child = spawn(command, args, {
        stdio: ["ignore", "pipe", "pipe"],
        windowsHide: true,
        env: childEnv(run.command),
      });
    } catch (err) {
      reject(new MediaError(`${name} could not be started (${run.command}): ${errMessage(err)}`, "spawn"));
      return;
    }

    run.onStdoutStream?.(child.stdout);
    let stderrTail = Buffer.alloc(0);
    const stdoutChunks: Buffer[] = [];
    let stdoutBytes = 0;
    // Set when we killed the child ourselves; decides the error reported on exit.
    let killedFor: { kind: MediaErrorKind; message: string } | undefined;
    let settled = false;
    let exited = false;
    let timer: NodeJS.Timeout | undefined;

    const tail = () => stderrTail.toString("utf8");

    const cleanup = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const settleError = (err: MediaError) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    const kill = (kind: MediaErrorKind, message: string) => {
      if (killedFor || exited) return;
      killedFor = { kind, message };
      child.kill("SIGKILL");
    };
    function onAbort() {
      kill("aborted", `${name} was aborted`);
    }

    timer = setTimeout(() => kill("timeout", `${name} timed out after ${run.timeoutMs} ms`), run.timeoutMs);
    signal?.addEventListener("abort", onAbort, { once: true });

    child.stdout.on("data", (chunk: Buffer) => {
      if (killedFor) return;
      if (run.collectStdoutMax !== undefined) {
        stdoutBytes += chunk.length;
        if (stdoutBytes > run.collectStdoutMax) {
          kill("exit", `${name} wrote more than ${run.collectStdoutMax} bytes to stdout`);
          return;
        }
        stdoutChunks.push(chunk);
      }
      run.onStdout?.(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.length > STDERR_TAIL_BYTES)
        stderrTail = stderrTail.subarray(stderrTail.length - STDERR_TAIL_BYTES);
    });

    child.on("error", (err: NodeJS.ErrnoException) => {
      // Emitted when the spawn itself failed (ENOENT, EACCES...); there is no process to reap.
      if (!exited && child.pid === undefined) {
        settleError(
          new MediaError(`${name} could not be started (${run.command}): ${err.message}`, "spawn", tail()),
        );
      }
    });

    // After our own SIGKILL, settle as soon as the child is reaped ("exit") instead of waiting
    // for its pipes to close: a grandchild holding them open must not delay the rejection.
    child.on("exit", () => {
      exited = true;
      if (killedFor) settleError(new MediaError(killedFor.message, killedFor.kind, tail()));
    });

    child.on("close", (code: number | null, sig: NodeJS.Signals | null) => {
      exited = true;
      if (settled) return;
      if (killedFor) {
        // Our own kill is not a crash: no status or signal is passed on.
        settleError(new MediaError(killedFor.message, killedFor.kind, tail()));
        return;
      }
      if (code === 0) {
        settled = true;
        cleanup();
        resolve({ stdout: Buffer.concat(stdoutChunks), stderrTail: tail() });
        return;
      }
      const t = tail();
      const notStarted = wrapper && code === 127 ? WRAPPED_SPAWN_FAILURE.exec(t) : null;
      if (notStarted) {
        settleError(
          new MediaError(`${name} could not be started (${run.command}): ${notStarted[0]}`, "spawn", t),
        );
        return;
      }
      const lastLine = t.trim().split("\n").pop()?.trim();
      const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
      settleError(new MediaError(`${name} ${how}${lastLine ? `: ${lastLine}` : ""}`, "exit", t, code, sig));
    });
  });
}

/** Tracks ffmpeg's `-progress` key=value stream and turns it into a monotonic percent. */
class ProgressParser {
  private buffered = "";
  private last = -1;

  constructor(
    private readonly durationSec: number | undefined,
    private readonly emit: ((percent: number) => void) | undefined,
  ) {}

  push(chunk: Buffer): void {
    if (!this.emit) return;
    this.buffered += chunk.toString("utf8");
    let nl: number;
    while ((nl = this.buffered.indexOf("\n")) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      this.line(line);
    }
    // A line never gets this long; guard against a stream without newlines.
    if (this.buffered.length > 65536) this.buffered = "";
  }

  /** Called once the run succeeded: progress always ends at 100. */
  done(): void {
    this.report(100);
  }

  private line(line: string): void {
    const eq = line.indexOf("=");
    if (eq <= 0) return;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1).trim();
    // out_time_ms is (despite its name) also in microseconds in every ffmpeg release.
    if (key === "out_time_us" || key === "out_time_ms") {
      const us = Number(value);
      if (!Number.isFinite(us) || !this.durationSec || this.durationSec <= 0) return;
      const percent = Math.floor((us / 1e6 / this.durationSec) * 100);
      // 100 is kept for the end of the run, so that 100 really means "done".
      this.report(Math.max(0, Math.min(99, percent)));
    } else if (key === "progress" && value === "end") {
      this.report(100);
    }
  }

  private report(percent: number): void {
    if (percent <= this.last || !this.emit) return;
    this.last = percent;
    try {
      this.emit(percent);
    } catch {
      // A failing progress callback must not break the run.
    }
  }
}

/**
 * Runs ffmpeg with `run.args` after the common options (banner off, no stdin, overwrite,
 * errors-only log, machine-readable progress on stdout). Resolves with the tail of what a
 * successful run still wrote to stderr (errors ffmpeg recovered from, such as a truncated input).
 */
export async function runFfmpeg(tools: MediaTools, run: FfmpegRun): Promise<{ stderrTail: string }> {
  const progress = new ProgressParser(run.durationSec, run.onProgress);
  const { stderrTail } = await runProcess({
    name: "ffmpeg",
    command: tools.ffmpeg,
    args: [...FFMPEG_COMMON_ARGS, ...run.args],
    timeoutMs: run.timeoutMs,
    signal: run.signal,
    onStdout: (chunk) => progress.push(chunk),
  });
  progress.done();
  return { stderrTail };
}

/** Runs ffprobe and returns its stdout (at most 16 MB, otherwise the run fails). */
export async function runFfprobe(
  tools: MediaTools,
  args: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  const result = await runProcess({
    name: "ffprobe",
    command: tools.ffprobe,
    args,
    timeoutMs,
    signal,
    collectStdoutMax: FFPROBE_STDOUT_CAP,
  });
  return result.stdout.toString("utf8");
}

/** The temporary sibling of `finalPath`: hidden, unique, and ending with the real extension. */
export function tempPathFor(finalPath: string): string {
  const dir = path.dirname(finalPath);
  const ext = path.extname(finalPath);
  const stem = path.basename(finalPath, ext);
  return path.join(dir, `.${stem}.${randomBytes(6).toString("hex")}.tmp${ext}`);
}

/**
 * Produces `finalPath` atomically: `produce` writes to a temporary path in the same directory
 * (so the rename cannot cross file systems) whose name ends with the final extension (ffmpeg
 * picks the muxer from it); the temp file is renamed over `finalPath` only when `produce`
 * resolved, and removed when it failed. A reader never sees a partial `finalPath`.
 */
export async function writeAtomically(
  finalPath: string,
  produce: (tmpPath: string) => Promise<unknown>,
): Promise<void> {
  await mkdir(path.dirname(finalPath), { recursive: true });
  const tmpPath = tempPathFor(finalPath);
  try {
    await produce(tmpPath);
    await rename(tmpPath, finalPath);
  } catch (err) {
    await rm(tmpPath, { force: true, recursive: true }).catch(() => undefined);
    throw err;
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
