/**
 * Message definitions as data, and the codec derived from them.
 *
 * A {@link MessageDef} describes one side (request or response) of one Kafka API across all its versions, in
 * the same terms as Kafka's message specs: each field has the versions it exists in, the versions it is
 * nullable in, and optionally a tag (tagged fields live in the trailing tagged-field block of flexible
 * versions). {@link compile} turns a definition plus a version into an encode/decode pair of closures, once.
 *
 * Decoding always yields an object with every field of the definition: fields absent in that version get
 * their default, so handlers can be written once for all versions. Encoding reads fields by name, using the
 * default for missing ones, so a response only needs the fields it cares about.
 */
import { Reader } from './reader.js';
import { Writer } from './writer.js';

export type Primitive =
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export type FieldType = Primitive | `[]${Primitive}` | 'struct' | '[]struct';

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  /** Versions the field exists in: "0+", "3-5", "4", "none". */
  readonly versions: string;
  readonly nullableVersions?: string;
  /** Versions in which the field is carried in the tagged-field block (flexible versions only). */
  readonly taggedVersions?: string;
  readonly tag?: number;
  /** Default when absent; int64 defaults may be given as number or bigint. */
  readonly default?: unknown;
  /** Fields of a struct or struct array. */
  readonly fields?: readonly FieldDef[];
}

/**
 * One side of one API. Definitions are written `as const satisfies MessageDef`, so their TypeScript types
 * ({@link Decoded}, {@link Encodable}) are derived from the same data the codec is compiled from: a handler or
 * client that reads or writes a field the definition lacks does not compile.
 */
export interface MessageDef {
  readonly name: string;
  readonly apiKey: number;
  readonly type: 'request' | 'response';
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldDef[];
}

// ---- Types derived from definitions -------------------------------------------------------------------------

/** The value a primitive decodes to. */
type PrimitiveValue<T extends Primitive> = T extends 'int64'
  ? bigint
  : T extends 'bool'
    ? boolean
    : T extends 'string' | 'uuid'
      ? string
      : T extends 'bytes'
        ? Buffer
        : T extends 'records'
          ? Buffer | null
          : number;

/** `null` when the field is nullable in some version (or, for a struct, defaults to null when absent). */
type NullIn<F extends FieldDef> = F extends { readonly nullableVersions: string }
  ? null
  : F extends { readonly default: null }
    ? null
    : never;

type SubFields<F extends FieldDef> = F extends { readonly fields: infer S extends readonly FieldDef[] } ? S : [];

type DecodedField<F extends FieldDef> = F['type'] extends 'struct'
  ? StructOf<SubFields<F>> | NullIn<F>
  : F['type'] extends '[]struct'
    ? StructOf<SubFields<F>>[] | NullIn<F>
    : F['type'] extends `[]${infer P extends Primitive}`
      ? PrimitiveValue<P>[] | NullIn<F>
      : F['type'] extends Primitive
        ? PrimitiveValue<F['type']> | NullIn<F>
        : never;

/** A decoded struct: every field of the definition, absent ones filled with their defaults. */
export type StructOf<Fs extends readonly FieldDef[]> = {
  -readonly [F in Fs[number] as F['name']]: DecodedField<F>;
};

/** What an encoder accepts for a primitive: int64 also as a number (converted). */
type EncodablePrimitive<T extends Primitive> = T extends 'int64'
  ? bigint | number
  : T extends 'records'
    ? Buffer | null
    : PrimitiveValue<T>;

type EncodableField<F extends FieldDef> = F['type'] extends 'struct'
  ? EncodableStructOf<SubFields<F>> | NullIn<F>
  : F['type'] extends '[]struct'
    ? readonly EncodableStructOf<SubFields<F>>[] | NullIn<F>
    : F['type'] extends `[]${infer P extends Primitive}`
      ? readonly EncodablePrimitive<P>[] | NullIn<F>
      : F['type'] extends Primitive
        ? EncodablePrimitive<F['type']> | NullIn<F>
        : never;

