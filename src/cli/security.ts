/**
 * TLS and SASL for every client command and `kstream top`: `--tls`, `--tls-ca`, `--tls-cert`, `--tls-key`,
 * `--tls-insecure` (warned), `--sasl-mechanism`, `--user`, and the password from `--password-file` or
 * $KSTREAM_PASSWORD — never a flag of its own (it would show in `ps` and shell history).
 */
import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import type { SaslCredentials } from '../client/connection.js';
import { CliError, EXIT_USAGE } from './base.js';

export const securityFlags = {
  tls: Flags.boolean({ description: 'connect over TLS (implied by the other --tls-* flags)', helpGroup: 'SECURITY' }),
  'tls-ca': Flags.string({
    description: 'PEM file of the CA(s) to trust (default: the system CAs)',
    helpGroup: 'SECURITY',
  }),
  'tls-cert': Flags.string({ description: 'PEM client certificate (mutual TLS)', helpGroup: 'SECURITY' }),
  'tls-key': Flags.string({ description: 'PEM private key of --tls-cert', helpGroup: 'SECURITY' }),
  'tls-insecure': Flags.boolean({
    description: "do not check the broker's certificate (testing only; warned)",
    helpGroup: 'SECURITY',
  }),
  'sasl-mechanism': Flags.option({
    description: 'SASL mechanism (with --user)',
    options: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const,
    helpGroup: 'SECURITY',
  })(),
  user: Flags.string({ description: 'SASL user name', helpGroup: 'SECURITY' }),
  'password-file': Flags.string({
    description: 'file whose first line is the SASL password (else $KSTREAM_PASSWORD)',
    helpGroup: 'SECURITY',
  }),
  property: Flags.string({
    char: 'X',
    description:
      'librdkafka-style client property, as kcat takes it: security.protocol, sasl.mechanism(s), sasl.username, ' +
      'ssl.ca.location, ssl.certificate.location, ssl.key.location, enable.ssl.certificate.verification (flags win)',
    multiple: true,
    helpGroup: 'SECURITY',
  }),
};

/** -X key=value (librdkafka names) as the flags they stand for; an explicit flag wins over its property. */
export function withProperties(f: SecurityFlags): SecurityFlags {
  const out: SecurityFlags = { ...f };
  for (const item of f.property ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new CliError(`-X ${item}: expected key=value`, EXIT_USAGE);
    const key = item.slice(0, at).trim();
    const value = item.slice(at + 1).trim();
    const set = <K extends keyof SecurityFlags>(k: K, v: SecurityFlags[K]) => {
      if (f[k] === undefined || f[k] === false) out[k] = v;
    };
    switch (key) {
      case 'security.protocol': {
        const p = value.toUpperCase();
        if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(p))
          throw new CliError(
            `-X security.protocol=${value}: use plaintext, ssl, sasl_plaintext or sasl_ssl`,
            EXIT_USAGE,
          );
        if (p === 'SSL' || p === 'SASL_SSL') set('tls', true);
        break;
      }
      case 'sasl.mechanism':
      case 'sasl.mechanisms':
        set('sasl-mechanism', value.toUpperCase());
        break;
      case 'sasl.username':
        set('user', value);
        break;
      case 'sasl.password':
        throw new CliError(
          '-X sasl.password would show the password in ps: use --password-file or $KSTREAM_PASSWORD',
          EXIT_USAGE,
        );
      case 'ssl.ca.location':
        set('tls-ca', value);
        break;
      case 'ssl.certificate.location':
        set('tls-cert', value);
        break;
      case 'ssl.key.location':
        set('tls-key', value);
        break;
      case 'enable.ssl.certificate.verification':
        if (value === 'false') set('tls-insecure', true);
        break;
      default:
        throw new CliError(`-X ${key}: not a client property kstream knows`, EXIT_USAGE);
    }
  }
  if (
    out['sasl-mechanism'] !== undefined &&
    !['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'].includes(out['sasl-mechanism'])
  )
    throw new CliError(
      `SASL mechanism ${out['sasl-mechanism']}: use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`,
      EXIT_USAGE,
    );
  return out;
}

export interface SecurityFlags {
  tls?: boolean;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-insecure'?: boolean;
  'sasl-mechanism'?: string;
  user?: string;
  'password-file'?: string;
  property?: string[];
}

export interface Security {
  tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
  sasl?: SaslCredentials;
}

function read(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read ${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      EXIT_USAGE,
    );
  }
}

/** TLS options and SASL credentials from the flags (files read now); empty for a plaintext connection. */
export function securitySettings(
  given: SecurityFlags,
  warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Security {
  const f = withProperties(given);
  const out: Security = {};
  if (f.tls || f['tls-ca'] || f['tls-cert'] || f['tls-key'] || f['tls-insecure']) {
    if ((f['tls-cert'] === undefined) !== (f['tls-key'] === undefined)) {
      throw new CliError('--tls-cert and --tls-key go together', EXIT_USAGE);
    }
    out.tls = {};
    if (f['tls-ca']) out.tls.ca = read(f['tls-ca'], '--tls-ca');
    if (f['tls-cert']) out.tls.cert = read(f['tls-cert'], '--tls-cert');
    if (f['tls-key']) out.tls.key = read(f['tls-key'], '--tls-key');
    if (f['tls-insecure']) {
      out.tls.rejectUnauthorized = false;
      warn("kstream: warning: --tls-insecure: the broker's certificate is not checked");
    }
  }
  if (f.user !== undefined || f['sasl-mechanism'] !== undefined) {
    if (f.user === undefined) throw new CliError('--sasl-mechanism needs --user', EXIT_USAGE);
    let password: string | undefined;
    if (f['password-file'] !== undefined) password = read(f['password-file'], '--password-file').split(/\r?\n/)[0];
    else password = process.env.KSTREAM_PASSWORD;
    if (!password) throw new CliError('--user needs a password: --password-file FILE or $KSTREAM_PASSWORD', EXIT_USAGE);
    out.sasl = {
      mechanism: (f['sasl-mechanism'] ?? 'SCRAM-SHA-512') as SaslCredentials['mechanism'],
      user: f.user,
      password,
    };
  }
  return out;
}
