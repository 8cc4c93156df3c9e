/**
 * Zstandard through zstd-codec (zstd compiled to WebAssembly with a fixed 16 MiB heap that cannot grow).
 *
 * - The module is loaded once, lazily, on first use (~10-20 ms), straight from its WebAssembly build (the
 *   asm.js fallback is never loaded).
 * - Input is handed to its streaming API in slices of at most 1 MiB: a larger buffer copied into the heap
 *   aborts with OOM. An abort kills the instance; the next call loads a fresh one.
 * - Each call runs synchronously from start to end once the module is loaded, so there is never more than
 *   one (de)compression context in the heap.
 *
 * Decompression first walks the frame structure (frame headers, block headers, checksums, skippable frames)
 * without decoding. That detects truncated input, which the streaming binding would silently accept,
 * rejects windows larger than the heap can hold (8 MiB) and dictionaries with a clear error, and yields an
 * upper bound of the output, used to cut the input into pieces whose output is bounded so that the output
 * limit is enforced as decoding proceeds. Frames with and without a content size, with and without
 * checksum, and any number of concatenated frames are accepted.
 */
import { CompressionError, DEFAULT_MAX_DECOMPRESSED_BYTES, limitExceeded } from './compression-error.js';

/** Kafka's default zstd level (compression.zstd.level). */
export const ZSTD_DEFAULT_LEVEL = 3;
/**
 * Highest level whose compression context fits the 16 MiB heap (measured: 10 and above abort with OOM). Higher
 * levels are clamped to it: the output is the same valid zstd, only less compressed than a native zstd would do.
 */
export const ZSTD_MAX_LEVEL = 9;
/** Largest window the 16 MiB heap can decode with (zstd --long=23 or level <= 19 with known sizes). */
export const ZSTD_MAX_WINDOW = 8 << 20;

const SLICE = 1 << 20;
const PIECE_BOUND = 8 << 20;
const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const BLOCK_SIZE_MAX = 128 << 10;
/** An empty skippable frame fed after the input: it makes the binding flush everything before it. */
const TRAILER = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);

interface StreamBinding {
  begin(level?: number): boolean;
  transform(chunk: Uint8Array, callback: (out: Uint8Array) => void): boolean;
  end(callback: (out: Uint8Array) => void): boolean;
  delete(): void;
}

interface Instance {
  compressStream: new () => StreamBinding;
  decompressStream: new () => StreamBinding;
  dead: boolean;
}

let current: Promise<Instance> | null = null;
/** The loaded instance, for synchronous use; null until a load finished (and again after an abort). */
let loaded: Instance | null = null;

async function loadInstance(): Promise<Instance> {
  const mod = (await import('zstd-codec/lib/zstd-codec-binding-wasm.js')) as {
    default: (m: Record<string, unknown>) => unknown;
  };
  const factory = mod.default;
  return new Promise<Instance>((resolve, reject) => {
    const holder: { instance: Instance | null } = { instance: null };
    const m: Record<string, unknown> = {
      print: () => {},
      printErr: () => {},
      onAbort: (what: unknown) => {
        if (holder.instance) holder.instance.dead = true;
        else reject(new Error(`zstd-codec failed to load: ${String(what)}`));
      },
      // The Emscripten module object is a thenable: never resolve a promise with it directly.
      onRuntimeInitialized: () => {
        holder.instance = {
          compressStream: m.ZstdCompressStreamBinding as new () => StreamBinding,
          decompressStream: m.ZstdDecompressStreamBinding as new () => StreamBinding,
          dead: false,
        };
        loaded = holder.instance;
        resolve(holder.instance);
      },
    };
    try {
      factory(m);
    } catch (e) {
      reject(e);
    }
  });
}