/** What an encoder accepts: any field of the definition may be left out (its default is written). */
export type EncodableStructOf<Fs extends readonly FieldDef[]> = {
  [F in Fs[number] as F['name']]?: EncodableField<F>;
};

/** The decoded form of a message definition. */
export type Decoded<D extends MessageDef> = StructOf<D['fields']>;
/** The encodable form of a message definition. */
export type Encodable<D extends MessageDef> = EncodableStructOf<D['fields']>;

/** The element type of an array field, its null left out: `Item<ResponseInput<typeof Api.Fetch>['responses']>`. */
export type Item<T> = NonNullable<T> extends readonly (infer E)[] ? E : never;

export interface VersionRange {
  min: number;
  max: number;
}

const NONE: VersionRange = { min: 1, max: 0 };

const rangeCache = new Map<string, VersionRange>();

export function parseVersions(spec: string | undefined): VersionRange {
  if (spec === undefined || spec === 'none' || spec === '') return NONE;
  const cached = rangeCache.get(spec);
  if (cached) return cached;
  let r: VersionRange;
  const m = /^(\d+)(\+|-(\d+))?$/.exec(spec);
  if (!m) throw new Error(`bad version range ${JSON.stringify(spec)}`);
  const min = Number(m[1]);
  if (m[2] === '+') r = { min, max: Number.POSITIVE_INFINITY };
  else if (m[3] !== undefined) r = { min, max: Number(m[3]) };
  else r = { min, max: min };
  rangeCache.set(spec, r);
  return r;
}

export function inVersions(spec: string | undefined, v: number): boolean {
  const r = parseVersions(spec);
  return v >= r.min && v <= r.max;
}

/** A decoded message: field name to value. Values are typed by the message definition at run time. */
// biome-ignore lint/suspicious/noExplicitAny: decoded shapes are described by data (MessageDef), not TS types
export type Struct = Record<string, any>;

type Enc = (w: Writer, v: unknown) => void;
type Dec = (r: Reader) => unknown;

export interface Codec {
  readonly version: number;
  readonly flexible: boolean;
  encode(w: Writer, v: Struct): void;
  decode(r: Reader): Struct;
}

export class EncodeError extends Error {}

const zeroUuid = '00000000000000000000000000000000';

function defaultFactory(f: FieldDef): () => unknown {
  const d = f.default;
  if (f.type === 'struct') {
    if (d === null) return () => null;
    const sub = (f.fields ?? []).map((x) => [x.name, defaultFactory(x)] as const);
    return () => Object.fromEntries(sub.map(([n, mk]) => [n, mk()]));
  }
  if (f.type.startsWith('[]')) {
    if (d === null) return () => null;
    return () => [];
  }
  if (d !== undefined) {
    if (f.type === 'int64') {
      const b = BigInt(d as number | bigint | string);
      return () => b;
    }
    return () => d;
  }
  switch (f.type as Primitive) {
    case 'int64':
      return () => 0n;
    case 'bool':
      return () => false;
    case 'string':
      return () => '';
    case 'bytes':
      return () => Buffer.alloc(0);
    case 'records':
      return () => null;
    case 'uuid':
      return () => zeroUuid;
    default:
      return () => 0;
  }
}

