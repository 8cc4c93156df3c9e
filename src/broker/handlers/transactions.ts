/**
 * The transaction coordinator's APIs (KIP-98, KIP-664): AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
 * DescribeTransactions, ListTransactions (InitProducerId is in init-producer-id.ts). The handlers check what
 * the request names (partitions that exist) and translate between wire versions and the coordinator's calls
 * (src/txn/coordinator.ts); the coordinator of the transactional id's `__transaction_state` partition owns
 * the state. PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH to versions before it existed (KIP-588).
 */
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import { partitionFor } from '../../coordinator/records.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Api } from '../../protocol/messages/index.js';
import type { TransactionCoordinator } from '../../txn/coordinator.js';
import { STATE_NAMES } from '../../txn/records.js';
import { allowed, clusterAllowed, Op, Res } from '../acl/check.js';
import { type AnyHandler, defineHandler, type HandlerContext } from '../router.js';

/** The coordinator of a transactional id here, or the error to answer (NOT_COORDINATOR, LOAD_IN_PROGRESS, …). */
export async function txnCoordinator(
  ctx: HandlerContext,
  transactionalId: string,
): Promise<TransactionCoordinator | number> {
  const c = await ctx.node.transactions.coordinatorOf(transactionalId);
  if (c === 'loading') return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  if (c === null) return ctx.node.transactions.errorFor(transactionalId);
  return c;
}

/** PRODUCER_FENCED for versions that know it, INVALID_PRODUCER_EPOCH before. */
export function fencedAs(errorCode: number, version: number, firstVersionWithFenced: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < firstVersionWithFenced
    ? ErrorCode.INVALID_PRODUCER_EPOCH
    : errorCode;
}

type TopicPartitions = readonly { name: string; partitions: readonly number[] }[];

function resultsFor(topics: TopicPartitions, code: (topic: string, p: number) => number) {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: code(t.name, p) })),
  }));
}

/** Add (or, verifyOnly, check) the partitions of one transaction: per-topic results. */
async function addPartitions(
  ctx: HandlerContext,
  tx: { transactionalId: string; producerId: bigint; producerEpoch: number; verifyOnly: boolean },
  topics: TopicPartitions,
  version: number,
) {
  // ACLs as Kafka checks them: WRITE on the transactional id, then WRITE on each topic (the others not attempted).
  if (!allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, tx.transactionalId))
    return resultsFor(topics, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  const deniedTopics = new Set(topics.filter((t) => !allowed(ctx, Op.WRITE, Res.TOPIC, t.name)).map((t) => t.name));
  if (deniedTopics.size > 0)
    return resultsFor(topics, (topic) =>
      deniedTopics.has(topic) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED,
    );
  const unknown = topics.some((t) => t.partitions.some((p) => !ctx.node.partitionExists(t.name, p)));
  if (unknown) {
    // Nothing is added: the unknown partitions say why, the others were not attempted.
    return resultsFor(topics, (topic, p) =>
      ctx.node.partitionExists(topic, p) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
  }
  const c = await txnCoordinator(ctx, tx.transactionalId);
  if (typeof c === 'number') return resultsFor(topics, () => c);
  if (tx.verifyOnly) {
    return resultsFor(topics, (topic, p) =>
      fencedAs(c.verifyPartitions(tx.transactionalId, tx.producerId, tx.producerEpoch, topic, p), version, 2),
    );
  }
  const byTopic = new Map<string, number[]>();
  for (const t of topics) byTopic.set(t.name, [...(byTopic.get(t.name) ?? []), ...t.partitions]);
  const err = await c.addPartitions(tx.transactionalId, tx.producerId, tx.producerEpoch, byTopic);
  return resultsFor(topics, () => fencedAs(err, version, 2));
}

export const addPartitionsToTxn = defineHandler(Api.AddPartitionsToTxn, {
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const v = ctx.header.apiVersion;
    if (v < 4) {
      const results = await addPartitions(
        ctx,
        {
          transactionalId: req.v3AndBelowTransactionalId,
          producerId: req.v3AndBelowProducerId,
          producerEpoch: req.v3AndBelowProducerEpoch,
          verifyOnly: false,
        },
        req.v3AndBelowTopics,
        v,
      );
      return { throttleTimeMs: 0, resultsByTopicV3AndBelow: results };
    }
    // v4+ is the brokers' batched form (KIP-890): CLUSTER_ACTION, as Kafka asks of it.
    if (!clusterAllowed(ctx, Op.CLUSTER_ACTION))
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, resultsByTransaction: [] };
    const resultsByTransaction = await Promise.all(
      req.transactions.map(async (tx) => ({
        transactionalId: tx.transactionalId,
        topicResults: await addPartitions(ctx, tx, tx.topics, v),
      })),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction };
  },
});

