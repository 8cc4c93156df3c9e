/** The part of archiver 8's API kstream uses (the package ships no types). */
declare module 'archiver' {
  import type { Readable, Transform } from 'node:stream';

  interface EntryData {
    name: string;
    date?: Date | string;
    mode?: number;
  }

  class Archiver extends Transform {
    append(source: Readable | Buffer | string, data: EntryData): this;
    file(path: string, data: EntryData): this;
    finalize(): Promise<void>;
    pointer(): number;
  }

  export class TarArchive extends Archiver {
    constructor(opts?: { gzip?: boolean; gzipOptions?: { level?: number }; statConcurrency?: number });
  }

  export class ZipArchive extends Archiver {
    constructor(opts?: { zlib?: { level?: number }; comment?: string });
  }
}
