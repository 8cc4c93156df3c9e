/**
 * What the `kstream profile` commands do (profiles.ts keeps the file): create (flags checked, paths made
 * absolute, the password as a file path or from stdin), use, list, show (never a password) and delete.
 */
import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, EXIT_USAGE } from './base.js';
import { type Column, type OutputFormat, renderList, renderStruct } from './output.js';
import { readStdin } from './password.js';
import {
  checkProfileName,
  loadProfiles,
  type Profile,
  passwordSource,
  profilesPath,
  saveProfiles,
} from './profiles.js';
import { type SecurityFlags, withProperties } from './security.js';
import type { StatusRow } from './status.js';

export interface CreateFlags extends SecurityFlags {
  brokers?: string;
  'password-stdin'?: boolean;
  use: boolean;
  force?: boolean;
}

function readable(path: string, flag: string): string {
  const abs = resolve(path);
  try {
    accessSync(abs, constants.R_OK);
  } catch (e) {
    throw new CliError(`${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'not readable'}`, EXIT_USAGE);
  }
  return abs;
}

/** The profile the flags describe, checked as a command using it would check them. */
export async function profileFromFlags(flags: CreateFlags): Promise<Profile> {
  const f = withProperties(flags);
  const p: Profile = {};
  if (flags.brokers !== undefined) {
    const { parseBrokers } = await import('../client/brokers.js');
    try {
      parseBrokers(flags.brokers);
    } catch (e) {
      throw new CliError((e as Error).message, EXIT_USAGE);
    }
    p.brokers = flags.brokers.trim();
  }
  if ((f['tls-cert'] === undefined) !== (f['tls-key'] === undefined))
    throw new CliError('--tls-cert and --tls-key go together', EXIT_USAGE);
  if (f.tls || f['tls-ca'] || f['tls-cert'] || f['tls-key'] || f['tls-insecure']) p.tls = true;
  for (const k of ['tls-ca', 'tls-cert', 'tls-key'] as const) {
    const v = f[k];
    if (v !== undefined) p[k] = readable(v, `--${k}`);
  }
  if (f['tls-insecure']) p['tls-insecure'] = true;
  if (f['sasl-mechanism'] !== undefined) {
    if (f.user === undefined) throw new CliError('--sasl-mechanism needs --user', EXIT_USAGE);
    p['sasl-mechanism'] = f['sasl-mechanism'];
  }
  if (f.user !== undefined) p.user = f.user;
  if (f['password-file'] !== undefined || flags['password-stdin']) {
    if (f.user === undefined) throw new CliError('a password needs --user', EXIT_USAGE);
    if (f['password-file'] !== undefined) p['password-file'] = readable(f['password-file'], '--password-file');
    else {
      const password = (await readStdin()).split(/\r?\n/)[0];
      if (!password) throw new CliError('--password-stdin: stdin holds no password', EXIT_USAGE);
      p.password = password;
    }
  }
  return p;
}

export async function createProfile(name: string, flags: CreateFlags): Promise<string> {
  checkProfileName(name);
  const path = profilesPath();
  const file = loadProfiles(path);
  if (Object.hasOwn(file.profiles, name) && !flags.force)
    throw new CliError(`profile ${name} exists (--force replaces it, kstream profile delete removes it)`, EXIT_USAGE);
  file.profiles[name] = await profileFromFlags(flags);
  if (flags.use) file.current = name;
  saveProfiles(file, path);
  return `profile ${name} saved in ${path}${flags.use ? ' and in use' : ''}`;
}

export function switchProfile(name: string): string {
  const path = profilesPath();
  const file = loadProfiles(path);
  if (!Object.hasOwn(file.profiles, name)) throw new CliError(`no profile ${name} (kstream profile list)`, EXIT_USAGE);
  file.current = name;
  saveProfiles(file, path);
  return `profile ${name} in use`;
}

/** A profile as shown: its settings and where its password comes from, never the password. */
export interface ProfileView {
  name: string;
  current: boolean;
  brokers: string | null;
  tls: boolean;
  tlsCa: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  tlsInsecure: boolean;
  saslMechanism: string | null;
  user: string | null;
  password: string;
}

function view(name: string, p: Profile, current: string | undefined): ProfileView {
  return {
    name,
    current: name === current,
    brokers: p.brokers ?? null,
    tls: p.tls === true,
    tlsCa: p['tls-ca'] ?? null,
    tlsCert: p['tls-cert'] ?? null,
    tlsKey: p['tls-key'] ?? null,
    tlsInsecure: p['tls-insecure'] === true,
    saslMechanism: p.user !== undefined ? (p['sasl-mechanism'] ?? 'SCRAM-SHA-512') : null,
    user: p.user ?? null,
    password: passwordSource(p),
  };
}

const LIST_COLUMNS: Column<ProfileView>[] = [
  { header: '', get: (v) => (v.current ? '*' : '') },
  { header: 'name', get: (v) => v.name },
  { header: 'brokers', get: (v) => v.brokers ?? '-' },
  { header: 'security', get: (v) => protocolOf(v) },
  { header: 'user', get: (v) => v.user ?? '-' },
  { header: 'password', get: (v) => v.password, wide: true },
];

function protocolOf(v: ProfileView): string {
  const p = v.user !== null ? (v.tls ? 'SASL_SSL' : 'SASL_PLAINTEXT') : v.tls ? 'SSL' : 'PLAINTEXT';
  return v.saslMechanism ? `${p} ${v.saslMechanism}` : p;
}

export async function listProfiles(format: OutputFormat): Promise<string> {
  const file = loadProfiles();
  const rows = Object.entries(file.profiles)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, p]) => view(name, p, file.current));
  return renderList(rows, LIST_COLUMNS, format);
}

export async function showProfile(name: string | undefined, format: OutputFormat): Promise<string> {
  const file = loadProfiles();
  const which = name ?? file.current;
  if (which === undefined) throw new CliError('no profile in use: name one (kstream profile list)', EXIT_USAGE);
  const p = file.profiles[which];
  if (p === undefined) throw new CliError(`no profile ${which} (kstream profile list)`, EXIT_USAGE);
  const v = view(which, p, file.current);
  return renderStruct(
    [
      ['name', v.name],
      ['in use', v.current ? 'yes' : 'no'],
      ['brokers', v.brokers ?? '-'],
      ['security', protocolOf(v)],
      ['tls ca', v.tlsCa ?? (v.tls ? 'system CAs' : '-')],
      ['tls cert', v.tlsCert ?? '-'],
      ['tls key', v.tlsKey ?? '-'],
      ['tls insecure', v.tlsInsecure ? 'yes (certificate not checked)' : 'no'],
      ['user', v.user ?? '-'],
      ['password', v.password],
    ],
    format,
    v,
  );
}

export function deleteProfiles(names: string[]): StatusRow[] {
  const path = profilesPath();
  const file = loadProfiles(path);
  const rows: StatusRow[] = [];
  for (const name of names) {
    if (!Object.hasOwn(file.profiles, name)) {
      rows.push({ name, status: 'no such profile' });
      continue;
    }
    delete file.profiles[name];
    if (file.current === name) delete file.current;
    rows.push({ name, status: 'OK' });
  }
  if (rows.some((r) => r.status === 'OK')) saveProfiles(file, path);
  return rows;
}
