/**
 * Flags shared by every client command: -b/--brokers (env KSTREAM_BROKERS), -o/--output, --timeout.
 * Kept free of client imports so loading a command for --help stays cheap.
 */
import { Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from './base.js';
import { OUTPUT_FORMATS, type OutputFormat } from './output.js';
import { securityFlags } from './security.js';

export const brokersFlag = Flags.string({
  char: 'b',
  description: 'bootstrap brokers, host:port[,host:port] (default: $KSTREAM_BROKERS, else 127.0.0.1:9092)',
  env: 'KSTREAM_BROKERS',
  helpGroup: 'CONNECTION',
});

export const outputFlag = Flags.option({
  char: 'o',
  description: 'output format',
  options: OUTPUT_FORMATS,
  default: 'text' as OutputFormat,
  helpGroup: 'OUTPUT',
})();

export const timeoutFlag = Flags.string({
  description: 'give up on an unreachable broker or a request after this long (500ms, 10s, 1m)',
  default: '10s',
  helpGroup: 'CONNECTION',
});

/** The flags of every client command (oclif baseFlags). */
export const clientFlags = { brokers: brokersFlag, output: outputFlag, timeout: timeoutFlag, ...securityFlags };

/** --acks of produce and bench: 0, 1 or all; -1 is Kafka's spelling of all (acks=-1). */
export function acksFlag(defaultValue: '0' | '1' | 'all') {
  return Flags.option({
    description: 'acknowledgements to wait for: 0, 1 or all (-1 = all)',
    options: ['0', '1', 'all', '-1'] as const,
    default: defaultValue,
  })();
}

/** The value of acksFlag() as the producer takes it (-1 = all). */
export function parseAcks(value: string): 0 | 1 | -1 {
  if (value === 'all' || value === '-1') return -1;
  if (value === '0' || value === '1') return Number(value) as 0 | 1;
  throw new CliError(`--acks must be 0, 1 or all, got ${value}`, EXIT_USAGE);
}

/**
 * `500ms`, `10s`, `2m`, `1h` (decimals allowed: `1.5s`) → milliseconds. The unit is required: a bare number
 * is a usage error that asks for one (`--timeout 10` read as 10 ms surprised people; Go and rpk reject it too).
 */
export function parseDuration(text: string, flag = '--timeout'): number {
  const trimmed = text.trim();
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(trimmed);
  if (!m)
    throw new CliError(`invalid ${flag} ${JSON.stringify(text)}: use a duration like 500ms, 10s or 2m`, EXIT_USAGE);
  const n = Number(m[1]);
  const unit = m[2];
  // A bare 0 gets the "above 0" answer below: no unit would make it valid.
  if (n > 0 && unit === undefined)
    throw new CliError(`invalid ${flag} ${JSON.stringify(text)}: add a unit: ${trimmed}s or ${trimmed}ms`, EXIT_USAGE);
  const ms = Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(unit ?? 'ms') as 'ms' | 's' | 'm' | 'h']);
  // 0 would fail every request at once ("no answer … within 0s").
  if (ms <= 0)
    throw new CliError(
      `invalid ${flag} ${JSON.stringify(text)}: use a duration above 0, like 500ms, 10s or 2m`,
      EXIT_USAGE,
    );
  return ms;
}

/** `key=value` (the value may contain '='); `what` names the flag in the error. */
export function parseKeyValue(text: string, what: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new CliError(`invalid ${what} ${JSON.stringify(text)}: expected key=value`, EXIT_USAGE);
  return [text.slice(0, i), text.slice(i + 1)];
}
