/**
 * `consume --format` templates (kcat-style): %t topic, %p partition, %o offset, %k key, %v value (or %s, kcat's),
 * %T timestamp (ms), %h headers (k=v,k2=v2), %% a percent sign; \n \t \r \\ escapes. Compiled once into
 * parts; an unknown token or a dangling % is an error naming it.
 */
import type { ConsumerRecord } from '../client/index.js';

type Part = string | 't' | 'p' | 'o' | 'k' | 'v' | 'T' | 'h';
export type RecordFormatter = (r: ConsumerRecord) => Buffer;

const TOKENS = new Set(['t', 'p', 'o', 'k', 'v', 'T', 'h']);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

export function compileFormat(template: string): RecordFormatter {
  const parts: { literal?: string; token?: Part }[] = [];
  let lit = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c === '\\' && i + 1 < template.length && ESCAPES[template[i + 1]!] !== undefined) {
      lit += ESCAPES[template[++i]!];
    } else if (c === '%') {
      const t = template[i + 1];
      if (t === undefined) throw new Error(`invalid --format ${JSON.stringify(template)}: it ends with a lone %`);
      i++;
      if (t === '%') lit += '%';
      else if (TOKENS.has(t) || t === 's') {
        if (lit) parts.push({ literal: lit });
        lit = '';
        // %s is kcat's name for the value: `-f '%k %s\n'` works as it does there.
        parts.push({ token: (t === 's' ? 'v' : t) as Part });
      } else
        throw new Error(
          `invalid --format ${JSON.stringify(template)}: unknown token %${t} (use %t %p %o %k %v %T %h, %% for a percent sign)`,
        );
    } else lit += c;
  }
  if (lit) parts.push({ literal: lit });
  const compiled = parts.map((p) => (p.literal !== undefined ? Buffer.from(p.literal) : (p.token as Part)));
  return (r) => {
    const out: Buffer[] = [];
    for (const p of compiled) {
      if (Buffer.isBuffer(p)) out.push(p);
      else if (p === 't') out.push(Buffer.from(r.topic));
      else if (p === 'p') out.push(Buffer.from(String(r.partition)));
      else if (p === 'o') out.push(Buffer.from(String(r.offset)));
      else if (p === 'T') out.push(Buffer.from(String(r.timestamp)));
      else if (p === 'k') {
        if (r.key) out.push(r.key);
      } else if (p === 'v') {
        if (r.value) out.push(r.value);
      } else if (p === 'h') {
        r.headers.forEach((h, i) => {
          out.push(Buffer.from(`${i > 0 ? ',' : ''}${h.key}=`));
          if (h.value) out.push(h.value);
        });
      }
    }
    return Buffer.concat(out);
  };
}
