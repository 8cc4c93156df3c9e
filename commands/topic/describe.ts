import { Args, Flags } from '@oclif/core';
import { ClientCommand } from '../../src/cli/client-command.js';
import { type Column, type OutputFormat, renderList, renderStruct, section } from '../../src/cli/output.js';
import type {
  ConfigDetail,
  PartitionDetail,
  ProducerDetail,
  TopicDetail,
  TopicProducers,
} from '../../src/services/topics.js';

const PARTITION_COLUMNS: Column<PartitionDetail>[] = [
  { header: 'partition', get: (p) => p.partition },
  { header: 'leader', get: (p) => p.leader },
  { header: 'epoch', get: (p) => p.leaderEpoch },
  { header: 'replicas', get: (p) => p.replicas },
  { header: 'isr', get: (p) => p.isr },
  { header: 'offline', get: (p) => (p.offlineReplicas.length ? p.offlineReplicas : null), wide: true },
  { header: 'log-start', get: (p) => p.logStartOffset },
  { header: 'log-end', get: (p) => p.logEndOffset },
];

const PRODUCER_COLUMNS: Column<ProducerDetail>[] = [
  { header: 'partition', get: (p) => p.partition },
  { header: 'producer-id', get: (p) => p.producerId },
  { header: 'epoch', get: (p) => p.producerEpoch },
  { header: 'last-sequence', get: (p) => p.lastSequence },
  {
    header: 'last-timestamp',
    get: (p) => (p.lastTimestamp >= 0n ? new Date(Number(p.lastTimestamp)).toISOString() : null),
  },
];

const CONFIG_COLUMNS: Column<ConfigDetail>[] = [
  { header: 'name', get: (c) => c.name },
  { header: 'value', get: (c) => (c.sensitive ? '(sensitive)' : c.value) },
  { header: 'source', get: (c) => c.source },
  { header: 'read-only', get: (c) => c.readOnly, wide: true },
];

export default class TopicDescribe extends ClientCommand {
  static override summary = "Show a topic's partitions, offsets and configs.";
  static override description =
    `For each partition: its leader (and leader epoch), replicas, in-sync replicas (ISR), and the log start
and end offsets (the end is the high watermark: the offset the next record gets). Configs show their
source: "dynamic-topic" for a value set on the topic, "default" or "static-broker" otherwise. Text output lists the
configs set on the topic; --all-configs (or -o wide, json, yaml) shows every config. --producers adds the
idempotent producers each partition's leader remembers (producer id, epoch, last sequence, time of its last
batch; DescribeProducers). --show-authorized-operations adds what the logged-in user may do with the topic (READ,
WRITE, DESCRIBE, …, as the broker's ACLs decide; Metadata v8+, KIP-430).`;
  static override examples = [
    '<%= config.bin %> topic describe orders',
    '<%= config.bin %> topic describe orders --all-configs',
    '<%= config.bin %> topic describe orders payments -o json',
    '<%= config.bin %> topic describe orders --producers',
    '<%= config.bin %> topic describe orders --show-authorized-operations --user app',
  ];
  static override strict = false;
  static override args = { topics: Args.string({ description: 'topic names', required: true }) };
  static override flags = {
    'all-configs': Flags.boolean({ description: 'list every config, not only those set on the topic' }),
    producers: Flags.boolean({ description: "list each partition's idempotent producers (DescribeProducers)" }),
    'show-authorized-operations': Flags.boolean({
      description: 'show the operations the logged-in user may perform on the topic (KIP-430)',
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(TopicDescribe);
    const conn = await this.connection(flags);
    const format = this.format(flags);
    const { withAdmin } = await import('../../src/services/connect.js');
    const { describeTopic, describeProducers, topicAuthorizedOperations } = await import(
      '../../src/services/topics.js'
    );
    const showOps = flags['show-authorized-operations'];
    const topics = await withAdmin(conn, async (admin) => {
      const out: (TopicDetail & { producers?: TopicProducers; authorizedOperations?: string[] | null })[] = [];
      for (const t of argv as string[]) {
        const d = await describeTopic(admin, t);
        out.push({
          ...d,
          ...(flags.producers ? { producers: await describeProducers(admin, t) } : {}),
          ...(showOps ? { authorizedOperations: await topicAuthorizedOperations(admin, t) } : {}),
        });
      }
      return out;
    });
    if (format === 'json' || format === 'yaml') {
      this.out(await renderList(topics, [], format, topics.length === 1 ? topics[0] : topics));
      return;
    }
    const docs: string[] = [];
    for (const t of topics) {
      const configs =
        flags['all-configs'] || format === 'wide' ? t.configs : t.configs.filter((c) => c.source === 'dynamic-topic');
      docs.push(
        [
          await renderStruct(
            [
              ['name', t.name],
              ['topic id', t.topicId, true],
              ['internal', t.internal],
              ['partitions', t.partitions.length],
              ['replicas', t.partitions[0]?.replicas.length ?? 0],
              ...(showOps
                ? [
                    [
                      'authorized operations',
                      t.authorizedOperations == null
                        ? '(not said by the broker)'
                        : t.authorizedOperations.join(',') || '(none)',
                    ] as [string, string],
                  ]
                : []),
            ],
            format,
            t,
          ),
          section('partitions', await renderList(t.partitions, PARTITION_COLUMNS, format)),
          section(
            'configs',
            t.configsError !== undefined
              ? `(unavailable: ${t.configsError})\n`
              : configs.length
                ? await renderList(configs, CONFIG_COLUMNS, format)
                : '(none set on the topic)\n',
          ),
          ...(t.producers ? [section('producers', await renderProducers(t.producers, format))] : []),
        ].join('\n'),
      );
    }
    this.out(docs.join('\n'));
  }
}

async function renderProducers(p: TopicProducers, format: OutputFormat): Promise<string> {
  const errors = p.errors.map((e) => `(partition ${e.partition}: ${e.error})\n`).join('');
  if (p.producers.length === 0) return `(no idempotent producers)\n${errors}`;
  return (await renderList(p.producers, PRODUCER_COLUMNS, format)) + errors;
}
