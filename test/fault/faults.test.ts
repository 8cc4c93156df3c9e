/**
 * The bounded fault test (issue 15 part 3): every fault of faults.ts once, on one 3-node cluster and etcd in
 * network namespaces (harness.ts), with librdkafka and kstream producers (acks=all) and consumer groups. After
 * each fault the checker reads every replica of every partition from the data dirs and must find 0
 * acknowledged writes lost, 0 inconsistent offsets, 0 divergent logs below the high watermark and no group
 * offset going backwards; duplicates (no idempotent producer) are counted and printed, not failed. The cluster
 * must also heal (one leader, full ISR, every replica at the HW) and every group read everything.
 *
 * Shorter holds and phases than the soak (scripts/fault-soak.sh, every fault 3 times): the whole file takes
 * about 3 minutes (2 min 39 s and 2 min 46 s on a shared 2-core machine). Each run's JSON report is written
 * to $KSTREAM_FAULT_REPORTS when set (kept), else to a temp dir that is removed when every fault passed and
 * kept (its path printed) when one did not.
 * Needs root (network namespaces, nft, tmpfs mounts): skipped otherwise. Everything it creates — namespaces,
 * veths, the bridge, nft rules, mounts, processes — is removed by after() also when a case fails, and by the
 * next lab's start when this process was killed (test/helpers/netns.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAULTS } from './faults.js';
import { FaultCluster } from './harness.js';
import { type CaseReport, runCase, summarize } from './run-case.js';

const root = process.getuid?.() === 0;

/**
 * Hold of each fault here (the soak holds faults.ts's holdMs × 1.5). Each is still past what it tests: a
 * pause or a partition outlasts the 3 s lease, so leadership moves; etcd stays down long enough for every
 * lease to run out.
 */
const HOLD_MS: Record<string, number> = {
  'kill-leader': 4000,
  'pause-leader': 5000,
  'partition-leader': 6000,
  'partition-leader-etcd': 6000,
  'one-way-in': 6000,
  'one-way-out': 6000,
  'etcd-down': 10_000,
  'disk-full': 5000,
};

describe('fault harness: every fault once, checked', {
  skip: !root && 'needs root (ip netns, nft, tmpfs mounts)',
}, () => {
  let cluster: FaultCluster | undefined;
  const kept = process.env.KSTREAM_FAULT_REPORTS;
  let reportDir = '';
  let failed = 0;
  /** Log lines of the current case (printed when it fails). */
  let lines: string[] = [];

  before(async () => {
    if (kept) mkdirSync(kept, { recursive: true });
    reportDir = kept ?? mkdtempSync(join(tmpdir(), 'kstream-fault-reports-'));
    // The cluster's logs (etcd, every node) go beside the reports: kept with them when a case fails.
    cluster = await FaultCluster.start({
      runDir: join(reportDir, 'cluster'),
      log: (line) => lines.push(`${new Date().toISOString().slice(11, 23)} ${line}`),
    });
  });
  after(async () => {
    await cluster?.close();
    if (!kept && failed === 0 && reportDir !== '') rmSync(reportDir, { recursive: true, force: true });
  });

  test('every fault of faults.ts has a hold here', () => {
    assert.deepEqual(FAULTS.map((f) => f.name).sort(), Object.keys(HOLD_MS).sort());
  });

  FAULTS.forEach((fault, i) => {
    test(`${fault.name}: ${fault.description}`, async (t) => {
      assert.ok(cluster, 'the cluster started');
      lines = [];
      let r: CaseReport;
      try {
        r = await runCase(cluster, {
          fault,
          // The run number rotates which node leads partition 0, so the faults hit every node.
          run: i + 1,
          holdMs: HOLD_MS[fault.name] ?? fault.holdMs,
          warmupMs: 1000,
          recoveryMs: 3000,
          rate: 40,
          reportDir,
          log: (line) => lines.push(`${new Date().toISOString().slice(11, 23)} ${line}`),
        });
      } catch (e) {
        failed++;
        t.diagnostic(`harness log:\n${lines.join('\n')}`);
        t.diagnostic(`reports kept in ${reportDir}`);
        throw e;
      }
      t.diagnostic(summarize(r));
      if (!r.ok) {
        failed++;
        t.diagnostic(`harness log:\n${lines.join('\n')}`);
        t.diagnostic(`reports kept in ${reportDir}`);
      }
      const c = r.checks;
      assert.ok(r.workloadFlowing, `the workload flowed before the fault: ${r.problems.join('; ')}`);
      assert.ok(
        r.timeline.some((s) => s.action === 'fault-end'),
        'the fault was injected and healed',
      );
      assert.equal(c.lostWrites.count, 0, `acknowledged writes lost: ${JSON.stringify(c.lostWrites.examples)}`);
      assert.equal(
        c.inconsistentOffsets.count,
        0,
        `inconsistent offsets: ${JSON.stringify(c.inconsistentOffsets.examples)}`,
      );
      assert.equal(c.divergentLogs.count, 0, `divergent logs: ${JSON.stringify(c.divergentLogs.examples)}`);
      assert.equal(
        c.committedOffsetsBackwards.count,
        0,
        `group offsets backwards: ${JSON.stringify(c.committedOffsetsBackwards.examples)}`,
      );
      assert.ok(c.counts.acked > 0, 'writes were acknowledged');
      assert.ok(r.heal.healed, `the cluster healed after the fault: ${r.heal.state}`);
      for (const [group, ok] of Object.entries(r.drained)) assert.ok(ok, `group ${group} read every committed record`);
      assert.deepEqual(r.problems, []);
    });
  });
});
