/**
 * Topic administration, one implementation for a single node and for a node of a cluster: create and delete
 * topics, add partitions, alter configs, validate manual assignments and partition limits. The topics live in
 * the metadata store (through the ClusterManager: the local store of a single node, or etcd); every node then
 * brings its replicas in line through its ReplicaManager.
 *
 * Crash- and full-disk-safety of the data dir (issue 23), for whichever store:
 * - creation is all or nothing: an intent, this node's replicas' logs (on a single node: all of them), then
 *   the commit to the metadata store, then the intent goes; a failure midway removes what was made, a crash
 *   midway is finished (the store has the topic) or rolled back at the next start (intentHooks);
 * - deletion needs no free space: an intent (an empty file), the topic out of the metadata store, this node's
 *   logs removed, the intent gone. On a full disk the store cannot be rewritten before the logs free space: the
 *   logs go first then. Once the intent is written whatever fails is finished at the next start.
 */
import { randomUUID } from 'node:crypto';
import { assignReplicas, type ClusterManager, partitionKey } from '../cluster/cluster.js';
import type { MetadataStore } from '../cluster/metadata-store.js';
import { OFFSETS_TOPIC } from '../coordinator/offsets-topic.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { isNoSpace } from '../storage/checkpoint.js';
import { type LogConfig, logConfigFromProps } from '../storage/config.js';
import type { LoadOptions, LogManager } from '../storage/log-manager.js';
import { TXN_TOPIC } from '../txn/log.js';
import { forEachLimited } from '../util/concurrency.js';
import type { Logger } from '../util/logger.js';
import type { BrokerConfig } from './config.js';
import { addToLoad, checkPartitionLimits, emptyLoad, type PartitionLoad } from './partition-limits.js';
import type { ReplicaManager } from './replica-manager.js';
import { TOPIC_CONFIG_KEYS } from './topic-config.js';

const TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;

