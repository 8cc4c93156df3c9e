/**
 * InitProducerId v0-5.
 *
 * Without a transactional id (KIP-98 idempotence): a new producer id, epoch 0, from the blocks this node
 * claimed in the metadata store (src/cluster/producer-ids.ts). As Kafka's broker does for an idempotent
 * producer, the id and epoch a v3+ request carries (a producer recovering from an error, KIP-360) get a fresh
 * id: the producer starts its sequences again at 0, and the partitions know it as a new producer.
 *
 * With a transactional id: answered by the id's transaction coordinator (src/txn/coordinator.ts): the id's
 * producer id with a bumped epoch, older instances fenced, a transaction they left open aborted first
 * (CONCURRENT_TRANSACTIONS until it is). PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v4 (KIP-588).
 *
 * Both or neither of producer id and epoch must be given (INVALID_REQUEST otherwise); an empty transactional
 * id is INVALID_REQUEST.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api } from '../../protocol/messages/index.js';
import { allowed, clusterAllowed, Op, Res } from '../acl/check.js';
import { defineHandler } from '../router.js';
import { fencedAs, txnCoordinator } from './transactions.js';

export const initProducerId = defineHandler(Api.InitProducerId, {
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const { node, log } = ctx;
    const answer = (errorCode: number, producerId = -1n, producerEpoch = -1) => ({
      throttleTimeMs: 0,
      errorCode: fencedAs(errorCode, ctx.header.apiVersion, 4),
      producerId,
      producerEpoch,
    });
    const { transactionalId, producerId, producerEpoch } = req;
    if ((producerId === -1n) !== (producerEpoch === -1)) return answer(ErrorCode.INVALID_REQUEST);
    if (transactionalId === '') return answer(ErrorCode.INVALID_REQUEST);
    if (transactionalId !== null) {
      // Transactions: WRITE on the transactional id (Kafka's TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
      if (!allowed(ctx, Op.WRITE, Res.TRANSACTIONAL_ID, transactionalId))
        return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      const c = await txnCoordinator(ctx, transactionalId);
      if (typeof c === 'number') return answer(c);
      const expected = producerId === -1n ? null : { producerId, producerEpoch };
      const r = await c.initProducerId(transactionalId, req.transactionTimeoutMs, expected);
      return answer(r.errorCode, r.producerId, r.producerEpoch);
    }
    // Idempotence: IDEMPOTENT_WRITE on the cluster, or WRITE on some topic (KIP-679).
    if (
      !clusterAllowed(ctx, Op.IDEMPOTENT_WRITE, false) &&
      !ctx.node.authorizer.authorizeAny(ctx.connection, Op.WRITE, Res.TOPIC)
    )
      return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    try {
      return answer(0, await node.producerIds.generate(), 0);
    } catch (e) {
      log.warn('no producer id to hand out', { error: e });
      return answer(e instanceof KafkaError ? e.code : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    }
  },
});
