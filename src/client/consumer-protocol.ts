/**
 * Kafka's ConsumerProtocol: the bytes consumer-group members put in JoinGroup protocol metadata (Subscription)
 * and SyncGroup assignments (Assignment) with protocol type "consumer". Java, librdkafka and every other
 * client use these formats, so members of different clients can share a group.
 *
 * Both start with an int16 version and use the classic (non-flexible) encoding: int16-length strings,
 * int32-length arrays and bytes.
 *
 *   Subscription v0: topics [string], user_data nullable bytes
 *                v1: + owned_partitions [topic string, partitions [int32]]
 *                v2: + generation_id int32        v3: + rack_id nullable string
 *   Assignment   v0+: assigned_partitions [topic string, partitions [int32]], user_data nullable bytes
 *
 * A newer version than we know is read as the newest we know (fields are only ever appended).
 */
import { Reader } from '../protocol/codec/reader.js';
import { compile, type MessageDef } from '../protocol/codec/schema.js';
import { Writer } from '../protocol/codec/writer.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface Subscription {
  version?: number;
  topics: string[];
  userData: Buffer | null;
  ownedPartitions: TopicPartitions[];
  /** -1 when unknown (v0/v1). */
  generationId: number;
  rackId: string | null;
}

export interface Assignment {
  version?: number;
  assignedPartitions: TopicPartitions[];
  userData: Buffer | null;
}

const topicPartitionsFields = [
  { name: 'topic', type: 'string', versions: '0+' },
  { name: 'partitions', type: '[]int32', versions: '0+' },
] as const;

const SubscriptionDef: MessageDef = {
  name: 'ConsumerProtocolSubscription',
  apiKey: -1,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: 'none',
  fields: [
    { name: 'topics', type: '[]string', versions: '0+' },
    { name: 'userData', type: 'bytes', versions: '0+', nullableVersions: '0+', default: null },
    { name: 'ownedPartitions', type: '[]struct', versions: '1+', fields: [...topicPartitionsFields] },
    { name: 'generationId', type: 'int32', versions: '2+', default: -1 },
    { name: 'rackId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
  ],
};

const AssignmentDef: MessageDef = {
  name: 'ConsumerProtocolAssignment',
  apiKey: -1,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: 'none',
  fields: [
    { name: 'assignedPartitions', type: '[]struct', versions: '0+', fields: [...topicPartitionsFields] },
    { name: 'userData', type: 'bytes', versions: '0+', nullableVersions: '0+', default: null },
  ],
};

const MAX_KNOWN = 3;

/** Version written by default: v1 carries owned partitions (needed by sticky and cooperative assignors). */
export const SUBSCRIPTION_VERSION = 1;
export const ASSIGNMENT_VERSION = 1;

export function encodeSubscription(s: Partial<Subscription> & { topics: string[] }): Buffer {
  const version = s.version ?? SUBSCRIPTION_VERSION;
  const w = new Writer(64);
  w.int16(version);
  compile(SubscriptionDef, Math.min(version, MAX_KNOWN)).encode(w, {
    topics: s.topics,
    userData: s.userData ?? null,
    ownedPartitions: s.ownedPartitions ?? [],
    generationId: s.generationId ?? -1,
    rackId: s.rackId ?? null,
  });
  return Buffer.from(w.finish());
}

export function decodeSubscription(buf: Buffer): Subscription {
  const r = new Reader(buf);
  const version = r.int16();
  if (r.bad || version < 0) throw bad('subscription', `version ${version}`);
  const body = compile(SubscriptionDef, Math.min(version, MAX_KNOWN)).decode(r);
  if (r.bad) throw bad('subscription', r.reason);
  return {
    version,
    topics: body.topics,
    userData: body.userData,
    ownedPartitions: body.ownedPartitions,
    generationId: body.generationId,
    rackId: body.rackId,
  };
}

export function encodeAssignment(a: Partial<Assignment> & { assignedPartitions: TopicPartitions[] }): Buffer {
  const version = a.version ?? ASSIGNMENT_VERSION;
  const w = new Writer(64);
  w.int16(version);
  compile(AssignmentDef, Math.min(version, MAX_KNOWN)).encode(w, {
    assignedPartitions: a.assignedPartitions,
    userData: a.userData ?? null,
  });
  return Buffer.from(w.finish());
}

/** An empty buffer (a member that got nothing from a leader that sent nothing) decodes as no partitions. */
export function decodeAssignment(buf: Buffer | null): Assignment {
  if (!buf || buf.length === 0) return { version: 0, assignedPartitions: [], userData: null };
  const r = new Reader(buf);
  const version = r.int16();
  if (r.bad || version < 0) throw bad('assignment', `version ${version}`);
  const body = compile(AssignmentDef, Math.min(version, MAX_KNOWN)).decode(r);
  if (r.bad) throw bad('assignment', r.reason);
  return { version, assignedPartitions: body.assignedPartitions, userData: body.userData };
}

function bad(what: string, reason: string): KafkaError {
  return new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `malformed consumer protocol ${what}: ${reason}`);
}