export function validateTopicName(name: string): string | null {
  if (name === '') return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name ${JSON.stringify(name)} is not allowed`;
  if (name.length > 249) return `topic name is longer than 249 characters`;
  if (!TOPIC_NAME.test(name)) return `topic name ${JSON.stringify(name)} has characters other than [a-zA-Z0-9._-]`;
  return null;
}

/** Internal topics: only the broker writes them, nobody deletes them, they stay compacted. */
export function isInternalTopic(name: string): boolean {
  return name === OFFSETS_TOPIC || name === TXN_TOPIC;
}

/** A topic as created (or as it would be, for validateOnly). */
export interface CreatedTopic {
  /** '' for validateOnly. */
  id: string;
  configs: Record<string, string>;
  partitions: number;
  replicationFactor: number;
}

/**
 * The data dir's interrupted creations and deletions, resolved against the metadata store at start: a
 * creation whose topic the store has is finished, else rolled back; a deletion is finished in the store too.
 */
export async function intentHooks(store: MetadataStore): Promise<LoadOptions> {
  const names = new Map<string, string>();
  for (const kv of await store.list('topics/')) {
    names.set((JSON.parse(kv.value) as { id: string }).id, kv.key.slice('topics/'.length));
  }
  return {
    creationCommitted: (id) => names.has(id),
    deletionFinished: async (id) => {
      const name = names.get(id);
      if (name === undefined) return;
      await deleteTopicKeys(store, name);
      names.delete(id);
    },
  };
}

/** Remove a topic's document and its partitions' states from the store. */
async function deleteTopicKeys(store: MetadataStore, name: string): Promise<void> {
  await store.delete(`topics/${name}`);
  const states = await store.list(`partitions/${name}/`);
  await Promise.all(states.map((kv) => store.delete(kv.key)));
}

/** Where a topic's replica assignment starts (a hash of its name), so topics do not all start on one broker. */
function assignmentShift(name: string): number {
  let shift = 0;
  for (const ch of name) shift = (shift * 31 + ch.charCodeAt(0)) >>> 0;
  return shift;
}

export class TopicAdmin {
  /** Topic creations in flight (their replicas), so concurrent auto-creates of one name create it once. */
  private readonly creating = new Map<string, { done: Promise<CreatedTopic>; replicas: number[][] }>();

  constructor(
    private readonly config: BrokerConfig,
    private readonly metadata: ClusterManager,
    private readonly logs: LogManager,
    private readonly replicas: ReplicaManager,
    private readonly logDefaults: LogConfig,
    private readonly isStopping: () => boolean,
    private readonly log: Logger,
  ) {}

  topicLogConfig(configs: Record<string, string>): LogConfig {
    return logConfigFromProps(configs, this.logDefaults, { mode: 'strict-topic' });
  }

  /** Whether a topic exists (anywhere in the cluster). */
  hasTopic(name: string): boolean {
    return this.metadata.topics.has(name);
  }

  /** A topic's config overrides (hosted here or not); null if unknown. */
  topicConfigs(name: string): Record<string, string> | null {
    return this.metadata.topics.get(name)?.configs ?? null;
  }

  /** Whether a topic partition exists (on this node or another). */
  partitionExists(topic: string, index: number): boolean {
    return (this.metadata.topics.get(topic)?.replicas.length ?? 0) > index;
  }

  /** Creations in progress finish (or fail) first: the node waits for them when it stops. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.creating.values()].map((c) => c.done));
  }

  /**
   * A failed file system operation on a topic, for the client: logged here (with the cause), answered as
   * KAFKA_STORAGE_ERROR with a message that says what happened to the topic.
   */
  private storageFailure(what: string, e: unknown, outcome: string): KafkaError {
    if (e instanceof KafkaError) return e;
    const cause = isNoSpace(e) ? 'no space left on the data dir' : (e as Error).message;
    this.log.error(`${what}: ${cause}; ${outcome}`, { error: e });
    return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${what}: ${cause}; ${outcome}`);
  }

  /** Creating a topic's partitions one by one stops when the node is asked to stop (SIGTERM). */
  private throwIfStopping(topic: string): void {
    if (this.isStopping()) {
      throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, `the broker is shutting down; creating ${topic} stopped`);
    }
  }

  private checkConfigs(configs: Record<string, string>): LogConfig {
    for (const key of Object.keys(configs)) {
      if (!(key in TOPIC_CONFIG_KEYS)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `unknown topic config ${key}`);
    }
    try {
      return this.topicLogConfig(configs);
    } catch (e) {
      throw new KafkaError(ErrorCode.INVALID_CONFIG, (e as Error).message);
    }
  }

  /**
   * Create a topic. Throws KafkaError with the protocol error code on invalid input.
   * `validateOnly` checks everything and creates nothing.
   */
  async createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string>,
    validateOnly = false,
    /** Manual replica assignment (CreateTopics assignments): replicas per partition; overrides the counts. */
    assignment: number[][] | null = null,
  ): Promise<CreatedTopic> {
    const bad = validateTopicName(name);
    if (bad) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
    if (this.hasTopic(name) || this.creating.has(name)) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
    }
    if (assignment) this.validateAssignment(assignment, null);
    const n = assignment ? assignment.length : partitions === -1 ? this.config.numPartitions : partitions;
    if (!Number.isInteger(n) || n < 1 || n > 100000) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `number of partitions must be 1..100000, got ${partitions}`);
    }
    const rf = assignment
      ? (assignment[0] as number[]).length
      : replicationFactor === -1
        ? this.config.defaultReplicationFactor
        : replicationFactor;
    const live = this.metadata.liveBrokers;
    if (!Number.isInteger(rf) || rf < 1 || rf > live.length) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `replication factor ${rf} is larger than the ${live.length} available broker${live.length === 1 ? '' : 's'}`,
      );
    }
    const logConfig = this.checkConfigs(configs);
    const replicas = assignment ?? assignReplicas(live, n, rf, assignmentShift(name));
    if (!isInternalTopic(name)) checkPartitionLimits(this.config, this.partitionLoad(), replicas);
    if (validateOnly) return { id: '', configs, partitions: n, replicationFactor: rf };
    const id = randomUUID().replaceAll('-', '');
    const done = this.create(name, id, replicas, configs, logConfig);
    this.creating.set(name, { done, replicas });
    try {
      return await done;
    } finally {
      this.creating.delete(name);
    }
  }

  /** All or nothing: an intent, this node's replicas' logs, then the store (the commit), then the intent goes. */
  private async create(
    name: string,
    id: string,
    replicas: number[][],
    configs: Record<string, string>,
    logConfig: LogConfig,
  ): Promise<CreatedTopic> {
    const node = this.replicas.nodeId;
    try {
      await this.logs.beginCreate(name, id);
    } catch (e) {
      throw this.storageFailure(`cannot create topic ${name}`, e, 'nothing was created');
    }
    // Until this creation is decided, syncs leave the name alone: another node may win the race for it, and
    // its record can arrive while our logs are being made; a sync would set them aside as an older topic's
    // under our feet (found by the fault harness: replicas left without their dirs). Ours go first, then the
    // winner's replicas are opened.
    this.replicas.hold(name);
    try {
      // This node's logs, several at a time (the 50 of __consumer_offsets do not hold up a topic created
      // meanwhile for long); every one settles before a failure rolls the creation back.
      const local = [...replicas.keys()].filter((i) => (replicas[i] as number[]).includes(node));
      let failure: unknown = null;
      await forEachLimited(local, 8, async (i) => {
        if (failure) return;
        try {
          this.throwIfStopping(name);
          // A log of this name being served is another creation's (a node of the cluster raced us to it).
          if (this.logs.get(name, i))
            throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
          await this.logs.getOrCreate(name, i, logConfig, id);
        } catch (e) {
          failure ??= e;
        }
      });
      if (failure) throw failure;
      if (!(await this.metadata.createTopic(name, replicas, configs, id))) {
        throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `topic ${name} already exists`);
      }
    } catch (e) {
      const failure = this.storageFailure(`cannot create topic ${name}`, e, 'nothing was created');
      await this.logs.abortCreate(name, id).catch((e2: unknown) => {
        this.log.error('rolling back a topic creation failed; it is rolled back at the next start', {
          topic: name,
          error: e2,
        });
      });
      this.replicas.release(name);
      this.replicas.syncSoon();
      throw failure;
    }
    this.replicas.release(name);
    await this.logs.commitCreate(id);
    const rf = (replicas[0] as number[]).length;
    this.log.info('created topic', { topic: name, partitions: replicas.length, replicationFactor: rf });
    await this.awaitPartitionInView(name, replicas.length - 1);
    // This node's replicas serve before the client hears of the topic.
    await this.replicas.sync();
    // And, briefly, the other nodes' leaders too, so a client's first Metadata names them all.
    await this.awaitLeadersReady(name, replicas.length);
    return { id, configs, partitions: replicas.length, replicationFactor: rf };
  }

  /**
   * The topic exists after this (auto-created when allowed and enabled), or false. A topic being created is
   * waited for.
   */
  async topicOrAutoCreate(name: string, allowAutoCreate: boolean): Promise<boolean> {
    const inflight = this.creating.get(name);
    if (inflight) await inflight.done.catch(() => {});
    if (this.hasTopic(name)) return true;
    if (!allowAutoCreate || !this.config.autoCreateTopicsEnable || validateTopicName(name) !== null) return false;
    try {
      await this.createTopic(name, -1, -1, {});
      return true;
    } catch (e) {
      if (e instanceof KafkaError && e.code === ErrorCode.TOPIC_ALREADY_EXISTS) return this.hasTopic(name);
      if (e instanceof KafkaError && e.code === ErrorCode.POLICY_VIOLATION) {
        this.log.warn('auto-creation refused', { topic: name, reason: e.detail });
      }
      throw e;
    }
  }

  async deleteTopic(name: string): Promise<void> {
    // A topic still being created is not unknown: its creation finishes (or fails) first, then it is deleted.
    await this.creating.get(name)?.done.catch(() => {});
    const doc = this.metadata.topics.get(name);
    if (!doc) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    if (!this.config.deleteTopicEnable) throw new KafkaError(ErrorCode.TOPIC_DELETION_DISABLED);
    if (isInternalTopic(name)) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `${name} is an internal topic`);
    let started = false;
    let unstored = false;
    const unstore = async () => {
      await this.metadata.deleteTopic(name);
      unstored = true;
    };
    this.replicas.hold(name);
    try {
      await this.logs.deleteTopic(name, {
        topicId: doc.id,
        whenStarted: async () => {
          try {
            await unstore();
          } catch (e) {
            // A full disk: the metadata file cannot be rewritten before the logs have freed their space.
            if (!isNoSpace(e)) throw e;
          }
          started = true;
          this.replicas.removeTopic(name);
        },
        whenRemoved: async () => {
          if (!unstored) await unstore();
        },
      });
    } catch (e) {
      if (!started) throw this.storageFailure(`cannot delete topic ${name}`, e, 'the topic is unchanged');
      this.log.error(`deleting topic ${name} did not finish; it is finished at the next start`, {
        topic: name,
        error: e,
      });
    } finally {
      this.replicas.release(name);
    }
    this.log.info('deleted topic', { topic: name });
    // The group coordinators forget the topic's committed offsets before the client hears it is gone.
    await this.replicas.sync().catch(() => {});
  }

  /**
   * Grow a topic to `count` partitions (CreatePartitions). Partitions are never removed. `assignment` (the
   * replicas of each NEW partition) is optional; without it the new partitions are assigned like creation's
   * (rack-aware and even, continuing its sequence). The topic record is changed by compare-and-set, so
   * concurrent requests on different nodes cannot both add partitions; every node then creates its replicas.
   */
  async addPartitions(
    name: string,
    count: number,
    validateOnly = false,
    assignment: number[][] | null = null,
  ): Promise<void> {
    const doc = this.metadata.topics.get(name);
    const current = doc?.replicas.length;
    if (current === undefined)
      throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    if (!Number.isInteger(count) || count <= current) {
      throw new KafkaError(
        ErrorCode.INVALID_PARTITIONS,
        `topic ${name} has ${current} partitions; the new count ${count} must be larger`,
      );
    }
    if (count > 100000) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `at most 100000 partitions, got ${count}`);
    if (assignment && assignment.length !== count - current) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `${assignment.length} assignments for ${count - current} new partitions`,
      );
    }
    const rf = (doc?.replicas[0] ?? []).length;
    const live = this.metadata.liveBrokers;
    if (assignment) this.validateAssignment(assignment, rf);
    else if (rf > live.length) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICATION_FACTOR,
        `topic ${name} has replication factor ${rf} but only ${live.length} brokers are alive`,
      );
    }
    const added = assignment ?? assignReplicas(live, count, rf, assignmentShift(name)).slice(current);
    checkPartitionLimits(this.config, this.partitionLoad(), added);
    if (validateOnly) return;
    let code: number = ErrorCode.NONE;
    let done: boolean;
    try {
      done = await this.metadata.addPartitions(name, current, added, (c) => {
        code = c;
      });
    } catch (e) {
      throw this.storageFailure(`cannot add partitions to topic ${name}`, e, 'the topic is unchanged');
    }
    if (!done) {
      throw new KafkaError(
        code === ErrorCode.NONE ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : code,
        code === ErrorCode.INVALID_PARTITIONS
          ? `topic ${name} changed its partition count meanwhile; retry`
          : `topic ${name} does not exist`,
      );
    }
    this.log.info('added partitions', { topic: name, partitions: count });
    await this.awaitPartitionInView(name, count - 1);
    try {
      await this.replicas.sync();
    } catch (e) {
      const here = this.replicas.topic(name)?.partitions.size ?? 0;
      throw this.storageFailure(
        `cannot create the new partitions of topic ${name}`,
        e,
        `${here} replicas of it are on this node; the others are created at the next start`,
      );
    }
    await this.awaitLeadersReady(name, count);
  }

  /**
   * A manual assignment (replicas per partition): every broker exists, no broker twice in a partition, the
   * same number of replicas everywhere (`rf`, when given: the topic's). INVALID_REPLICA_ASSIGNMENT otherwise.
   */
  validateAssignment(assignment: number[][], rf: number | null): void {
    const bad = (why: string) => new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, why);
    const live = new Set(this.metadata.liveBrokers.map((b) => b.nodeId));
    const want = rf ?? assignment[0]?.length ?? 0;
    for (const [i, replicas] of assignment.entries()) {
      if (replicas.length === 0) throw bad(`partition ${i} has no replicas`);
      if (replicas.length !== want) {
        throw bad(`partition ${i} has ${replicas.length} replicas, expected ${want} like the others`);
      }
      if (new Set(replicas).size !== replicas.length) throw bad(`partition ${i} lists a broker twice: ${replicas}`);
      const unknown = replicas.filter((r) => !live.has(r));
      if (unknown.length > 0) throw bad(`partition ${i}: unknown or dead broker(s) ${unknown.join(',')}`);
    }
  }

  /**
   * Replace a topic's config overrides with `next(current)` (AlterConfigs gives the whole set,
   * IncrementalAlterConfigs computes it from the current one). Validates every key and value before changing
   * anything. The configs live in the topic record (compare-and-set, so concurrent alters do not lose each
   * other's changes); every node applies them to its replicas.
   */
  async alterTopicConfigs(
    name: string,
    next: (current: Record<string, string>) => Record<string, string>,
    validateOnly = false,
  ): Promise<void> {
    const current = this.topicConfigs(name);
    if (!current) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    const check = (configs: Record<string, string>): void => {
      this.checkConfigs(configs);
      if (isInternalTopic(name) && !(configs['cleanup.policy'] ?? '').includes('compact')) {
        throw new KafkaError(ErrorCode.INVALID_CONFIG, `${name} is internal and must stay compacted`);
      }
    };
    if (validateOnly) {
      check(next({ ...current }));
      return;
    }
    let configs = current;
    let failure: unknown = null;
    const doc = await this.metadata.casTopic(name, (d) => {
      try {
        configs = next({ ...d.configs });
        check(configs);
      } catch (e) {
        failure = e;
        return null;
      }
      return { ...d, configs };
    });
    if (failure) throw failure;
    if (!doc) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `topic ${name} does not exist`);
    // This node's own replicas take the new configs now; the others through their view.
    const t = this.replicas.topic(name);
    if (t && t.id === doc.id) this.replicas.applyConfigs(t, doc.configs);
    this.log.info('altered topic configs', { topic: name, configs: JSON.stringify(configs) });
  }

  /** Partitions and replicas per node now: the cluster's topics and the creations under way. */
  private partitionLoad(): PartitionLoad {
    const load = emptyLoad();
    for (const doc of this.metadata.topics.values()) addToLoad(load, doc.replicas);
    for (const c of this.creating.values()) addToLoad(load, c.replicas);
    return load;
  }

  /**
   * Wait (at most 5 s) until every leader of a new topic took leadership (no partition state says
   * leaderPending): Metadata names no leader before, so clients would only wait and ask again.
   */
  private async awaitLeadersReady(topic: string, partitions: number): Promise<void> {
    const pending = () => {
      for (let p = 0; p < partitions; p++) if (this.metadata.partition(topic, p)?.doc.leaderPending) return true;
      return false;
    };
    for (let i = 0; i < 250 && pending() && !this.isStopping(); i++) await new Promise((r) => setTimeout(r, 20));
  }

  /** Wait (briefly) until this node's cluster view has `topic` partition `p`, so a client's next Metadata sees it. */
  private async awaitPartitionInView(topic: string, p: number): Promise<void> {
    for (let i = 0; i < 100 && !this.metadata.partitions.has(partitionKey(topic, p)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
