/** Helpers shared by handlers to turn failures into per-item error codes. */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';

/** A per-item error code and message from a thrown error (unexpected errors: UNKNOWN_SERVER_ERROR). */
export function errorOf(e: unknown): { errorCode: number; errorMessage: string } {
  // The code names the error already: the message is the detail alone, as Kafka's brokers send it.
  if (e instanceof KafkaError) return { errorCode: e.code, errorMessage: e.detail };
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (e as Error).message };
}