async function instance(): Promise<Instance> {
  for (;;) {
    if (!current) {
      current = loadInstance().catch((e: unknown) => {
        current = null;
        throw new CompressionError('zstd', `cannot load zstd-codec: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    const pending = current;
    const inst = await pending;
    if (!inst.dead) return inst;
    if (current === pending) current = null;
  }
}

/** Load the WebAssembly module now instead of on first use. */
export async function zstdReady(): Promise<void> {
  await instance();
}

/** Whether the module is loaded, so that zstdDecompressSync can run. */
export function zstdLoaded(): boolean {
  return loaded !== null && !loaded.dead;
}

/** Run `fn` against the instance; an Emscripten abort (thrown as a string) discards the instance. */
function guarded<T>(inst: Instance, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CompressionError) throw e;
    // An Emscripten abort (a thrown string) leaves the instance unusable: the next call loads a new one.
    inst.dead = true;
    const reason = String(e instanceof Error ? e.message : e);
    throw new CompressionError(
      'zstd',
      /OOM/.test(reason) ? `${what} ran out of the WebAssembly heap (16 MiB)` : `${what} failed: ${reason}`,
    );
  }
}

function release(stream: StreamBinding): void {
  try {
    stream.delete();
  } catch {
    // the instance aborted; it is discarded anyway
  }
}

function view(data: Uint8Array, start: number, end: number): Uint8Array {
  // A plain Uint8Array: the binding constructs `new chunk.constructor(heap, ptr, n)`, which for a Buffer would be
  // the deprecated Buffer constructor.
  return new Uint8Array(data.buffer, data.byteOffset + start, end - start);
}

/**
 * Compress `data` as one zstd frame (no content size, no checksum: what zstd-jni's stream writes).
 * Levels above ZSTD_MAX_LEVEL are clamped to it.
 */
export async function zstdCompress(data: Uint8Array, requestedLevel = ZSTD_DEFAULT_LEVEL): Promise<Buffer> {
  const level = Math.min(requestedLevel, ZSTD_MAX_LEVEL);
  const inst = await instance();
  return guarded(inst, `compression at level ${level}`, () => {
    const stream = new inst.compressStream();
    const parts: Buffer[] = [];
    let total = 0;
    const sink = (c: Uint8Array): void => {
      if (c.length === 0) return;
      parts.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      total += c.byteLength;
    };
    try {
      if (!stream.begin(level)) throw new CompressionError('zstd', `cannot start compression at level ${level}`);
      for (let i = 0; i < data.length; i += SLICE) {
        if (!stream.transform(view(data, i, Math.min(data.length, i + SLICE)), sink)) {
          throw new CompressionError('zstd', 'compression failed');
        }
      }
      if (!stream.end(sink)) throw new CompressionError('zstd', 'compression failed at the end of the frame');
    } finally {
      release(stream);
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  });
}

/** What a structural walk of the input found. */
export interface ZstdScan {
  frames: number;
  /** Sum of the declared content sizes when every frame declares one, else null. */
  contentSize: number | null;
  /** Upper bound of the decompressed size. */
  bound: number;
  /** Input offsets (block boundaries) at which to cut the input so each piece has a bounded output. */
  cuts: number[];
}

/** Walk frames and blocks without decoding; throws CompressionError on truncated or unsupported input. */
export function zstdScan(src: Uint8Array): ZstdScan {
  const len = src.length;
  const need = (pos: number, n: number, what: string): void => {
    if (len - pos < n) throw new CompressionError('zstd', `input truncated in ${what}`);
  };
  const le = (pos: number, n: number): number => {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + src[pos + i]!;
    return v;
  };
  let pos = 0;
  let frames = 0;
  let contentSize: number | null = 0;
  let bound = 0;
  const cuts: number[] = [];
  let lastCut = 0;
  let boundSinceCut = 0;
  while (pos < len) {
    need(pos, 4, 'frame magic');
    const magic = le(pos, 4);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      need(pos, 8, 'skippable frame header');
      const size = le(pos + 4, 4);
      pos += 8;
      need(pos, size, 'skippable frame');
      pos += size;
      continue;
    }
    if (magic !== FRAME_MAGIC) {
      throw new CompressionError('zstd', frames === 0 ? 'not a zstd frame (bad magic)' : 'bad data after zstd frame');
    }
    pos += 4;
    need(pos, 1, 'frame header');
    const fhd = src[pos++]!;
    const fcsFlag = fhd >>> 6;
    const singleSegment = (fhd & 0x20) !== 0;
    const hasChecksum = (fhd & 0x04) !== 0;
    if (fhd & 0x08) throw new CompressionError('zstd', 'reserved frame header bit is set');
    let windowSize = 0;
    if (!singleSegment) {
      need(pos, 1, 'frame header');
      const wd = src[pos++]!;
      const base = 2 ** (10 + (wd >>> 3));
      windowSize = base + (base / 8) * (wd & 7);
    }
    const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
    need(pos, dictIdSize, 'frame header');
    if (dictIdSize > 0 && le(pos, dictIdSize) !== 0) {
      throw new CompressionError('zstd', 'frames that need a dictionary are not supported');
    }
    pos += dictIdSize;
    const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
    need(pos, fcsSize, 'frame header');
    let fcs = -1;
    if (fcsSize > 0) fcs = le(pos, fcsSize) + (fcsSize === 2 ? 256 : 0);
    pos += fcsSize;
    if (singleSegment) windowSize = fcs;
    if (windowSize > ZSTD_MAX_WINDOW) {
      throw new CompressionError(
        'zstd',
        `frame window of ${windowSize} bytes exceeds the ${ZSTD_MAX_WINDOW} bytes the embedded decoder can hold`,
      );
    }
    const blockMax = Math.min(windowSize, BLOCK_SIZE_MAX);
    let frameBound = 0;
    for (;;) {
      need(pos, 3, 'block header');
      const hdr = src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16);
      const last = hdr & 1;
      const type = (hdr >>> 1) & 3;
      const size = hdr >>> 3;
      if (type === 3) throw new CompressionError('zstd', 'reserved block type');
      if (size > blockMax) throw new CompressionError('zstd', `block of ${size} bytes exceeds the frame's ${blockMax}`);
      const content = type === 1 ? 1 : size;
      const out = type === 2 ? blockMax : size;
      pos += 3;
      need(pos, content, 'block');
      pos += content;
      frameBound += out;
      boundSinceCut += out;
      if (pos - lastCut >= SLICE || boundSinceCut >= PIECE_BOUND) {
        cuts.push(pos);
        lastCut = pos;
        boundSinceCut = 0;
      }
      if (last) break;
    }
    if (hasChecksum) {
      need(pos, 4, 'content checksum');
      pos += 4;
    }
    if (fcs >= 0) {
      if (fcs > frameBound) throw new CompressionError('zstd', `frame declares ${fcs} bytes but its blocks hold less`);
      frameBound = fcs;
      if (contentSize !== null) contentSize += fcs;
    } else {
      contentSize = null;
    }
    bound += frameBound;
    frames++;
  }
  if (frames === 0) throw new CompressionError('zstd', 'no zstd frame in input');
  if (cuts[cuts.length - 1] !== len) cuts.push(len);
  return { frames, contentSize, bound, cuts };
}

/** Decompress one or more zstd frames; CompressionError if corrupt or if the output would exceed `maxOutput`. */
export async function zstdDecompress(data: Uint8Array, maxOutput = DEFAULT_MAX_DECOMPRESSED_BYTES): Promise<Buffer> {
  const scan = zstdScan(data);
  if (scan.contentSize !== null && scan.contentSize > maxOutput) throw limitExceeded('zstd', maxOutput);
  return decompressWith(await instance(), data, scan, maxOutput);
}

/**
 * zstdDecompress without waiting: for callers that must not yield (the produce path validates and appends in
 * one synchronous step, to keep request order). Throws CompressionError when the module is not loaded yet
 * (see zstdLoaded / zstdReady).
 */
export function zstdDecompressSync(data: Uint8Array, maxOutput = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  const scan = zstdScan(data);
  if (scan.contentSize !== null && scan.contentSize > maxOutput) throw limitExceeded('zstd', maxOutput);
  const inst = loaded;
  if (inst === null || inst.dead) throw new CompressionError('zstd', 'the zstd module is not loaded');
  return decompressWith(inst, data, scan, maxOutput);
}

function decompressWith(inst: Instance, data: Uint8Array, scan: ZstdScan, maxOutput: number): Buffer {
  return guarded(inst, 'decompression', () => {
    const exact = scan.contentSize;
    const out = exact !== null ? Buffer.allocUnsafe(exact) : null;
    const parts: Buffer[] = [];
    let total = 0;
    let overflow = false;
    const sink = (c: Uint8Array): void => {
      const n = c.byteLength;
      if (n === 0 || overflow) return;
      if (total + n > (exact ?? maxOutput)) {
        overflow = true;
        return;
      }
      if (out) out.set(c, total);
      else parts.push(Buffer.from(c.buffer, c.byteOffset, n));
      total += n;
    };
    const check = (): void => {
      if (!overflow) return;
      if (exact !== null) throw new CompressionError('zstd', 'frames decode to more than their declared content size');
      throw limitExceeded('zstd', maxOutput);
    };
    const stream = new inst.decompressStream();
    try {
      if (!stream.begin()) throw new CompressionError('zstd', 'cannot start decompression');
      let start = 0;
      for (const cut of scan.cuts) {
        for (let i = start; i < cut; i += SLICE) {
          if (!stream.transform(view(data, i, Math.min(cut, i + SLICE)), sink)) {
            throw new CompressionError('zstd', 'corrupt compressed data');
          }
          check();
        }
        start = cut;
      }
      if (!stream.transform(TRAILER, sink)) throw new CompressionError('zstd', 'corrupt compressed data');
      check();
      if (!stream.end(sink)) throw new CompressionError('zstd', 'corrupt compressed data at the end of the input');
      check();
    } finally {
      release(stream);
    }
    if (exact !== null) {
      if (total !== exact) {
        throw new CompressionError('zstd', `frames declare ${exact} bytes but decode to ${total}`);
      }
      return out!;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
  });
}
