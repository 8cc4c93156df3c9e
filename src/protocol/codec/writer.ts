/**
 * Growable big-endian writer for the Kafka wire protocol.
 *
 * Large byte fields (record batches read from segment files) can be attached by reference with
 * {@link Writer.bytesRef}: they are not copied, and {@link Writer.chunks} returns the pieces for a
 * vectored socket write.
 */
const REF_THRESHOLD = 4096;

export class Writer {
  private buf: Buffer;
  private pos = 0;
  /** Finished pieces before `buf` (only used when large buffers were attached by reference). */
  private done: Buffer[] = [];
  private doneLength = 0;

  /** `reuse`: a buffer to write into first (its contents are overwritten), instead of allocating `initial`. */
  constructor(initial = 256, reuse?: Buffer) {
    this.buf = reuse ?? Buffer.allocUnsafe(initial);
  }

  get length(): number {
    return this.doneLength + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  uint8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  bool(v: boolean): this {
    return this.uint8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  uint16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  int64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  float64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
    return this;
  }

  /** Unsigned LEB128 varint of a 32-bit value. */
  uvarint(v: number): this {
    this.ensure(5);
    let x = v >>> 0;
    while (x >= 0x80) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
    return this;
  }

  /** Zig-zag signed varint (32-bit). */
  varint(v: number): this {
    return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }

  /** Zig-zag signed varlong (64-bit). */
  varlong(v: bigint): this {
    this.ensure(10);
    let x = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
    return this;
  }

  uuid(hex: string): this {
    this.ensure(16);
    const written = this.buf.write(hex, this.pos, 16, 'hex');
    if (written !== 16) throw new TypeError(`invalid uuid ${JSON.stringify(hex)}`);
    this.pos += 16;
    return this;
  }

  /** Raw bytes, copied. */
  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Raw bytes; large ones are attached by reference rather than copied. */
  bytesRef(b: Buffer): this {
    if (b.length < REF_THRESHOLD) return this.raw(b);
    if (this.pos > 0) {
      this.done.push(this.buf.subarray(0, this.pos));
      this.doneLength += this.pos;
      this.buf = Buffer.allocUnsafe(Math.max(256, this.buf.length - this.pos));
      this.pos = 0;
    }
    this.done.push(b);
    this.doneLength += b.length;
    return this;
  }

  string(s: string): this {
    const n = Buffer.byteLength(s);
    this.int16(n);
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
    return this;
  }

  compactString(s: string): this {
    const n = Buffer.byteLength(s);
    this.uvarint(n + 1);
    this.ensure(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
    return this;
  }

  /** Reserve `n` bytes, returning their offset in the current buffer, for back-patching lengths. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  patchInt32(at: number, v: number): void {
    this.buf.writeInt32BE(v, at);
  }

  patchUInt32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  /** Offset of the next byte within the current (unflushed) buffer. Only valid without bytesRef. */
  get offset(): number {
    return this.pos;
  }

  /** View of bytes written so far in the current buffer (only meaningful without bytesRef). */
  slice(start: number, end = this.pos): Buffer {
    return this.buf.subarray(start, end);
  }

  /** The written bytes as pieces, without copying attached references. */
  chunks(): Buffer[] {
    if (this.done.length === 0) return [this.buf.subarray(0, this.pos)];
    return this.pos > 0 ? [...this.done, this.buf.subarray(0, this.pos)] : [...this.done];
  }

  /** The written bytes as one buffer (copies only when references were attached). */
  finish(): Buffer {
    if (this.done.length === 0) return this.buf.subarray(0, this.pos);
    return Buffer.concat(this.chunks(), this.length);
  }
}
