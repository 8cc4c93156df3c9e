/**
 * Producer ids for InitProducerId (KIP-98), unique across the cluster and never handed out twice, also after
 * a restart: a node claims a block of ids by compare-and-set on one key of the metadata store
 * (`producer-ids`: the start of the next free block), as Kafka's brokers claim blocks from ZooKeeper or the
 * controller, and hands them out from memory. Ids of a block a node did not use before it stopped are lost,
 * never reused.
 *
 * Every node also watches the key, so it knows which ids were ever handed out by any node: a produce carrying
 * a producer id above them is answered UNKNOWN_PRODUCER_ID (the id was never allocated).
 */
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Logger } from '../util/logger.js';
import type { MetadataStore } from './metadata-store.js';

export const PRODUCER_IDS_KEY = 'producer-ids';
/** Ids claimed at a time (Kafka's block size). */
export const PRODUCER_ID_BLOCK_SIZE = 1000n;
/** Compare-and-set attempts before InitProducerId is answered with a retriable error. */
const CLAIM_ATTEMPTS = 20;

interface BlockDoc {
  /** The first id of the next block to claim (a decimal string: ids are int64). */
  nextBlockStart: string;
  /** The node that claimed the block before it. */
  brokerId: number;
}

function nextBlockStart(value: string | null | undefined): bigint {
  if (!value) return 0n;
  const doc = JSON.parse(value) as Partial<BlockDoc>;
  if (typeof doc.nextBlockStart !== 'string' || !/^\d+$/.test(doc.nextBlockStart)) {
    throw new Error(`malformed ${PRODUCER_IDS_KEY} document ${value.slice(0, 100)}`);
  }
  return BigInt(doc.nextBlockStart);
}

export class ProducerIdManager {
  private next = 0n;
  private end = 0n;
  private claiming: Promise<void> | null = null;
  /** Every id below this may have been handed out by some node (the highest block end seen). */
  private allocatedEnd = 0n;
  private unwatch: (() => Promise<void>) | null = null;

  constructor(
    private readonly store: MetadataStore,
    private readonly nodeId: number,
    private readonly log: Logger,
  ) {}

  /** Learn the blocks claimed so far and follow new claims. */
  async start(): Promise<void> {
    this.unwatch = await this.store.watch(PRODUCER_IDS_KEY, (e) => {
      if (e.type === 'put') this.seen(e.value);
    });
    await this.refresh();
  }

  async stop(): Promise<void> {
    await this.unwatch?.().catch(() => {});
    this.unwatch = null;
  }

  /** Read the key again (a produce names an id above what this node has seen: another node may just have claimed it). */
  async refresh(): Promise<void> {
    this.seen((await this.store.get(PRODUCER_IDS_KEY))?.value);
  }

  private seen(value: string | null | undefined): void {
    try {
      const end = nextBlockStart(value);
      if (end > this.allocatedEnd) this.allocatedEnd = end;
    } catch (e) {
      this.log.warn('ignoring a malformed producer id block document', { error: (e as Error).message });
    }
  }

  /** Whether `id` may have been handed out by a node of this cluster. */
  isAllocated(id: bigint): boolean {
    return id < this.allocatedEnd;
  }

  /** A new producer id (claiming the next block first when this node's is used up). */
  async generate(): Promise<bigint> {
    while (this.next >= this.end) {
      if (!this.claiming) {
        this.claiming = this.claim().finally(() => {
          this.claiming = null;
        });
      }
      await this.claiming;
    }
    return this.next++;
  }

  private async claim(): Promise<void> {
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const kv = await this.store.get(PRODUCER_IDS_KEY);
      const start = nextBlockStart(kv?.value);
      const end = start + PRODUCER_ID_BLOCK_SIZE;
      const doc: BlockDoc = { nextBlockStart: end.toString(), brokerId: this.nodeId };
      if (await this.store.compareAndSet(PRODUCER_IDS_KEY, JSON.stringify(doc), kv?.modRevision ?? 0)) {
        this.next = start;
        this.end = end;
        if (end > this.allocatedEnd) this.allocatedEnd = end;
        this.log.info('claimed a block of producer ids', { from: String(start), to: String(end - 1n) });
        return;
      }
    }
    throw new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'could not claim a block of producer ids; retry');
  }
}
