/** Transaction coordinator settings, read from the broker's properties with Kafka's key names and defaults. */

export interface TxnConfig {
  /** transaction.state.log.num.partitions */
  partitions: number;
  /** transaction.state.log.replication.factor (capped by the live brokers when the topic is made). */
  replicationFactor: number;
  /** transaction.state.log.min.isr */
  minIsr: number;
  /** transaction.state.log.segment.bytes */
  segmentBytes: number;
  /** transaction.max.timeout.ms: the largest transaction.timeout.ms a producer may ask for. */
  maxTimeoutMs: number;
  /** transactional.id.expiration.ms: an id without a transaction this long is forgotten. */
  idExpirationMs: number;
  /** transaction.abort.timed.out.transaction.cleanup.interval.ms: how often timed-out transactions are sought. */
  abortIntervalMs: number;
  /** transaction.remove.expired.transaction.cleanup.interval.ms */
  removeExpiredIntervalMs: number;
}

export const TXN_KEYS: Record<string, { default: string; doc: string }> = {
  'transaction.state.log.num.partitions': {
    default: '50',
    doc: 'Partitions of __transaction_state (fixed once created).',
  },
  'transaction.state.log.replication.factor': {
    default: '3',
    doc: 'Replicas of each __transaction_state partition (capped by the live brokers when it is created).',
  },
  'transaction.state.log.min.isr': { default: '2', doc: 'min.insync.replicas of __transaction_state.' },
  'transaction.state.log.segment.bytes': { default: '104857600', doc: 'Segment size of __transaction_state.' },
  'transaction.max.timeout.ms': {
    default: '900000',
    doc: 'Largest transaction timeout a producer may ask for (INVALID_TRANSACTION_TIMEOUT above).',
  },
  'transactional.id.expiration.ms': {
    default: '604800000',
    doc: 'A transactional id that has had no transaction for this long is forgotten.',
  },
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': {
    default: '10000',
    doc: 'How often the coordinator looks for transactions open past their timeout and aborts them.',
  },
  'transaction.remove.expired.transaction.cleanup.interval.ms': {
    default: '3600000',
    doc: 'How often expired transactional ids are removed.',
  },
};

function num(props: Record<string, string>, key: string, min: number): number {
  const raw = props[key] ?? TXN_KEYS[key]?.default ?? '';
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new Error(`invalid value ${JSON.stringify(raw)} for ${key}: expected an integer >= ${min}`);
  }
  return n;
}

export function txnConfig(props: Record<string, string>): TxnConfig {
  return {
    partitions: num(props, 'transaction.state.log.num.partitions', 1),
    replicationFactor: num(props, 'transaction.state.log.replication.factor', 1),
    minIsr: num(props, 'transaction.state.log.min.isr', 1),
    segmentBytes: num(props, 'transaction.state.log.segment.bytes', 1024),
    maxTimeoutMs: num(props, 'transaction.max.timeout.ms', 1),
    idExpirationMs: num(props, 'transactional.id.expiration.ms', 1),
    abortIntervalMs: num(props, 'transaction.abort.timed.out.transaction.cleanup.interval.ms', 1),
    removeExpiredIntervalMs: num(props, 'transaction.remove.expired.transaction.cleanup.interval.ms', 1),
  };
}
