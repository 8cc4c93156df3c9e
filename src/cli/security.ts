/**
 * TLS and SASL for every client command and `kstream top`: `--tls`, `--tls-ca`, `--tls-cert`, `--tls-key`,
 * `--tls-insecure` (warned), `--sasl-mechanism`, `--user`, and the password never from a flag of its own (it
 * would show in `ps` and shell history). A profile (`--profile`, $KSTREAM_PROFILE or the one in use; profiles.ts)
 * fills in what the flags do not give.
 *
 * The one rule for the password a command logs in with: `--login-password-file FILE`, else `--password-file FILE`
 * (except in `user create|set-password`, where --password-file is the NEW user's password), else
 * $KSTREAM_PASSWORD, else the profile's (its password file, or the password stored in it) when the profile's user
 * is the one logging in.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import type { SaslCredentials } from '../client/connection.js';
import { CliError, EXIT_USAGE } from './base.js';
import { type Profile, type SelectedProfile, selectProfile } from './profiles.js';

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
    description: "file whose first line is the SASL password (else $KSTREAM_PASSWORD, else the profile's)",
    helpGroup: 'SECURITY',
  }),
  'login-password-file': Flags.string({
    description:
      'the same as --password-file (its name in user create|set-password, where --password-file is the new one)',
    helpGroup: 'SECURITY',
  }),
  profile: Flags.string({
    description:
      'connection profile (kstream profile list) for what the flags do not give; default $KSTREAM_PROFILE, else the one in use',
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
  'login-password-file'?: string;
  profile?: string;
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

/** The settings of a connection: the flags, with what they do not give from the profile. */
export interface ClientSettings {
  /** -b, else $KSTREAM_BROKERS, else the profile's; undefined: none of them (the caller's default). */
  brokers?: string;
  security: Security;
  /** The profile used, if any. */
  profile: string | null;
}

const PROFILE_TLS_KEYS = ['tls', 'tls-ca', 'tls-cert', 'tls-key', 'tls-insecure'] as const;
const PROFILE_SASL_KEYS = ['sasl-mechanism', 'user'] as const;

/**
 * The flags with the profile's values where a flag (or its -X property) is not given. An explicit -X
 * security.protocol decides alone whether TLS and SASL are on: the profile's TLS settings do not apply to
 * plaintext or sasl_plaintext, nor its user to plaintext or ssl.
 */
function withProfile(f: SecurityFlags, p: Profile): SecurityFlags {
  const out: SecurityFlags = { ...f };
  const protocol = [...(f.property ?? [])]
    .reverse()
    .find((x) => x.trim().startsWith('security.protocol='))
    ?.split('=')[1]
    ?.trim()
    .toUpperCase();
  const fill = (keys: readonly (keyof Profile & keyof SecurityFlags)[]) => {
    for (const k of keys) {
      if ((out[k] === undefined || out[k] === false) && p[k] !== undefined) (out as Record<string, unknown>)[k] = p[k];
    }
  };
  if (protocol === undefined || protocol.endsWith('SSL')) fill(PROFILE_TLS_KEYS);
  if (protocol === undefined || protocol.startsWith('SASL')) fill(PROFILE_SASL_KEYS);
  return out;
}

/**
 * Brokers, TLS options and SASL credentials from the flags and the profile (files read now); no TLS and no SASL
 * for a plaintext connection. The login password follows the one rule at the top of this file.
 */
export function clientSettings(
  given: SecurityFlags & { brokers?: string },
  warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): ClientSettings {
  const selected: SelectedProfile | null = selectProfile(given.profile, warn);
  const explicit = withProperties(given);
  const f = selected ? withProfile(explicit, selected.profile) : explicit;
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
    out.sasl = {
      mechanism: (f['sasl-mechanism'] ?? 'SCRAM-SHA-512') as SaslCredentials['mechanism'],
      user: f.user,
      password: loginPassword(f, f.user, selected),
    };
  }
  const brokers = given.brokers?.trim() || process.env.KSTREAM_BROKERS?.trim() || selected?.profile.brokers;
  const settings: ClientSettings = { security: out, profile: selected?.name ?? null };
  if (brokers) settings.brokers = brokers;
  return settings;
}

/** The password `user` logs in with: the one rule at the top of this file. */
function loginPassword(f: SecurityFlags, user: string, selected: SelectedProfile | null): string {
  let password: string | undefined;
  if (f['login-password-file'] !== undefined)
    password = firstLine(read(f['login-password-file'], '--login-password-file'));
  else if (f['password-file'] !== undefined) password = firstLine(read(f['password-file'], '--password-file'));
  else if (process.env.KSTREAM_PASSWORD) password = process.env.KSTREAM_PASSWORD;
  else if (selected !== null && selected.profile.user === user) {
    const p = selected.profile;
    if (p.password !== undefined) password = p.password;
    else if (p['password-file'] !== undefined)
      password = firstLine(read(p['password-file'], `the password file of profile ${selected.name}`));
  }
  if (!password)
    throw new CliError(
      `--user ${user} needs a password: --password-file FILE, $KSTREAM_PASSWORD or a profile with one (kstream profile create)`,
      EXIT_USAGE,
    );
  return password;
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0] ?? '';
}

/** TLS options and SASL credentials from the flags and the profile (see clientSettings). */
export function securitySettings(
  given: SecurityFlags,
  warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Security {
  return clientSettings(given, warn).security;
}

/**
 * Whom a connection logs in as and over which protocol, as a broker sees it: `User:alice · SASL_SSL SCRAM-SHA-512`;
 * with a client certificate and no SASL the certificate's subject in Kafka's form (RFC 2253, as the default
 * ssl.principal.mapping.rules gives it) `User:CN=cli,O=example · SSL`; else `User:ANONYMOUS · PLAINTEXT`.
 */
export function describeIdentity(s: Security): string {
  if (s.sasl) return `User:${s.sasl.user} · ${s.tls ? 'SASL_SSL' : 'SASL_PLAINTEXT'} ${s.sasl.mechanism}`;
  if (!s.tls) return 'User:ANONYMOUS · PLAINTEXT';
  const cert = s.tls.cert;
  if (typeof cert === 'string') {
    try {
      const subject = new X509Certificate(cert).subject.split('\n').filter((x) => x !== '');
      return `User:${subject.reverse().join(',')} · SSL`;
    } catch {
      return 'User:(client certificate) · SSL';
    }
  }
  return 'User:ANONYMOUS · SSL';
}
