/**
 * Kafka's record-batch compression codecs with the framings Kafka clients use:
 *   gzip   node:zlib (RFC 1952; concatenated members are read)
 *   snappy xerial/snappy-java framing written (as Java clients do); xerial and raw blocks read (snappy.ts)
 *   lz4    LZ4 frame, independent 64 KiB blocks, correct header checksum (lz4.ts)
 *   zstd   zstd-codec WebAssembly, streamed in <= 1 MiB slices (zstd.ts)
 * Decompression never produces more than `maxOutput` bytes (default 256 MiB) and throws CompressionError
 * (a KafkaError with CORRUPT_MESSAGE) on corrupt input.
 */
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { ErrorCode, KafkaError } from '../errors.js';
import { Compression } from './batch.js';
import { CompressionError, DEFAULT_MAX_DECOMPRESSED_BYTES, limitExceeded } from './compression-error.js';
import { lz4CompressFrame, lz4DecompressFrame } from './lz4.js';
import { snappyCompressXerial, snappyDecompress } from './snappy.js';
import { ZSTD_DEFAULT_LEVEL, zstdCompress, zstdDecompress, zstdDecompressSync } from './zstd.js';

export { CompressionError, DEFAULT_MAX_DECOMPRESSED_BYTES } from './compression-error.js';

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

const NAMES: readonly CompressionName[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

/** Parse a codec name as Kafka's `compression.type` spells it (case-insensitive). */
export function parseCompression(name: string): Compression {
  const i = NAMES.indexOf(name.trim().toLowerCase() as CompressionName);
  if (i < 0) {
    throw new KafkaError(
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `unknown compression type ${JSON.stringify(name)} (expected one of ${NAMES.join(', ')})`,
    );
  }
  return i as Compression;
}

export function compressionName(codec: Compression): CompressionName {
  const name = NAMES[codec];
  if (name === undefined) throw unknownCodec(codec);
  return name;
}

function unknownCodec(codec: number): KafkaError {
  return new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `unknown compression codec id ${codec}`);
}

export interface CompressOptions {
  /** Codec level: gzip 1-9 (default 6, zlib's and Java's default), zstd (default 3, Kafka's default). */
  level?: number;
}

/** Compress `data` with `codec`; Compression.None returns the input itself. */
export async function compress(codec: Compression, data: Buffer, options: CompressOptions = {}): Promise<Buffer> {
  switch (codec) {
    case Compression.None:
      return data;
    case Compression.Gzip:
      return gzipAsync(data, { level: options.level ?? zlib.constants.Z_DEFAULT_COMPRESSION });
    case Compression.Snappy:
      return snappyCompressXerial(data);
    case Compression.Lz4:
      return lz4CompressFrame(data);
    case Compression.Zstd:
      return zstdCompress(data, options.level ?? ZSTD_DEFAULT_LEVEL);
    default:
      throw unknownCodec(codec);
  }
}

/**
 * Decompress `data` compressed with `codec`. Throws CompressionError when the input is corrupt or truncated,
 * or (with `limitExceeded` set) when the output would exceed `maxOutput` bytes.
 */
export async function decompress(
  codec: Compression,
  data: Buffer,
  maxOutput = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Promise<Buffer> {
  switch (codec) {
    case Compression.None:
      if (data.length > maxOutput) throw limitExceeded('none', maxOutput);
      return data;
    case Compression.Gzip:
      return gunzip(data, maxOutput);
    case Compression.Snappy:
      return snappyDecompress(data, maxOutput);
    case Compression.Lz4:
      return lz4DecompressFrame(data, maxOutput);
    case Compression.Zstd:
      return zstdDecompress(data, maxOutput);
    default:
      throw unknownCodec(codec);
  }
}

/**
 * decompress() in one synchronous step, for the produce path (which must not yield between validating and
 * appending). zstd needs its module loaded first (zstdLoaded / zstdReady in zstd.ts). `scratch` may receive
 * the output (lz4 and snappy, when it fits), so the result is valid only until the caller reuses it.
 */
export function decompressSync(
  codec: Compression,
  data: Buffer,
  maxOutput = DEFAULT_MAX_DECOMPRESSED_BYTES,
  scratch: Buffer | null = null,
): Buffer {
  switch (codec) {
    case Compression.None:
      if (data.length > maxOutput) throw limitExceeded('none', maxOutput);
      return data;
    case Compression.Gzip:
      return gunzipSync(data, maxOutput);
    case Compression.Snappy:
      return snappyDecompress(data, maxOutput, scratch);
    case Compression.Lz4:
      return lz4DecompressFrame(data, maxOutput, scratch);
    case Compression.Zstd:
      return zstdDecompressSync(data, maxOutput);
    default:
      throw unknownCodec(codec);
  }
}

function gunzipError(e: unknown, maxOutput: number): CompressionError {
  if (e instanceof CompressionError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ERR_BUFFER_TOO_LARGE') return limitExceeded('gzip', maxOutput);
  return new CompressionError('gzip', err.message || String(e));
}

function gunzipSync(data: Buffer, maxOutput: number): Buffer {
  if (data.length === 0) throw new CompressionError('gzip', 'empty input');
  let out: Buffer;
  try {
    out = zlib.gunzipSync(data, { maxOutputLength: Math.max(1, maxOutput) });
  } catch (e) {
    throw gunzipError(e, maxOutput);
  }
  if (out.length > maxOutput) throw limitExceeded('gzip', maxOutput);
  return out;
}

async function gunzip(data: Buffer, maxOutput: number): Promise<Buffer> {
  if (data.length === 0) throw new CompressionError('gzip', 'empty input');
  try {
    // zlib stops (ERR_BUFFER_TOO_LARGE) as soon as the output passes maxOutputLength.
    const out = await gunzipAsync(data, { maxOutputLength: Math.max(1, maxOutput) });
    if (out.length > maxOutput) throw limitExceeded('gzip', maxOutput);
    return out;
  } catch (e) {
    throw gunzipError(e, maxOutput);
  }
}
