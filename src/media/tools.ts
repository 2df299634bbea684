// Finds the ffmpeg and ffprobe executables. Each tool is looked up on its own, in this order:
//   1. OPENVOD_FFMPEG / OPENVOD_FFPROBE when set: an explicit choice, so a path that does not
//      exist, is not executable or does not answer `-version` THROWS (no silent fallback);
//   2. the first executable `ffmpeg` / `ffprobe` on PATH that answers `-version`;
//   3. the optional npm packages @ffmpeg-installer/ffmpeg and @ffprobe-installer/ffprobe.

import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import { runProcess } from "./run.js";

export interface MediaTools {
  ffmpeg: string;
  ffprobe: string;
  /** The version token of `ffmpeg -version`'s first line, e.g. "5.1.9-0+deb12u1". */
  ffmpegVersion: string;
  ffprobeVersion: string;
  /** Where the tools came from: "env" if either was set explicitly, else "npm" if either came from the npm packages, else "system". */
  source: "env" | "system" | "npm";
}

export interface LocateOptions {
  /** Consider the optional npm packages as a last resort (default true). */
  npm?: boolean;
}

type Source = MediaTools["source"];

interface ToolSpec {
  name: "ffmpeg" | "ffprobe";
  envVar: string;
  npmPackage: string;
}

const TOOLS: Record<"ffmpeg" | "ffprobe", ToolSpec> = {
  ffmpeg: { name: "ffmpeg", envVar: "OPENVOD_FFMPEG", npmPackage: "@ffmpeg-installer/ffmpeg" },
  ffprobe: { name: "ffprobe", envVar: "OPENVOD_FFPROBE", npmPackage: "@ffprobe-installer/ffprobe" },
};

const VERSION_TIMEOUT_MS = 10_000;

interface Found {
  path: string;
  version: string;
  source: Source;
}

export async function locateMediaTools(
  env: NodeJS.ProcessEnv = process.env,
  options: LocateOptions = {},
): Promise<MediaTools> {
  const [ffmpeg, ffprobe] = await Promise.all([
    locateTool(TOOLS.ffmpeg, env, options),
    locateTool(TOOLS.ffprobe, env, options),
  ]);
  const sources = [ffmpeg.source, ffprobe.source];
  const source: Source = sources.includes("env") ? "env" : sources.includes("npm") ? "npm" : "system";
  return {
    ffmpeg: ffmpeg.path,
    ffprobe: ffprobe.path,
    ffmpegVersion: ffmpeg.version,
    ffprobeVersion: ffprobe.version,
    source,
  };
}

async function locateTool(spec: ToolSpec, env: NodeJS.ProcessEnv, options: LocateOptions): Promise<Found> {
  const explicit = env[spec.envVar]?.trim();
  if (explicit) {
    // A bare name ("ffmpeg-6") is looked up on PATH; anything with a separator is a path.
    const candidate = hasSeparator(explicit) ? path.resolve(explicit) : (await findOnPath(explicit, env))[0];
    if (!candidate || !(await isExecutableFile(candidate))) {
      throw new Error(`${spec.envVar}=${explicit} is not an executable file`);
    }
    try {
      return { path: candidate, version: await readVersion(candidate), source: "env" };
    } catch (err) {
      throw new Error(`${spec.envVar}=${explicit} does not run as ${spec.name}: ${errMessage(err)}`);
    }
  }

  const problems: string[] = [];
  for (const candidate of await findOnPath(spec.name, env)) {
    try {
      return { path: candidate, version: await readVersion(candidate), source: "system" };
    } catch (err) {
      problems.push(`${candidate}: ${errMessage(err)}`);
    }
  }

  if (options.npm !== false) {
    const fromNpm = await npmBinary(spec.npmPackage);
    if (fromNpm && (await isExecutableFile(fromNpm))) {
      try {
        return { path: fromNpm, version: await readVersion(fromNpm), source: "npm" };
      } catch (err) {
        problems.push(`${fromNpm}: ${errMessage(err)}`);
      }
    }
  }

  throw new Error(
    `${spec.name} not found: set ${spec.envVar}, install ${spec.name} on PATH` +
      (options.npm !== false ? ` or the optional npm package ${spec.npmPackage}` : "") +
      (problems.length ? ` (tried ${problems.join("; ")})` : ""),
  );
}

/** Every executable file called `name` in the PATH entries, in PATH order. */
async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string[]> {
  const isWindows = process.platform === "win32";
  const rawPath = env.PATH ?? (isWindows ? env.Path : undefined) ?? "";
  const exts = isWindows ? ["", ...(env.PATHEXT ?? ".EXE;.CMD;.BAT;.COM").split(";").filter(Boolean)] : [""];
  const found: string[] = [];
  for (const dir of rawPath.split(path.delimiter)) {
    // An empty entry would mean the current directory: never pick up binaries from there.
    if (!dir || !path.isAbsolute(dir)) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (!found.includes(candidate) && (await isExecutableFile(candidate))) found.push(candidate);
    }
  }
  return found;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const st = await stat(file);
    if (!st.isFile()) return false;
    if (process.platform !== "win32") await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary path exported by an optional npm installer package, if it is installed. */
async function npmBinary(pkg: string): Promise<string | undefined> {
  try {
    // A variable specifier: the packages are optional and ship no type declarations.
    const specifier: string = pkg;
    const mod = (await import(specifier)) as { default?: { path?: unknown }; path?: unknown };
    const p = mod.default?.path ?? mod.path;
    return typeof p === "string" && p ? p : undefined;
  } catch {
    // Not installed, or the package threw (unsupported platform, missing binary).
    return undefined;
  }
}

/** Runs `<tool> -version` and returns the version token of its first line. */
async function readVersion(binary: string): Promise<string> {
  const { stdout } = await runProcess({
    name: path.basename(binary),
    command: binary,
    args: ["-version"],
    timeoutMs: VERSION_TIMEOUT_MS,
    collectStdoutMax: 1024 * 1024,
  });
  const firstLine = stdout.toString("utf8").split(/\r?\n/, 1)[0]?.trim() ?? "";
  if (!firstLine) throw new Error("`-version` printed nothing");
  const m = /\bversion\s+(\S+)/.exec(firstLine);
  if (!m) throw new Error(`unexpected \`-version\` output: ${firstLine}`);
  return m[1]!;
}

function hasSeparator(p: string): boolean {
  return p.includes("/") || (process.platform === "win32" && p.includes("\\"));
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
