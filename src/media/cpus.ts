// How many threads a media job gets: the cores of this process shared among the jobs running
// now, not a fixed split by the worker count. A job's threads are fixed when its ffmpeg starts
// (x264 and x265 size their pools once), so its share is taken then: a job that starts alone
// gets every core; one that starts beside others gets an equal part, and never more than the
// cores still free (at least one, so that it runs), so jobs starting after one that took every
// core oversubscribe by as little as they can.
//
// The allotment only sees the jobs of its own process. Several worker processes on one machine
// each believe they have every core: give each its share with OPENVOD_CPUS.
import { availableParallelism } from "node:os";

/** Threads held by one running job, until release(). */
export interface CpuLease {
  readonly threads: number;
  release(): void;
}

export class CpuAllotment {
  private readonly held = new Set<{ threads: number }>();
  private inUse = 0;
  readonly cores: number;

  constructor(cores: number) {
    this.cores = Math.max(1, Math.floor(Number(cores) || 1));
  }

  /** Jobs holding a lease now. */
  get running(): number {
    return this.held.size;
  }

  /** The threads for a job starting now: its fair share, within the free cores, at least 1. */
  acquire(): CpuLease {
    const fair = Math.floor(this.cores / (this.held.size + 1));
    const entry = { threads: Math.max(1, Math.min(fair, this.cores - this.inUse)) };
    this.held.add(entry);
    this.inUse += entry.threads;
    return {
      threads: entry.threads,
      release: () => {
        if (!this.held.delete(entry)) return;
        this.inUse -= entry.threads;
      },
    };
  }
}

const perProcess = new Map<number, CpuAllotment>();

/**
 * The allotment every media job of this process shares (OPENVOD_CPUS; all the machine's cores
 * by default). One per core count, so callers given the same setting share one.
 */
export function processCpus(cores: number = availableParallelism()): CpuAllotment {
  let a = perProcess.get(cores);
  if (!a) perProcess.set(cores, (a = new CpuAllotment(cores)));
  return a;
}
