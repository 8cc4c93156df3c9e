/**
 * The high-watermark checkpoint of a node in a cluster, as Kafka's replication-offset-checkpoint: one file
 * in the data dir, written atomically, holding every local replica's high watermark:
 *
 *   0                      version
 *   <count>
 *   <topic> <partition> <high watermark>     one line each
 *
 * Written every replica.high.watermark.checkpoint.interval.ms and on clean shutdown; read at start so a
 * restarted replica exposes what was committed before instead of falling back to its log start until the ISR
 * is learnt again. A checkpointed value is never above what was committed (the HW only moves up to committed
 * offsets), and it is clamped to the log's end when applied.
 */
import { join } from 'node:path';
import { CheckpointFile } from '../storage/checkpoint.js';

export const HW_CHECKPOINT_FILE = 'replication-offset-checkpoint';

export function hwKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** Parse the file; entries that do not parse are skipped (a malformed file gives an empty map). */
export function parseHwCheckpoint(text: string | null): Map<string, bigint> {
  const out = new Map<string, bigint>();
  if (text === null) return out;
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines[0]?.trim() !== '0') return out;
  for (const line of lines.slice(2)) {
    // Topic names have no spaces ([a-zA-Z0-9._-]).
    const m = /^(\S+) (\d+) (\d+)$/.exec(line.trim());
    if (m) out.set(hwKey(m[1] as string, Number(m[2])), BigInt(m[3] as string));
  }
  return out;
}

export function serializeHwCheckpoint(entries: { topic: string; partition: number; hw: bigint }[]): string {
  const sorted = [...entries].sort((a, b) =>
    a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
  );
  return `0\n${sorted.length}\n${sorted.map((e) => `${e.topic} ${e.partition} ${e.hw}\n`).join('')}`;
}

export class HwCheckpoint {
  private readonly file: CheckpointFile;
  private restored = new Map<string, bigint>();
  private timer: NodeJS.Timeout | null = null;

  constructor(dataDir: string) {
    this.file = new CheckpointFile(join(dataDir, HW_CHECKPOINT_FILE));
  }

  /** Read the file (once, at start). */
  async load(): Promise<void> {
    this.restored = parseHwCheckpoint(await this.file.read());
  }

  /** The checkpointed high watermark of a partition, or null; once (a replica re-created later starts afresh). */
  takeRestored(topic: string, partition: number): bigint | null {
    const k = hwKey(topic, partition);
    const hw = this.restored.get(k) ?? null;
    this.restored.delete(k);
    return hw;
  }

  /** Write the current high watermarks (coalesced with a write in flight; skipped when unchanged). */
  write(entries: { topic: string; partition: number; hw: bigint }[]): Promise<void> {
    return this.file.write(serializeHwCheckpoint(entries));
  }

  /** Call `collect` and write its result every `intervalMs`; errors go to `onError`. */
  start(
    intervalMs: number,
    collect: () => { topic: string; partition: number; hw: bigint }[],
    onError: (e: unknown) => void,
  ): void {
    this.timer = setInterval(() => void this.write(collect()).catch(onError), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
