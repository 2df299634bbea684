// The CPU allotment (src/media/cpus.ts): how many threads a media job gets from the jobs
// running when it starts, not from OPENVOD_WORKERS.
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, test } from "node:test";
import { CpuAllotment, processCpus } from "../src/media/cpus.js";

describe("CpuAllotment", () => {
  test("a job alone gets every core, and again once the others have ended", () => {
    const cpus = new CpuAllotment(8);
    const a = cpus.acquire();
    assert.equal(a.threads, 8);
    a.release();
    assert.equal(cpus.running, 0);
    assert.equal(cpus.acquire().threads, 8);
  });

  test("two jobs at once share the cores without oversubscribing", () => {
    const cpus = new CpuAllotment(8);
    const x = cpus.acquire();
    const y = cpus.acquire();
    assert.equal(x.threads, 8, "the first one started alone");
    assert.equal(y.threads, 1, "every core is taken: it gets one, not a share on top");
    x.release();
    // y (1 thread) still runs: the next job gets its fair half, not all that is free.
    const z = cpus.acquire();
    assert.equal(z.threads, 4);
    y.release();
    const w = cpus.acquire();
    assert.equal(w.threads, 4, "beside z's 4: the other half");
    assert.equal(cpus.running, 2);
  });

  test("on two cores, the bench's case: 2 alone, then 1 each while two run", () => {
    const cpus = new CpuAllotment(2);
    const first = cpus.acquire();
    const second = cpus.acquire();
    assert.deepEqual([first.threads, second.threads], [2, 1]);
    first.release();
    const third = cpus.acquire();
    assert.equal(third.threads, 1);
    second.release();
    third.release();
    assert.equal(cpus.acquire().threads, 2);
  });

  test("more jobs than cores: one thread each; a release counts once", () => {
    const cpus = new CpuAllotment(2);
    const leases = Array.from({ length: 5 }, () => cpus.acquire());
    assert.deepEqual(
      leases.map((l) => l.threads),
      [2, 1, 1, 1, 1],
    );
    leases[0]!.release();
    leases[0]!.release();
    assert.equal(cpus.running, 4);
    for (const l of leases) l.release();
    assert.equal(cpus.running, 0);
    assert.equal(cpus.acquire().threads, 2);
  });

  test("a nonsense core count is one core", () => {
    assert.equal(new CpuAllotment(0).cores, 1);
    assert.equal(new CpuAllotment(NaN).acquire().threads, 1);
  });

  test("one allotment per process: every caller with the same setting shares it", () => {
    assert.equal(processCpus(), processCpus(availableParallelism()));
    const shared = processCpus(6);
    const lease = shared.acquire();
    try {
      assert.equal(processCpus(6).running, 1);
      const beside = processCpus(6).acquire();
      assert.equal(beside.threads, 1);
      beside.release();
    } finally {
      lease.release();
    }
  });
});
