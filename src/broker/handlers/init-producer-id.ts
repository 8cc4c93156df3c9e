/**
 * InitProducerId v0-5 without a transactional id (KIP-98 idempotence): a new producer id, epoch 0, from the
 * blocks this node claimed in the metadata store (src/cluster/producer-ids.ts). As Kafka's broker does for an
 * idempotent producer, the id and epoch a v3+ request carries (a producer recovering from an error, KIP-360)
 * get a fresh id: the producer starts its sequences again at 0, and the partitions know it as a new producer.
 * Both or neither must be given (INVALID_REQUEST otherwise). An empty transactional id is INVALID_REQUEST;
 * transactions are not served yet (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Produce answers them).
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Api } from '../../protocol/messages/index.js';
import { clusterAllowed, Op, Res } from '../acl/check.js';
import { defineHandler } from '../router.js';

export const initProducerId = defineHandler(Api.InitProducerId, {
  minVersion: 0,
  maxVersion: 5,
  async handle(req, ctx) {
    const { node, log } = ctx;
    const answer = (errorCode: number, producerId = -1n, producerEpoch = -1) => ({
      throttleTimeMs: 0,
      errorCode,
      producerId,
      producerEpoch,
    });
    const { transactionalId, producerId, producerEpoch } = req;
    if ((producerId === -1n) !== (producerEpoch === -1)) return answer(ErrorCode.INVALID_REQUEST);
    if (transactionalId === '') return answer(ErrorCode.INVALID_REQUEST);
    if (transactionalId !== null) return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
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
