/**
 * The one renderer of kstream's CLI (DESIGN.md decision 8): every command prints through here.
 *
 *   -o text  a list of rows → a borderless table (rpk style), a struct → label/value rows
 *   -o wide  the same with the extra columns
 *   -o json  the typed result as JSON (bigint as a number when it is a safe integer, else a string;
 *            Buffer as UTF-8 text, or base64 when it is not valid UTF-8)
 *   -o yaml  the same data as YAML
 *
 * cli-table3 and yaml are loaded on first use, so commands that never print a table start faster.
 */

export const OUTPUT_FORMATS = ['text', 'wide', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Column<R> {
  /** Column title (upper-cased in the table). */
  header: string;
  /** The cell's value. */
  get: (row: R) => unknown;
  /** Only with -o wide. */
  wide?: boolean;
}

/** A JSON-safe copy: bigint → number (safe) or string, Buffer → string, Error → its message, Map → object. */
export function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return bufferText(value) ?? value.toString('base64');
  if (value instanceof Error) return value.message;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toPlain(v)]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toPlain(v);
  return out;
}

/** The buffer as text if it is valid UTF-8, else null. */
export function bufferText(b: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

/** A table cell: null/undefined → '-', arrays joined with ',', bigint/number as is. */
export function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.map(cell).join(',');
  if (Buffer.isBuffer(v)) return bufferText(v) ?? v.toString('base64');
  if (v instanceof Error) return v.message;
  if (typeof v === 'object') return JSON.stringify(toPlain(v));
  return String(v);
}

/** A borderless, uncolored table; trailing spaces trimmed. Empty `rows` → just the header. */
export async function table(headers: readonly string[], rows: readonly (readonly string[])[]): Promise<string> {
  const { default: Table } = await import('cli-table3');
  const blank = {
    top: '',
    'top-mid': '',
    'top-left': '',
    'top-right': '',
    bottom: '',
    'bottom-mid': '',
    'bottom-left': '',
    'bottom-right': '',
    left: '',
    'left-mid': '',
    mid: '',
    'mid-mid': '',
    right: '',
    'right-mid': '',
    middle: '  ',
  };
  const t = new Table({
    head: headers.map((h) => h.toUpperCase()),
    chars: blank,
    style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) t.push([...r]);
  return `${t
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')}\n`;
}

/** JSON (2-space indent) or YAML of the plain form of `data`. */
export async function serialize(data: unknown, format: 'json' | 'yaml'): Promise<string> {
  const plain = toPlain(data);
  if (format === 'json') return `${JSON.stringify(plain, null, 2)}\n`;
  // Bundled (single executable), esbuild hands back the CommonJS build with the API under `default`.
  const mod = (await import('yaml')) as typeof import('yaml') & { default?: typeof import('yaml') };
  const stringify = mod.stringify ?? mod.default?.stringify;
  return stringify(plain);
}

/** A list of rows: a table for text/wide, the rows themselves (`data`, default `rows`) for json/yaml. */
export async function renderList<R>(
  rows: readonly R[],
  columns: readonly Column<R>[],
  format: OutputFormat,
  data: unknown = rows,
): Promise<string> {
  if (format === 'json' || format === 'yaml') return serialize(data, format);
  const cols = columns.filter((c) => format === 'wide' || !c.wide);
  return table(
    cols.map((c) => c.header),
    rows.map((r) => cols.map((c) => cell(c.get(r)))),
  );
}

/** A struct: `LABEL  value` rows for text/wide (wide-only fields marked with a leading '+'), json/yaml as is. */
export async function renderStruct(
  fields: readonly [label: string, value: unknown, wide?: boolean][],
  format: OutputFormat,
  data: unknown,
): Promise<string> {
  if (format === 'json' || format === 'yaml') return serialize(data, format);
  const rows = fields.filter(([, , wide]) => format === 'wide' || !wide);
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return `${rows.map(([l, v]) => `${l.toUpperCase().padEnd(width)}  ${cell(v)}`.trimEnd()).join('\n')}\n`;
}

/** A titled section of a text document (`describe`): the title line, then the body. */
export function section(title: string, body: string): string {
  return `${title.toUpperCase()}\n${body}`;
}

/** A byte count for a summary line: 27 B, 3.4 KiB, 12.0 MiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
