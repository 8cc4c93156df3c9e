/** A new user's password for `kstream user create|set-password`: --password-file, --password-stdin or $KSTREAM_USER_PASSWORD. */
import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { CliError, EXIT_USAGE } from './base.js';

export const newPasswordFlags = {
  'new-password-file': Flags.string({ description: "file whose first line is the user's password" }),
  'password-stdin': Flags.boolean({ description: "read the user's password from stdin (its first line)" }),
  mechanism: Flags.option({
    description: 'SCRAM mechanism to set (default: both)',
    options: ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const,
  })(),
};

export async function newPassword(f: { 'new-password-file'?: string; 'password-stdin'?: boolean }): Promise<string> {
  let text: string | undefined;
  if (f['new-password-file'] !== undefined) {
    try {
      text = readFileSync(f['new-password-file'], 'utf8');
    } catch (e) {
      throw new CliError(
        `cannot read --new-password-file ${f['new-password-file']}: ${(e as NodeJS.ErrnoException).code}`,
        EXIT_USAGE,
      );
    }
  } else if (f['password-stdin']) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else text = process.env.KSTREAM_USER_PASSWORD;
  const password = text?.split(/\r?\n/)[0];
  if (!password) {
    throw new CliError(
      "the user's password: --new-password-file FILE, --password-stdin or $KSTREAM_USER_PASSWORD",
      EXIT_USAGE,
    );
  }
  return password;
}
