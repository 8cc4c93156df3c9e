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
};

export interface SecurityFlags {
  tls?: boolean;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-insecure'?: boolean;
  'sasl-mechanism'?: string;
  user?: string;
  'password-file'?: string;
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
  f: SecurityFlags,
  warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Security {
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
