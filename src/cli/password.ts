/**
 * A new user's password for `kstream user create|set-password`: --password-file (alias --new-password-file),
 * --password-stdin or $KSTREAM_USER_PASSWORD. In these two commands --password-file is the NEW user's password;
 * the password they log in with comes from --login-password-file, $KSTREAM_PASSWORD or the profile
 * (src/cli/security.ts has the one rule).
 */
import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from './base.js';

export const newPasswordFlags = {
  'password-file': Flags.string({
    description:
      "file whose first line is the user's new password (alias --new-password-file); log in with " +
      '--login-password-file, $KSTREAM_PASSWORD or the profile',
    aliases: ['new-password-file'],
    exclusive: ['password-stdin'],
  }),
  'password-stdin': Flags.boolean({ description: "read the user's new password from stdin (its first line)" }),
  mechanism: Flags.option({
    description: 'SCRAM mechanism to set (default: both)',
    options: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const,
  })(),
};

export async function newPassword(f: { 'password-file'?: string; 'password-stdin'?: boolean }): Promise<string> {
  let text: string | undefined;
  if (f['password-file'] !== undefined) {
    try {
      text = readFileSync(f['password-file'], 'utf8');
    } catch (e) {
      throw new CliError(
        `cannot read --password-file ${f['password-file']}: ${(e as NodeJS.ErrnoException).code}`,
        EXIT_USAGE,
      );
    }
  } else if (f['password-stdin']) text = await readStdin();
  else text = process.env.KSTREAM_USER_PASSWORD;
  const password = text?.split(/\r?\n/)[0];
  if (!password) {
    throw new CliError(
      "the user's new password: --password-file FILE, --password-stdin or $KSTREAM_USER_PASSWORD",
      EXIT_USAGE,
    );
  }
  return password;
}

/** All of stdin as text. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The flags a `user create|set-password` command connects with: its --password-file is the new user's password,
 * never the one it logs in with.
 */
export function loginFlags<F extends { 'password-file'?: string }>(flags: F): F {
  return { ...flags, 'password-file': undefined };
}
