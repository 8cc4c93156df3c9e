/**
 * The key and value formats of records in `__consumer_offsets`, the same as Kafka's (so Kafka tooling that
 * decodes the topic understands ours). Each key and value starts with an int16 version, then a struct:
 *
 *   OffsetCommitKey   v0-1  => group STRING, topic STRING, partition INT32
 *   OffsetCommitValue v0    => offset INT64, metadata STRING, commit_timestamp INT64
 *                     v1    => offset, metadata, commit_timestamp, expire_timestamp INT64
 *                     v2    => offset, metadata, commit_timestamp
 *                     v3    => offset, leader_epoch INT32, metadata, commit_timestamp        (written)
 *   GroupMetadataKey  v2    => group STRING
 *   GroupMetadataValue v0-3 => protocol_type STRING, generation INT32, protocol NULLABLE_STRING,
 *                              leader NULLABLE_STRING, current_state_timestamp INT64 (v2+),
 *                              [members => member_id STRING, group_instance_id NULLABLE_STRING (v3+),
 *                                          client_id STRING, client_host STRING, rebalance_timeout INT32 (v1+),
 *                                          session_timeout INT32, subscription BYTES, assignment BYTES]
 *
 * A null value is a tombstone: the offset or the group was deleted. The structs are MessageDefs, so the
 * one codec of src/protocol encodes and decodes them.
 */
import { Reader } from '../protocol/codec/reader.js';
import { compile, type Decoded, type Encodable, type MessageDef } from '../protocol/codec/schema.js';
import { Writer } from '../protocol/codec/writer.js';

const OffsetCommitKey = {
  name: 'OffsetCommitKey',
  apiKey: -1,
  type: 'request',
  validVersions: '0-1',
  flexibleVersions: 'none',
  fields: [
    { name: 'group', type: 'string', versions: '0+' },
    { name: 'topic', type: 'string', versions: '0+' },
    { name: 'partition', type: 'int32', versions: '0+' },
  ],
} as const satisfies MessageDef;

const OffsetCommitValue = {
  name: 'OffsetCommitValue',
  apiKey: -1,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: 'none',
  fields: [
    { name: 'offset', type: 'int64', versions: '0+' },
    { name: 'leaderEpoch', type: 'int32', versions: '3+', default: -1 },
    { name: 'metadata', type: 'string', versions: '0+' },
    { name: 'commitTimestamp', type: 'int64', versions: '0+' },
    { name: 'expireTimestamp', type: 'int64', versions: '1', default: -1 },
  ],
} as const satisfies MessageDef;

const GroupMetadataKey = {
  name: 'GroupMetadataKey',
  apiKey: -1,
  type: 'request',
  validVersions: '2',
  flexibleVersions: 'none',
  fields: [{ name: 'group', type: 'string', versions: '2' }],
} as const satisfies MessageDef;

const GroupMetadataValue = {
  name: 'GroupMetadataValue',
  apiKey: -1,
  type: 'request',
  validVersions: '0-3',
  flexibleVersions: 'none',
  fields: [
    { name: 'protocolType', type: 'string', versions: '0+' },
    { name: 'generation', type: 'int32', versions: '0+' },
    { name: 'protocol', type: 'string', versions: '0+', nullableVersions: '0+' },
    { name: 'leader', type: 'string', versions: '0+', nullableVersions: '0+' },
    { name: 'currentStateTimestamp', type: 'int64', versions: '2+', default: -1 },
    {
      name: 'members',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'memberId', type: 'string', versions: '0+' },
        { name: 'groupInstanceId', type: 'string', versions: '3+', nullableVersions: '3+', default: null },
        { name: 'clientId', type: 'string', versions: '0+' },
        { name: 'clientHost', type: 'string', versions: '0+' },
        { name: 'rebalanceTimeout', type: 'int32', versions: '1+', default: -1 },
        { name: 'sessionTimeout', type: 'int32', versions: '0+' },
        { name: 'subscription', type: 'bytes', versions: '0+' },
        { name: 'assignment', type: 'bytes', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageDef;

export interface OffsetKey {
  kind: 'offset';
  group: string;
  topic: string;
  partition: number;
}

export interface GroupKey {
  kind: 'group';
  group: string;
}

export interface OffsetValue {
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: bigint;
  /** Only in value v1 (retention given by an old client); -1n otherwise. */
  expireTimestamp: bigint;
}

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeout: number;
  sessionTimeout: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  currentStateTimestamp: bigint;
  members: StoredMember[];
}

function encode<D extends MessageDef>(def: D, version: number, v: Encodable<D>): Buffer {
  const w = new Writer(64);
  w.int16(version);
  compile(def, version).encode(w, v);
  return w.finish();
}

export function offsetKey(group: string, topic: string, partition: number): Buffer {
  return encode(OffsetCommitKey, 1, { group, topic, partition });
}

export function offsetValue(v: Omit<OffsetValue, 'expireTimestamp'>): Buffer {
  return encode(OffsetCommitValue, 3, v);
}

export function groupKey(group: string): Buffer {
  return encode(GroupMetadataKey, 2, { group });
}

export function groupValue(v: GroupValue): Buffer {
  return encode(GroupMetadataValue, 3, v);
}

export class BadRecordError extends Error {}

function decodeStruct<D extends MessageDef>(def: D, buf: Buffer): { version: number; body: Decoded<D> } {
  const r = new Reader(buf);
  const version = r.int16();
  if (r.bad) throw new BadRecordError(`${def.name}: too short`);
  // Newer versions are flexible (compact strings, tagged fields): not written by kstream, refused here.
  let codec: ReturnType<typeof compile>;
  try {
    codec = compile(def, version);
  } catch {
    throw new BadRecordError(`${def.name}: unknown version ${version}`);
  }
  // The codec is compiled from `def`, so what it decodes has def's fields (the codec itself is untyped).
  const body = codec.decode(r) as Decoded<D>;
  if (r.bad) throw new BadRecordError(`${def.name} v${version}: ${r.reason}`);
  return { version, body };
}

/** Decode a `__consumer_offsets` key; throws BadRecordError for bytes that are not one. */
export function decodeKey(buf: Buffer): OffsetKey | GroupKey {
  if (buf.length < 2) throw new BadRecordError('key too short');
  const version = buf.readInt16BE(0);
  if (version === 0 || version === 1) {
    const { body } = decodeStruct(OffsetCommitKey, buf);
    return { kind: 'offset', group: body.group, topic: body.topic, partition: body.partition };
  }
  if (version === 2) {
    const { body } = decodeStruct(GroupMetadataKey, buf);
    return { kind: 'group', group: body.group };
  }
  throw new BadRecordError(`unknown key version ${version}`);
}

export function decodeOffsetValue(buf: Buffer): OffsetValue {
  const { body } = decodeStruct(OffsetCommitValue, buf);
  return {
    offset: body.offset,
    leaderEpoch: body.leaderEpoch,
    metadata: body.metadata,
    commitTimestamp: body.commitTimestamp,
    expireTimestamp: body.expireTimestamp,
  };
}

export function decodeGroupValue(buf: Buffer): GroupValue {
  const { body } = decodeStruct(GroupMetadataValue, buf);
  return body;
}

/** Java's String.hashCode over UTF-16 code units, as Kafka uses to place a group in a partition. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The `__consumer_offsets` partition of a group: Utils.abs(groupId.hashCode) % partitions, as Kafka. */
export function partitionFor(group: string, partitions: number): number {
  const h = javaStringHash(group);
  // Kafka's Utils.abs maps Integer.MIN_VALUE to 0.
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}
