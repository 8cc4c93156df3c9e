/**
 * Big-endian reader with a sticky error flag: reading past the end (or a malformed length) sets `bad`
 * and returns a zero value, so decoders check once at the end instead of after every field.
 */
export class Reader {
  pos: number;
  bad = false;
  /** Why the reader went bad, for error messages. */
  reason = '';

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string): void {
    if (!this.bad) {
      this.bad = true;
      this.reason = reason;
    }
    this.pos = this.end;
  }

  private need(n: number): boolean {
    if (this.bad) return false;
    if (n < 0 || this.pos + n > this.end) {
      this.fail(`need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
      return false;
    }
    return true;
  }

  int8(): number {
    if (!this.need(1)) return 0;
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }

  uint8(): number {
    if (!this.need(1)) return 0;
    return this.buf[this.pos++] as number;
  }

  bool(): boolean {
    return this.uint8() !== 0;
  }

  int16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  uint16(): number {
    if (!this.need(2)) return 0;
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint32(): number {
    if (!this.need(4)) return 0;
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): bigint {
    if (!this.need(8)) return 0n;
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  float64(): number {
    if (!this.need(8)) return 0;
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (!this.need(1)) return 0;
      const b = this.buf[this.pos++] as number;
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    this.fail('varint too long');
    return 0;
  }

  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }

  varlong(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (!this.need(1)) return 0n;
      const b = this.buf[this.pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return (result >> 1n) ^ -(result & 1n);
      shift += 7n;
    }
    this.fail('varlong too long');
    return 0n;
  }

  uuid(): string {
    if (!this.need(16)) return '00000000000000000000000000000000';
    const v = this.buf.toString('hex', this.pos, this.pos + 16);
    this.pos += 16;
    return v;
  }

  /** `n` raw bytes as a view (no copy). */
  raw(n: number): Buffer {
    if (!this.need(n)) return Buffer.alloc(0);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  utf8(n: number): string {
    if (!this.need(n)) return '';
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  skip(n: number): void {
    if (this.need(n)) this.pos += n;
  }
}
