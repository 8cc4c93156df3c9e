/**
 * Delivery reports: where the outcome of the records of one send(), sendBatch() or sendAll() call goes. A
 * batch holds its records' deliveries (see batch.ts); the sender settles them when the broker answers.
 */

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0. */
  offset: bigint;
  /** The record's timestamp, or the broker's log-append time for LogAppendTime topics. */
  timestamp: bigint;
}

/** Where the delivery reports of one call go (`index`: the record's place in the call). */
export interface Delivery {
  /** false: no RecordMetadata is made, deliverCount() is called instead of deliver(). */
  readonly reports: boolean;
  deliver(index: number, md: RecordMetadata): void;
  deliverCount(n: number): void;
  fail(e: Error): void;
}

/** The report of a send(). */
export class SingleDelivery implements Delivery {
  readonly reports = true;
  constructor(
    private readonly resolve: (md: RecordMetadata) => void,
    readonly fail: (e: Error) => void,
  ) {}
  deliver(_index: number, md: RecordMetadata): void {
    this.resolve(md);
  }
  deliverCount(): void {}
}

/**
 * The reports of one sendBatch() (resolves with all of them) or sendAll() call (resolves with an empty list),
 * or the first error.
 */
export class DeliveryGroup implements Delivery {
  readonly results: RecordMetadata[];
  private remaining: number;
  private done = false;
  constructor(
    n: number,
    readonly reports: boolean,
    private readonly resolve: (r: RecordMetadata[]) => void,
    private readonly reject: (e: Error) => void,
  ) {
    this.results = reports ? new Array(n) : [];
    this.remaining = n;
  }
  deliver(index: number, md: RecordMetadata): void {
    this.results[index] = md;
    this.deliverCount(1);
  }
  deliverCount(n: number): void {
    this.remaining -= n;
    if (this.remaining === 0 && !this.done) {
      this.done = true;
      this.resolve(this.results);
    }
  }
  fail(e: Error): void {
    if (this.done) return;
    this.done = true;
    this.reject(e);
  }
}
