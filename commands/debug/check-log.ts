import { Args, Flags } from '@oclif/core';
import { BaseCommand, CliError, EXIT_USAGE } from '../../src/cli/base.js';
import { outputFlag } from '../../src/cli/flags.js';
import { type Column, renderList, section, serialize } from '../../src/cli/output.js';
import type { CheckedSegment, CheckLogReport, LogProblem, PartitionReport } from '../../src/storage/check-log.js';

type SegmentRow = CheckedSegment & { partition: string };
type ProblemRow = LogProblem & { partition: string };

const PARTITIONS: Column<PartitionReport>[] = [
  { header: 'partition', get: (p) => p.partition },
  { header: 'segments', get: (p) => p.segments.length },
  { header: 'log start', get: (p) => p.logStartOffset },
  { header: 'log end', get: (p) => p.logEndOffset },
  { header: 'bytes', get: (p) => p.segments.reduce((n, s) => n + s.bytes, 0) },
  { header: 'status', get: (p) => p.status },
];

const SEGMENTS: Column<SegmentRow>[] = [
  { header: 'partition', get: (s) => s.partition },
  { header: 'file', get: (s) => s.file },
  { header: 'offsets', get: (s) => (s.firstOffset === null ? '-' : `${s.firstOffset}-${s.lastOffset}`) },
  { header: 'batches', get: (s) => s.batches },
  { header: 'bytes', get: (s) => s.bytes },
  { header: 'status', get: (s) => (s.damagedAt === null ? 'ok' : `damaged at byte ${s.damagedAt}`) },
];

const PROBLEMS: Column<ProblemRow>[] = [
  { header: 'partition', get: (p) => p.partition },
  { header: 'file', get: (p) => p.file },
  { header: 'byte', get: (p) => p.position },
  { header: 'offset', get: (p) => p.offset },
  { header: 'problem', get: (p) => p.kind },
  { header: 'detail', get: (p) => p.message },
];

const REPAIRS: Column<PartitionReport>[] = [
  { header: 'partition', get: (p) => p.partition },
  { header: 'log end', get: (p) => p.repair?.logEndOffset },
  { header: 'cut', get: (p) => (p.repair?.cut ? `${p.repair.cut.file} at byte ${p.repair.cut.position}` : null) },
  {
    header: 'set aside',
    get: (p) => (p.repair?.setAside ? `${p.repair.setAside} (${p.repair.files.length} files)` : null),
  },
  { header: 'indexes rebuilt', get: (p) => p.repair?.indexesRebuilt.length },
  { header: 'status', get: (p) => p.status },
];

export default class DebugCheckLog extends BaseCommand {
  static override summary =
    'Check partition logs offline (segments, batches, CRCs, offsets, indexes); --truncate cuts at damage.';
  static override description =
    `DIR is a partition directory (<topic>-<partition>, holding <20 digits>.log segments) or a broker's data
dir (--data-dir of serve: every partition in it). Reads every segment whole, like Kafka's DumpLogSegments:
each batch's length, magic, CRC32C and offsets, the offsets between segments (offsets missing between two
segments are reported unless the partition is compacted, where such gaps are normal), each .index entry
(at a batch start, with that batch's offset), the .timeindex, and the recovery-point and log-start-offset
checkpoints. Every problem is listed with its file and byte position. Exit 0 when nothing is wrong, 1 when
something is.

A broker that meets such damage while serving answers fetches of the damaged offsets with CORRUPT_MESSAGE
and logs the file once; the rest of the partition is served.

--truncate cuts each damaged partition at its first damage so the broker serves what is intact and appends
after it: the segments after the damage, and a copy of the damaged segment, are moved into
<partition dir>/damaged-<time>/ (kept, never deleted), the damaged segment is cut to its intact batches,
its indexes are rebuilt, checkpoints past the new log end are brought down to it. Records at and after the
damage are then no longer in the partition (offsets from the cut on are given to new records); in a
cluster, prefer letting the partition's followers, which hold intact copies, take over. Exit 0 when every
partition is intact afterwards.

Refuses a data dir in use by a running broker (stop it first). -o json|yaml gives every segment and problem.`;
  static override examples = [
    '<%= config.bin %> debug check-log ./kstream-data',
    '<%= config.bin %> debug check-log ./kstream-data/orders-0 -o wide',
    '<%= config.bin %> debug check-log ./kstream-data/orders-0 --truncate',
  ];
  static override args = {
    dir: Args.string({ description: 'a partition directory, or a data dir', required: true }),
  };
  static override flags = {
    truncate: Flags.boolean({
      description: 'cut damaged partitions at their first damage (what follows is set aside, not deleted)',
      default: false,
    }),
    output: outputFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DebugCheckLog);
    const { checkLog, CheckLogError } = await import('../../src/storage/check-log.js');
    let report: CheckLogReport;
    try {
      report = await checkLog(args.dir, { truncate: flags.truncate });
    } catch (e) {
      if (e instanceof CheckLogError) throw new CliError(e.message, e.usage ? EXIT_USAGE : 1);
      throw new CliError(`check-log failed: ${(e as Error).message}`);
    }
    process.stdout.write(await render(report, flags.output));
    if (!report.clean) {
      const damaged = report.partitions.filter((p) => p.status === 'damaged');
      const hint = flags.truncate ? '' : '; --truncate cuts them at their first damage';
      throw new CliError(`damaged: ${damaged.map((p) => p.partition).join(', ')}${hint}`);
    }
  }
}

async function render(report: CheckLogReport, format: 'text' | 'wide' | 'json' | 'yaml'): Promise<string> {
  if (format === 'json' || format === 'yaml') return serialize(report, format);
  const parts: string[] = [];
  if (format === 'wide' || report.kind === 'partition') {
    const rows = report.partitions.flatMap((p) => p.segments.map((s) => ({ ...s, partition: p.partition })));
    parts.push(section('segments', await renderList(rows, SEGMENTS, 'text')));
  } else {
    parts.push(section('partitions', await renderList(report.partitions, PARTITIONS, 'text')));
  }
  const problems = report.partitions.flatMap((p) => p.problems.map((x) => ({ ...x, partition: p.partition })));
  if (problems.length > 0) parts.push(section('problems', await renderList(problems, PROBLEMS, 'text')));
  const repaired = report.partitions.filter((p) => p.repair !== null);
  if (repaired.length > 0) parts.push(section('repairs', await renderList(repaired, REPAIRS, 'text')));
  const n = report.partitions.length;
  const segments = report.partitions.reduce((k, p) => k + p.segments.length, 0);
  const bad = report.partitions.filter((p) => p.status === 'damaged').length;
  const fixed = report.partitions.filter((p) => p.status === 'repaired').length;
  const summary = [`${n} partition${n === 1 ? '' : 's'}, ${segments} segment${segments === 1 ? '' : 's'} checked`];
  if (problems.length === 0) summary.push('no problems');
  else summary.push(`${problems.length} problem${problems.length === 1 ? '' : 's'}`);
  if (fixed > 0) summary.push(`${fixed} repaired`);
  if (bad > 0) summary.push(`${bad} damaged`);
  parts.push(`${summary.join(', ')}\n`);
  return parts.join('\n');
}
