/**
 * Connection profiles, as rpk has them: named sets of connection flags (brokers, TLS, SASL) kept in
 * `$XDG_CONFIG_HOME/kstream/profiles.json` (else `~/.config/kstream/profiles.json`), the file mode 0600 and its
 * directory 0700. `--profile NAME`, else $KSTREAM_PROFILE, else the profile `kstream profile use` chose, fills in
 * every flag the command line does not give (flags and -X properties win; $KSTREAM_BROKERS and $KSTREAM_PASSWORD
 * too, as environment variables win over rpk's profiles).
 *
 * A profile's password is the path of a password file (read at each use), or the password itself when it was
 * given through stdin to `profile create --password-stdin` (then only this file, mode 0600, holds it). Nothing
 * here prints a password: `profile show` and `profile list` say where it comes from.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { CliError, EXIT_USAGE } from './base.js';

/** A profile: the connection flags it stands for, by their flag names. */
export interface Profile {
  brokers?: string;
  tls?: boolean;
  'tls-ca'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'tls-insecure'?: boolean;
  'sasl-mechanism'?: string;
  user?: string;
  /** Path of the file whose first line is the password (absolute). */
  'password-file'?: string;
  /** The password itself (only when given through stdin to `profile create`). */
  password?: string;
}

export interface ProfilesFile {
  /** The profile in use (`kstream profile use`), if any. */
  current?: string;
  profiles: Record<string, Profile>;
}

const STRING_KEYS = ['brokers', 'tls-ca', 'tls-cert', 'tls-key', 'sasl-mechanism', 'user', 'password-file', 'password'];
const BOOLEAN_KEYS = ['tls', 'tls-insecure'];

export const PROFILE_ENV = 'KSTREAM_PROFILE';

/** `$XDG_CONFIG_HOME/kstream` (an absolute XDG_CONFIG_HOME only, as the XDG spec says), else `~/.config/kstream`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.config'), 'kstream');
}

export function profilesPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'profiles.json');
}

/** A profile name: letters, digits, '.', '_', '-' (it is typed on command lines and shown in tables). */
export function checkProfileName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name))
    throw new CliError(
      `invalid profile name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (at most 64)`,
      EXIT_USAGE,
    );
  return name;
}

/** The profiles file, checked; an absent file is no profiles. A damaged one is an error naming it. */
export function loadProfiles(path = profilesPath()): ProfilesFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const bad = (why: string) => new CliError(`${path}: ${why} (fix or remove the file; see kstream profile --help)`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw bad('expected a JSON object');
  const { current, profiles } = data as { current?: unknown; profiles?: unknown };
  if (current !== undefined && typeof current !== 'string') throw bad('"current" must be a profile name');
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles))
    throw bad('"profiles" must be an object of profiles by name');
  const out: ProfilesFile = { profiles: {} };
  for (const [name, p] of Object.entries(profiles)) {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw bad(`profile "${name}" must be an object`);
    for (const [k, v] of Object.entries(p)) {
      if (STRING_KEYS.includes(k)) {
        if (typeof v !== 'string') throw bad(`profile "${name}": "${k}" must be a string`);
      } else if (BOOLEAN_KEYS.includes(k)) {
        if (typeof v !== 'boolean') throw bad(`profile "${name}": "${k}" must be true or false`);
      } else throw bad(`profile "${name}": unknown key "${k}"`);
    }
    out.profiles[name] = p as Profile;
  }
  if (current !== undefined && Object.hasOwn(out.profiles, current)) out.current = current;
  return out;
}

/** Write the profiles file: directory 0700, file 0600, replaced atomically (a temp file renamed over it). */
export function saveProfiles(file: ProfilesFile, path = profilesPath()): void {
  const dir = join(path, '..');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    // An existing temp file keeps its mode through writeFileSync: set it, before the password goes live.
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (e) {
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export interface SelectedProfile {
  name: string;
  profile: Profile;
}

/**
 * The profile a command uses: `--profile NAME`, else $KSTREAM_PROFILE, else the current one (none: null). A
 * name that is not a profile is a usage error. A profile holding a password in a file others can read is
 * warned about.
 */
export function selectProfile(
  flag: string | undefined,
  warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  env: NodeJS.ProcessEnv = process.env,
): SelectedProfile | null {
  const asked = flag?.trim() || env[PROFILE_ENV]?.trim() || undefined;
  const path = profilesPath(env);
  const file = loadProfiles(path);
  const name = asked ?? file.current;
  if (name === undefined) return null;
  const profile = file.profiles[name];
  if (profile === undefined) {
    const from = flag?.trim() ? '--profile' : `$${PROFILE_ENV}`;
    const known = Object.keys(file.profiles);
    throw new CliError(
      `${from} ${name}: no such profile (${known.length > 0 ? `profiles: ${known.join(', ')}` : 'none yet: kstream profile create'})`,
      EXIT_USAGE,
    );
  }
  if (profile.password !== undefined) {
    try {
      if ((statSync(path).mode & 0o077) !== 0)
        warn(`kstream: warning: ${path} holds a password and others can read it: chmod 600 ${path}`);
    } catch {
      // gone meanwhile: nothing to warn about
    }
  }
  return { name, profile };
}

/** Where a profile's password comes from, for `profile show|list` (never the password). */
export function passwordSource(p: Profile): string {
  if (p.password !== undefined) return 'stored in the profile';
  if (p['password-file'] !== undefined) return `file ${p['password-file']}`;
  return p.user !== undefined ? '$KSTREAM_PASSWORD or --password-file' : '-';
}
