import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../src/cli/base.js';
import { securityFlags } from '../../src/cli/security.js';

const { profile: _profile, 'login-password-file': _login, ...connectionFlags } = securityFlags;

export default class ProfileCreate extends BaseCommand {
  static override summary = 'Save connection flags (brokers, TLS, SASL) as a named profile, and use it.';
  static override description =
    `Every client command and top then take what their flags do not give from the profile in use (kstream profile
use), the one $KSTREAM_PROFILE names, or the one --profile names. Flags, -X properties, $KSTREAM_BROKERS and
$KSTREAM_PASSWORD win over the profile. Profiles live in $XDG_CONFIG_HOME/kstream/profiles.json (else
~/.config/kstream/profiles.json), mode 0600. Paths are stored absolute.

The password: --password-file stores the file's path (read at each use, never copied); --password-stdin stores
the password itself in the profiles file (mode 0600; kstream warns if others can read it); neither: give it at
each use ($KSTREAM_PASSWORD or --password-file). No command prints it. Like rpk, the new profile is put in use
(--no-use keeps the current one).`;
  static override examples = [
    '<%= config.bin %> profile create prod -b kafka1:9094,kafka2:9094 --tls-ca ca.pem --sasl-mechanism SCRAM-SHA-512 --user admin --password-file admin.pw',
    'printf %s "$PW" | <%= config.bin %> profile create dev -b 127.0.0.1:9094 --tls --user alice --password-stdin',
    '<%= config.bin %> profile create local -b 127.0.0.1:9092 --no-use',
  ];
  static override args = { name: Args.string({ description: 'profile name', required: true }) };
  static override flags = {
    brokers: Flags.string({
      char: 'b',
      description: 'bootstrap brokers, host:port[,host:port]',
      helpGroup: 'CONNECTION',
    }),
    ...connectionFlags,
    'password-stdin': Flags.boolean({
      description: 'read the password from stdin (first line) and store it in the profile',
      helpGroup: 'SECURITY',
      exclusive: ['password-file'],
    }),
    use: Flags.boolean({
      description: 'put the new profile in use (--no-use: keep the current one)',
      default: true,
      allowNo: true,
    }),
    force: Flags.boolean({ char: 'f', description: 'replace a profile of that name' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ProfileCreate);
    const { createProfile } = await import('../../src/cli/profile-commands.js');
    this.log(await createProfile(args.name, flags));
  }
}