function primitiveCodec(t: Primitive, nullable: boolean, flexible: boolean, name: string): [Enc, Dec] {
  switch (t) {
    case 'int8':
      return [(w, v) => w.int8(v as number), (r) => r.int8()];
    case 'int16':
      return [(w, v) => w.int16(v as number), (r) => r.int16()];
    case 'uint16':
      return [(w, v) => w.uint16(v as number), (r) => r.uint16()];
    case 'int32':
      return [(w, v) => w.int32(v as number), (r) => r.int32()];
    case 'uint32':
      return [(w, v) => w.uint32(v as number), (r) => r.uint32()];
    case 'int64':
      return [(w, v) => w.int64(typeof v === 'bigint' ? v : BigInt(v as number)), (r) => r.int64()];
    case 'float64':
      return [(w, v) => w.float64(v as number), (r) => r.float64()];
    case 'bool':
      return [(w, v) => w.bool(v as boolean), (r) => r.bool()];
    case 'uuid':
      return [(w, v) => w.uuid(v as string), (r) => r.uuid()];
    case 'string': {
      const enc: Enc = (w, v) => {
        if (v === null) {
          if (!nullable) throw new EncodeError(`${name}: null in a non-nullable string`);
          if (flexible) w.uvarint(0);
          else w.int16(-1);
        } else if (flexible) w.compactString(v as string);
        else w.string(v as string);
      };
      const dec: Dec = flexible
        ? (r) => {
            const n = r.uvarint() - 1;
            if (n < 0) return nullable ? null : '';
            return r.utf8(n);
          }
        : (r) => {
            const n = r.int16();
            if (n < 0) return nullable ? null : '';
            return r.utf8(n);
          };
      return [enc, dec];
    }
    case 'bytes':
    case 'records': {
      const enc: Enc = (w, v) => {
        if (v === null || v === undefined) {
          if (!nullable && t === 'bytes') throw new EncodeError(`${name}: null in non-nullable bytes`);
          if (flexible) w.uvarint(0);
          else w.int32(-1);
          return;
        }
        const b = v as Buffer;
        if (flexible) w.uvarint(b.length + 1);
        else w.int32(b.length);
        w.bytesRef(b);
      };
      const dec: Dec = (r) => {
        const n = flexible ? r.uvarint() - 1 : r.int32();
        if (n < 0) return nullable || t === 'records' ? null : Buffer.alloc(0);
        return r.raw(n);
      };
      return [enc, dec];
    }
  }
}

function fieldCodec(f: FieldDef, version: number, flexible: boolean): [Enc, Dec] {
  const nullable = inVersions(f.nullableVersions, version);
  if (f.type === 'struct') {
    const s = structCodec(f.fields ?? [], version, flexible, f.name);
    return [(w, v) => s.enc(w, (v ?? {}) as Struct), (r) => s.dec(r)];
  }
  let elemEnc: Enc;
  let elemDec: Dec;
  if (f.type === '[]struct') {
    const s = structCodec(f.fields ?? [], version, flexible, f.name);
    elemEnc = (w, v) => s.enc(w, v as Struct);
    elemDec = (r) => s.dec(r);
  } else if (f.type.startsWith('[]')) {
    [elemEnc, elemDec] = primitiveCodec(f.type.slice(2) as Primitive, false, flexible, f.name);
  } else {
    return primitiveCodec(f.type as Primitive, nullable, flexible, f.name);
  }
  const enc: Enc = (w, v) => {
    if (v === null || v === undefined) {
      if (v === null && !nullable) throw new EncodeError(`${f.name}: null in a non-nullable array`);
      if (v === undefined && !nullable) {
        if (flexible) w.uvarint(1);
        else w.int32(0);
        return;
      }
      if (flexible) w.uvarint(0);
      else w.int32(-1);
      return;
    }
    const a = v as unknown[];
    if (flexible) w.uvarint(a.length + 1);
    else w.int32(a.length);
    for (const e of a) elemEnc(w, e);
  };
  const dec: Dec = (r) => {
    const n = flexible ? r.uvarint() - 1 : r.int32();
    if (n < 0) return nullable ? null : [];
    // Every element takes at least one byte: refuse a count the remaining bytes cannot hold.
    if (n > r.remaining) {
      r.fail(`${f.name}: array of ${n} exceeds the ${r.remaining} bytes left`);
      return [];
    }
    const out = new Array(n);
    for (let i = 0; i < n && !r.bad; i++) out[i] = elemDec(r);
    return out;
  };
  return [enc, dec];
}

