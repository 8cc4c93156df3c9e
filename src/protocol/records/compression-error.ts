import { ErrorCode, KafkaError } from '../errors.js';

/** Default cap on the size of one decompressed payload: a defence against decompression bombs. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

/**
 * A compressed payload could not be decoded (corrupt, truncated, unsupported variant) or would decompress to
 * more than the allowed size. Carries CORRUPT_MESSAGE, the code a broker answers for such a batch.
 */
export class CompressionError extends KafkaError {
  /** 'gzip' | 'snappy' | 'lz4' | 'zstd' */
  readonly codec: string;
  /** True when the payload was refused because its output would exceed the limit (not necessarily corrupt). */
  readonly limitExceeded: boolean;

  constructor(codec: string, detail: string, limitExceeded = false) {
    super(ErrorCode.CORRUPT_MESSAGE, `${codec}: ${detail}`);
    this.name = 'CompressionError';
    this.codec = codec;
    this.limitExceeded = limitExceeded;
  }
}

export function limitExceeded(codec: string, limit: number): CompressionError {
  return new CompressionError(codec, `decompressed size exceeds the limit of ${limit} bytes`, true);
}
