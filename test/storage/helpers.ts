/**
 * Test helpers for storage: build valid RecordBatch v2 buffers (uncompressed records), temp dirs, configs and
 * a logger that captures lines.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BatchHeader, OFF, rewriteCrc, validateProducedBatches } from '../../src/protocol/records/batch.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/storage/config.js';
import type { Logger } from '../../src/storage/logger.js';

function varint(out: number[], v: number): void {
  let z = ((v << 1) ^ (v >> 31)) >>> 0;
  while (z > 0x7f) {
    out.push((z & 0x7f) | 0x80);
    z >>>= 7;
  }
  out.push(z);
}

function varlong(out: number[], v: bigint): void {
  let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  while (z > 0x7fn) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
}

export interface TestRecord {
  key?: Buffer | null;
  value: Buffer | null;
  timestamp?: bigint;
}

/** One valid v2 batch (base offset 0, leader epoch -1, no producer id) holding `records`. */
export function buildBatch(records: TestRecord[], baseTimestamp = 1_700_000_000_000n): Buffer {
  const body: number[] = [];
  let maxTs = -1n;
  records.forEach((r, i) => {
    const ts = r.timestamp ?? baseTimestamp;
    if (ts > maxTs) maxTs = ts;
    const rec: number[] = [0];
    varlong(rec, ts - baseTimestamp);
    varint(rec, i);
    if (r.key == null) varint(rec, -1);
    else {
      varint(rec, r.key.length);
      rec.push(...r.key);
    }
    if (r.value === null) varint(rec, -1);
    else {
      varint(rec, r.value.length);
      rec.push(...r.value);
    }
    varint(rec, 0);
    varint(body, rec.length);
    body.push(...rec);
  });
  const size = 61 + body.length;
  const b = Buffer.alloc(size);
  b.writeBigInt64BE(0n, OFF.baseOffset);
  b.writeInt32BE(size - 12, OFF.batchLength);
  b.writeInt32BE(-1, OFF.partitionLeaderEpoch);
  b.writeInt8(2, OFF.magic);
  b.writeInt16BE(0, OFF.attributes);
  b.writeInt32BE(records.length - 1, OFF.lastOffsetDelta);
  b.writeBigInt64BE(baseTimestamp, OFF.baseTimestamp);
  b.writeBigInt64BE(maxTs, OFF.maxTimestamp);
  b.writeBigInt64BE(-1n, OFF.producerId);
  b.writeInt16BE(-1, OFF.producerEpoch);
  b.writeInt32BE(-1, OFF.baseSequence);
  b.writeInt32BE(records.length, OFF.recordCount);
  Buffer.from(body).copy(b, 61);
  rewriteCrc(b, 0, size);
  return b;
}

/** A batch of `count` records with `valueSize`-byte values, all at `timestamp`. */
export function simpleBatch(count: number, valueSize = 20, timestamp = 1_700_000_000_000n, fill = 0x61): Buffer {
  const records: TestRecord[] = [];
  for (let i = 0; i < count; i++) records.push({ value: Buffer.alloc(valueSize, fill + (i % 26)), timestamp });
  return buildBatch(records, timestamp);
}

/** Concatenate batches and validate them as the broker does; returns what PartitionLog.append takes. */
export function produced(...batches: Buffer[]): { buf: Buffer; batches: BatchHeader[] } {
  const buf = Buffer.concat(batches);
  const v = validateProducedBatches(buf, 100 * 1024 * 1024);
  if (!v.ok) throw new Error(`test batch invalid: ${v.message}`);
  return { buf, batches: v.batches };
}

export function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}

export async function tempDir(prefix = 'kstream-storage-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export class CapturingLogger implements Logger {
  lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', msg, fields });
  }
  at(level: string): string[] {
    return this.lines.filter((l) => l.level === level).map((l) => l.msg);
  }
}

/** Split a buffer of stored batches into [baseOffset, lastOffset, bytes] triples. */
export function splitBatches(buf: Buffer | null): { baseOffset: bigint; lastOffset: bigint; bytes: Buffer }[] {
  const out: { baseOffset: bigint; lastOffset: bigint; bytes: Buffer }[] = [];
  if (!buf) return out;
  let pos = 0;
  while (pos < buf.length) {
    const size = buf.readInt32BE(pos + OFF.batchLength) + 12;
    const base = buf.readBigInt64BE(pos);
    out.push({
      baseOffset: base,
      lastOffset: base + BigInt(buf.readInt32BE(pos + OFF.lastOffsetDelta)),
      bytes: buf.subarray(pos, pos + size),
    });
    pos += size;
  }
  if (pos !== buf.length) throw new Error('partial batch in read result');
  return out;
}