interface StructCodec {
  enc(w: Writer, v: Struct): void;
  dec(r: Reader): Struct;
}

function isDefault(v: unknown, d: unknown): boolean {
  if (v === undefined || v === d) return true;
  if (Array.isArray(v) && Array.isArray(d)) return v.length === 0 && d.length === 0;
  if (Buffer.isBuffer(v) && Buffer.isBuffer(d)) return v.equals(d);
  if (typeof v === 'object' && v !== null && typeof d === 'object' && d !== null) {
    return (
      JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ===
      JSON.stringify(d, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
    );
  }
  return false;
}

function structCodec(fields: readonly FieldDef[], version: number, flexible: boolean, ctx: string): StructCodec {
  interface Plain {
    name: string;
    enc: Enc;
    dec: Dec;
    mk: () => unknown;
  }
  interface Tagged extends Plain {
    tag: number;
  }
  const plain: Plain[] = [];
  const tagged: Tagged[] = [];
  const absent: { name: string; mk: () => unknown }[] = [];
  for (const f of fields) {
    const mk = defaultFactory(f);
    const isTagged = flexible && f.tag !== undefined && inVersions(f.taggedVersions, version);
    if (!isTagged && !inVersions(f.versions, version)) {
      absent.push({ name: f.name, mk });
      continue;
    }
    const [enc, dec] = fieldCodec(f, version, flexible);
    if (isTagged) tagged.push({ name: f.name, enc, dec, mk, tag: f.tag as number });
    else plain.push({ name: f.name, enc, dec, mk });
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const byTag = new Map(tagged.map((t) => [t.tag, t]));

  const enc = (w: Writer, v: Struct): void => {
    for (const p of plain) {
      const x = v[p.name];
      try {
        p.enc(w, x === undefined ? p.mk() : x);
      } catch (e) {
        if (e instanceof EncodeError) throw e;
        throw new EncodeError(`${ctx}.${p.name}: ${(e as Error).message}`);
      }
    }
    if (!flexible) return;
    const present = tagged.filter((t) => !isDefault(v[t.name], t.mk()));
    w.uvarint(present.length);
    for (const t of present) {
      const sub = new Writer(64);
      t.enc(sub, v[t.name]);
      const body = sub.finish();
      w.uvarint(t.tag);
      w.uvarint(body.length);
      w.raw(body);
    }
  };

  const dec = (r: Reader): Struct => {
    const out: Struct = {};
    for (const p of plain) out[p.name] = p.dec(r);
    for (const a of absent) out[a.name] = a.mk();
    for (const t of tagged) out[t.name] = t.mk();
    if (flexible) {
      const n = r.uvarint();
      for (let i = 0; i < n && !r.bad; i++) {
        const tag = r.uvarint();
        const size = r.uvarint();
        if (size > r.remaining) {
          r.fail(`tagged field ${tag} of ${size} bytes exceeds the ${r.remaining} bytes left`);
          break;
        }
        const end = r.pos + size;
        const t = byTag.get(tag);
        if (t) {
          out[t.name] = t.dec(new Reader(r.buf, r.pos, end));
        }
        r.pos = end;
      }
    }
    return out;
  };
  return { enc, dec };
}

const compiled = new WeakMap<MessageDef, Map<number, Codec>>();

/** The encode/decode pair for one version of a message, compiled once and cached. */
export function compile(def: MessageDef, version: number): Codec {
  let byVersion = compiled.get(def);
  if (!byVersion) {
    byVersion = new Map();
    compiled.set(def, byVersion);
  }
  let c = byVersion.get(version);
  if (c) return c;
  if (!inVersions(def.validVersions, version)) {
    throw new EncodeError(`${def.name} has no version ${version} (valid ${def.validVersions})`);
  }
  const flexible = inVersions(def.flexibleVersions, version);
  const s = structCodec(def.fields, version, flexible, def.name);
  c = { version, flexible, encode: s.enc, decode: s.dec };
  byVersion.set(version, c);
  return c;
}
