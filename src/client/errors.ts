/**
 * Client-side errors. Everything the client throws for a protocol or network problem is a KafkaError (with the
 * protocol error code), so callers test `err.code` / `err.retriable` in one way:
 *   NetworkError       NETWORK_EXCEPTION  (retriable): could not connect, connection lost mid-request
 *   RequestTimeoutError REQUEST_TIMED_OUT (retriable): no response within the request timeout
 * Per-item failures (one topic of a CreateTopics, one partition of a Produce) carry the broker's code.
 */
import { ErrorCode, errorInfo, KafkaError } from '../protocol/errors.js';

export { ErrorCode, KafkaError } from '../protocol/errors.js';

export class NetworkError extends KafkaError {
  /** host:port of the broker. */
  readonly broker: string;
  /** `detail` is prefixed with the broker's address unless `options.bare`. */
  constructor(broker: string, detail: string, options?: { cause?: unknown; bare?: boolean }) {
    super(ErrorCode.NETWORK_EXCEPTION, options?.bare ? detail : `${broker}: ${detail}`);
    this.name = 'NetworkError';
    this.broker = broker;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

export class RequestTimeoutError extends KafkaError {
  readonly broker: string;
  constructor(broker: string, detail: string) {
    super(ErrorCode.REQUEST_TIMED_OUT, `${broker}: ${detail}`);
    this.name = 'RequestTimeoutError';
    this.broker = broker;
  }
}

/** A KafkaError for a non-zero code, with context ("orders/3", "group billing") and the broker's message. */
export function errorFor(code: number, context: string, brokerMessage?: string | null): KafkaError {
  const info = errorInfo(code);
  const detail = brokerMessage ? `${context}: ${brokerMessage}` : `${context}: ${info.message}`;
  return new KafkaError(code, detail);
}

/** Whether an error is worth retrying (a retriable protocol code or a network problem). */
export function isRetriable(e: unknown): boolean {
  return e instanceof KafkaError && e.retriable;
}

/**
 * A login the broker refused (SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM, ILLEGAL_SASL_STATE): fatal,
 * as in the Java client (an AuthenticationException is not retried): the same credentials fail the same way on
 * every broker and at every attempt, and each attempt costs the broker a delayed failed login.
 */
export function isAuthenticationError(e: unknown): boolean {
  if (!(e instanceof KafkaError)) return false;
  return (
    e.code === ErrorCode.SASL_AUTHENTICATION_FAILED ||
    e.code === ErrorCode.UNSUPPORTED_SASL_MECHANISM ||
    e.code === ErrorCode.ILLEGAL_SASL_STATE
  );
}

/**
 * Errors that say the client's metadata is wrong (Kafka's InvalidMetadataException family, plus a lost or
 * refused connection and a request that timed out): the partition's leader moved, is being elected, or its
 * broker is gone. A retry after one of these must wait for metadata requested after the error, or it goes
 * to the same (old) broker again.
 */
export function isStaleMetadata(e: unknown): boolean {
  if (!(e instanceof KafkaError)) return false;
  switch (e.code) {
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.LEADER_NOT_AVAILABLE:
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NETWORK_EXCEPTION:
    case ErrorCode.REQUEST_TIMED_OUT:
    case ErrorCode.KAFKA_STORAGE_ERROR:
    case ErrorCode.FENCED_LEADER_EPOCH:
    case ErrorCode.UNKNOWN_LEADER_EPOCH:
    case ErrorCode.REPLICA_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

/** An error's message without the leading error name ("NETWORK_EXCEPTION: "). */
export function detailOf(e: unknown): string {
  if (e instanceof KafkaError) return e.detail;
  return e instanceof Error ? e.message : String(e);
}

/** The name of an error code, e.g. 'NOT_LEADER_OR_FOLLOWER'. */
export function errorName(code: number): string {
  return errorInfo(code).name;
}