export const addOffsetsToTxn = defineHandler(Api.AddOffsetsToTxn, {
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const answer = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode: fencedAs(errorCode, ctx.header.apiVersion, 2),
    });
    if (!allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId))
      return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    if (!allowed(ctx, Op.READ, Res.GROUP, req.groupId)) return answer(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    if (req.groupId === '') return answer(ErrorCode.INVALID_GROUP_ID);
    const c = await txnCoordinator(ctx, req.transactionalId);
    if (typeof c === 'number') return answer(c);
    // The group's __consumer_offsets partition joins the transaction (the topic made first if need be).
    if (!ctx.node.topic(OFFSETS_TOPIC)) await ctx.node.findCoordinator(req.groupId).catch(() => null);
    const doc = ctx.node.topic(OFFSETS_TOPIC);
    if (!doc) return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const p = partitionFor(req.groupId, doc.replicas.length);
    return answer(
      await c.addPartitions(req.transactionalId, req.producerId, req.producerEpoch, new Map([[OFFSETS_TOPIC, [p]]])),
    );
  },
});

export const endTxn = defineHandler(Api.EndTxn, {
  minVersion: 0,
  maxVersion: 4,
  async handle(req, ctx) {
    const answer = (errorCode: number) => ({
      throttleTimeMs: 0,
      errorCode: fencedAs(errorCode, ctx.header.apiVersion, 2),
    });
    if (!allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, req.transactionalId))
      return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const c = await txnCoordinator(ctx, req.transactionalId);
    if (typeof c === 'number') return answer(c);
    return answer(await c.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed));
  },
});

export const describeTransactions = defineHandler(Api.DescribeTransactions, {
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const transactionStates = await Promise.all(
      req.transactionalIds.map(async (transactionalId) => {
        const c = allowed(ctx, Op.DESCRIBE, Res.TRANSACTIONAL_ID, transactionalId)
          ? await txnCoordinator(ctx, transactionalId)
          : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
        const d =
          typeof c === 'number'
            ? { errorCode: c, state: '', timeoutMs: 0, startMs: -1, producerId: -1n, producerEpoch: -1, topics: [] }
            : c.describe(transactionalId);
        return {
          errorCode: d.errorCode,
          transactionalId,
          transactionState: d.state,
          transactionTimeoutMs: d.timeoutMs,
          transactionStartTimeMs: BigInt(d.startMs),
          producerId: d.producerId,
          producerEpoch: d.producerEpoch,
          topics: d.topics,
        };
      }),
    );
    return { throttleTimeMs: 0, transactionStates };
  },
});

const KNOWN_STATES = new Set(Object.values(STATE_NAMES));

export const listTransactions = defineHandler(Api.ListTransactions, {
  minVersion: 0,
  maxVersion: 1,
  handle(req, ctx) {
    const unknownStateFilters = req.stateFilters.filter((s) => !KNOWN_STATES.has(s));
    const states = new Set(req.stateFilters.filter((s) => KNOWN_STATES.has(s)));
    // Only unknown states asked for: nothing can match.
    const none = req.stateFilters.length > 0 && states.size === 0;
    const producerIds = new Set(req.producerIdFilters);
    const transactionStates = none
      ? []
      : ctx.node.transactions
          .all()
          .flatMap((c) => c.list(states, producerIds, Number(req.durationFilter)))
          // Only the transactional ids the principal may DESCRIBE, as Kafka lists them.
          .filter((t) => allowed(ctx, Op.DESCRIBE, Res.TRANSACTIONAL_ID, t.transactionalId));
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      unknownStateFilters,
      transactionStates: transactionStates.map((t) => ({
        transactionalId: t.transactionalId,
        producerId: t.producerId,
        transactionState: t.state,
      })),
    };
  },
});

export const transactionHandlers: AnyHandler[] = [
  addPartitionsToTxn,
  addOffsetsToTxn,
  endTxn,
  describeTransactions,
  listTransactions,
];
