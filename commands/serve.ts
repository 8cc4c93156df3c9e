import { readFileSync } from 'node:fs';
import { Flags } from '@oclif/core';
import { startBroker } from '../src/broker/run.js';
import { BaseCommand, CliError, EXIT_USAGE } from '../src/cli/base.js';
import { isLogLevel } from '../src/util/logger.js';

export default class Serve extends BaseCommand {
  static override summary = 'Start a kstream broker node.';
  static override description =
    `Starts a Kafka-compatible broker. Without --etcd it runs alone: an embedded single node that keeps
its topics and logs in --data-dir. Any Kafka client (kcat, kafkajs, confluent-kafka, the Java client) can
produce to and consume from it. Ctrl-C (SIGINT) or SIGTERM stops it cleanly: logs are flushed and
checkpointed.

Configuration uses Kafka's key names in a properties file (--config); flags override the file, the file
overrides the flags' defaults. Every flag is also a broker config (log.dirs, host.name, port,
advertised.host.name, advertised.port, broker.id, etcd.endpoints, cluster.id, broker.rack, log.level,
config.file) that DescribeConfigs reports with its source; the node writes its arguments and resolved flags
to <data-dir>/serve.json at start.`;

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --port 9093 --data-dir /var/lib/kstream',
    '<%= config.bin %> serve --config server.properties --log-level debug',
    'KSTREAM_BOOTSTRAP_PASSWORD=… <%= config.bin %> serve --config secured.properties --bootstrap-user admin',
  ];

  static override flags = {
    'data-dir': Flags.string({ description: 'directory for topic logs and metadata', default: './kstream-data' }),
    host: Flags.string({ description: 'address to listen on', default: '127.0.0.1' }),
    port: Flags.integer({ description: 'port to listen on (0 picks a free one)', default: 9092, min: 0, max: 65535 }),
    'advertised-host': Flags.string({ description: 'host clients are told to connect to (default: --host)' }),
    'advertised-port': Flags.integer({
      description: 'port clients are told to connect to (default: --port)',
      min: 1,
      max: 65535,
    }),
    'node-id': Flags.integer({ description: "this broker's id", default: 1, min: 0 }),
    etcd: Flags.string({
      description: 'etcd endpoints (comma-separated URLs): join a replicated cluster instead of running alone',
      env: 'KSTREAM_ETCD',
    }),
    'cluster-id': Flags.string({ description: 'name of the cluster in etcd (with --etcd)', default: 'kstream' }),
    rack: Flags.string({ description: 'rack of this broker, for rack-aware replica placement' }),
    config: Flags.string({ description: 'Kafka-style properties file (key=value)' }),
    'http-port': Flags.integer({
      description:
        'port of the admin HTTP listener (/metrics, /health, /ready; admin.listeners, default 9644 on 127.0.0.1); 0 turns it off',
      min: 0,
      max: 65535,
    }),
    'log-level': Flags.string({ description: 'debug, info, warn or error', default: 'info' }),
    'bootstrap-user': Flags.string({
      description:
        'create this SCRAM user (SHA-256 and SHA-512) before listening, if it does not exist; password from ' +
        'KSTREAM_BOOTSTRAP_PASSWORD or --bootstrap-password-file',
    }),
    authorizer: Flags.boolean({
      description:
        "turn ACLs on (kstream's built-in authorizer, as authorizer.class.name=" +
        'org.apache.kafka.metadata.authorizer.StandardAuthorizer)',
    }),
    'bootstrap-password-file': Flags.string({
      description: 'file holding the --bootstrap-user password (its first line)',
      dependsOn: ['bootstrap-user'],
    }),
  };

  async run(): Promise<void> {
    const { flags, metadata } = await this.parse(Serve);
    if (!isLogLevel(flags['log-level']))
      throw new CliError(`unknown --log-level ${flags['log-level']}: use debug, info, warn or error`, EXIT_USAGE);
    // Only flags the user gave (or their env): a default must not override the --config file.
    const given = <T>(name: keyof typeof flags, v: T): T | undefined =>
      metadata.flags[name]?.setFromDefault ? undefined : v;
    let bootstrapUser: { name: string; password: string } | undefined;
    if (flags['bootstrap-user'] !== undefined) {
      bootstrapUser = { name: flags['bootstrap-user'], password: bootstrapPassword(flags['bootstrap-password-file']) };
    }
    const broker = await startBroker({
      bootstrapUser,
      dataDir: given('data-dir', flags['data-dir']),
      host: given('host', flags.host),
      port: given('port', flags.port),
      advertisedHost: flags['advertised-host'],
      advertisedPort: flags['advertised-port'],
      nodeId: given('node-id', flags['node-id']),
      etcd: flags.etcd
        ? flags.etcd
            .split(',')
            .map((u) => u.trim())
            .filter((u) => u !== '')
        : undefined,
      clusterId: given('cluster-id', flags['cluster-id']),
      rack: flags.rack,
      configFile: flags.config,
      httpPort: flags['http-port'],
      logLevel: given('log-level', flags['log-level']),
      props: flags.authorizer
        ? { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer' }
        : undefined,
    }).catch((e: Error) => {
      throw new CliError(e.message);
    });
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        broker.log.info('shutting down', { signal: sig });
        broker.stop().then(resolve, (e: unknown) => {
          broker.log.error('shutdown failed', { error: e });
          process.exitCode = 1;
          resolve();
        });
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      // The ready line only after the handlers are in place: whoever waits for it may signal at once.
      this.log(`${broker.describe()}`);
    });
  }
}

/** The bootstrap user's password: the file's first line, else KSTREAM_BOOTSTRAP_PASSWORD (never a flag). */
function bootstrapPassword(file: string | undefined): string {
  let password: string | undefined;
  if (file !== undefined) {
    try {
      password = readFileSync(file, 'utf8').split(/\r?\n/)[0];
    } catch (e) {
      throw new CliError(
        `cannot read --bootstrap-password-file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`,
        EXIT_USAGE,
      );
    }
  } else password = process.env.KSTREAM_BOOTSTRAP_PASSWORD;
  if (password === undefined || password === '') {
    throw new CliError(
      '--bootstrap-user needs a password: set KSTREAM_BOOTSTRAP_PASSWORD or give --bootstrap-password-file',
      EXIT_USAGE,
    );
  }
  return password;
}
