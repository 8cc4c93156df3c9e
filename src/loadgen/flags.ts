/**
 * Flags shared by the `kstream bench` commands, and the translation of parsed flags into bench options.
 * Kept light (no client imports): every command module is loaded at start-up.
 */
import { Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from '../cli/base.js';
import { acksFlag, parseAcks } from '../cli/flags.js';
import { securityFlags } from '../cli/security.js';
import type { ProducingOptions } from './common.js';

export const COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type BenchCompression = (typeof COMPRESSIONS)[number];

export const common = {
  brokers: Flags.string({ char: 'b', description: 'bootstrap brokers host:port,... (default: $KSTREAM_BROKERS)' }),
  topic: Flags.string({ char: 't', description: 'topic (created if missing)', default: 'kstream-bench' }),
  records: Flags.integer({ char: 'n', description: 'number of records', default: 1_000_000, min: 1 }),
  output: Flags.string({ char: 'o', description: 'output format', options: ['text', 'json'], default: 'text' }),
  timeout: Flags.string({
    description:
      'give up when the set-up (topic, connections, first metadata) takes longer (500ms, 10s, 1m); the measured run is not bounded by it',
    default: '10s',
  }),
  // TLS, SASL and --profile, as every client command takes them.
  ...securityFlags,
};

export const producing = {
  'record-size': Flags.integer({ char: 's', description: 'bytes per record value', default: 100, min: 0 }),
  partitions: Flags.integer({
    char: 'p',
    description: 'partitions of a topic created by the bench',
    default: 1,
    min: 1,
  }),
  // Kafka's producer default since 3.0 (kafka-producer-perf-test uses it too), and produce's.
  acks: acksFlag('all'),
  compression: Flags.string({
    char: 'z',
    description: 'compression codec',
    options: [...COMPRESSIONS],
    default: 'none',
  }),
  'batch-size': Flags.integer({ description: 'producer batch size in bytes', default: 1_048_576, min: 1 }),
  'linger-ms': Flags.integer({
    description: 'how long a batch waits for more records (linger.ms)',
    default: 5,
    min: 0,
    aliases: ['linger'],
  }),
  'max-in-flight': Flags.integer({
    description: 'producer requests in flight per broker (1: each request waits for the previous answer)',
    default: 5,
    min: 1,
  }),
  throughput: Flags.integer({ description: 'cap in records/s over all producers (-1: unlimited)', default: -1 }),
  idempotence: Flags.boolean({
    description:
      'idempotent producers (KIP-98: producer id, sequences; needs acks all and max-in-flight <= 5); ' +
      '--no-idempotence turns it off',
    default: true,
    allowNo: true,
  }),
};

export function parseCompression(s: string): BenchCompression {
  if ((COMPRESSIONS as readonly string[]).includes(s)) return s as BenchCompression;
  throw new CliError(`--compression must be one of ${COMPRESSIONS.join(', ')}, got ${s}`, EXIT_USAGE);
}

export function checkThroughput(n: number): number {
  if (n === 0 || n < -1)
    throw new CliError('--throughput must be a positive records/s, or -1 for unlimited', EXIT_USAGE);
  return n;
}

/** The parsed `common` + `producing` flags. */
export interface ProducingFlags {
  topic: string;
  records: number;
  output: string;
  'record-size': number;
  partitions: number;
  acks: string;
  compression: string;
  'batch-size': number;
  'linger-ms': number;
  'max-in-flight': number;
  throughput: number;
  idempotence: boolean;
}

/** Bench options from the shared producing flags (checked: bad values are usage errors); -b and --timeout apart. */
export function producingOptions(f: ProducingFlags): Omit<ProducingOptions, 'brokers' | 'timeoutMs'> {
  return {
    topic: f.topic,
    partitions: f.partitions,
    records: f.records,
    recordSize: f['record-size'],
    acks: parseAcks(f.acks),
    compression: parseCompression(f.compression),
    batchSize: f['batch-size'],
    lingerMs: f['linger-ms'],
    maxInFlight: f['max-in-flight'],
    throughput: checkThroughput(f.throughput),
    idempotence: f.idempotence,
    progress: f.output === 'text',
  };
}
