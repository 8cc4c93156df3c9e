/**
 * Every client command family run through oclif IN-PROCESS (src/cli/main.ts's runCli, the entry bin/run.js and
 * the single executable share, on the TypeScript sources of commands/index.ts) against one running
 * `kstream serve`, asserting exact stdout / stderr / exit code, text and json: produce, consume, topic *,
 * group *, cluster info / health; errors are one line and a non-zero exit. The same commands as the real
 * bin/run.js child process are in produce-consume, topic and group-cluster.test.ts.
 *
 * In-process means: process.stdout and process.stderr are captures for the duration of one run, process.stdin
 * a Readable of the given text, the exit code is read from process.exitCode (commands never call process.exit;
 * if anything did, the run fails instead of ending the test process).
 *
 * Not @oclif/test's runCommand (4.2): it joins the arguments with spaces and splits them again (`--format
 * '%k %v'` falls apart), runs oclif's run() rather than our entry (no did-you-mean, no --version line), does
 * not read process.exitCode (how our commands report failure), and captures by patching write(), which under
 * node:test also swallows the runner's own reports from this process (tried: tests vanished from the output).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { Config, type Interfaces } from '@oclif/core';
import { COMMANDS } from '../../commands/index.js';
import { runCli } from '../../src/cli/main.js';
import { type BrokerProcess, ROOT, removeDir, startBroker, tempDir } from '../helpers/broker.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Interfaces.PJSON;
/** package.json's oclif config, with explicit discovery pointed at the sources (tsx runs them). */
const loadOptions: Interfaces.LoadOptions = {
  root: ROOT,
  pjson: {
    ...pkg,
    oclif: { ...pkg.oclif, commands: { strategy: 'explicit', target: './commands/index.ts', identifier: 'COMMANDS' } },
  },
};

/** A stand-in for process.stdout / process.stderr that keeps what is written. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    done();
  }
}

/** Replace process[name] (a getter) for one run; returns the undo. */
function swap(name: 'stdin' | 'stdout' | 'stderr', value: unknown): () => void {
  const saved = Object.getOwnPropertyDescriptor(process, name);
  Object.defineProperty(process, name, { value, configurable: true, enumerable: true, writable: true });
  return () => {
    if (saved) Object.defineProperty(process, name, saved);
  };
}

/**
 * `kstream <argv>` in this process. process.stdout / stderr are replaced by captures, not patched: the test
 * runner keeps writing its own reports to the real stdout it holds (patching write() would swallow them).
 */
async function kstream(argv: string[], opts: { stdin?: string } = {}): Promise<Run> {
  const stdout = new Capture();
  const stderr = new Capture();
  const exitCodeBefore = process.exitCode; // the test runner sets 1 once a test failed
  process.exitCode = undefined;
  const undo = [
    swap('stdout', stdout),
    swap('stderr', stderr),
    swap('stdin', Readable.from([Buffer.from(opts.stdin ?? '')])),
  ];
  const exit = process.exit;
  process.exit = ((code?: number) => {
    throw new Error(`process.exit(${code}) called during an in-process run`);
  }) as typeof process.exit;
  let code: number;
  try {
    await runCli({ argv, loadOptions });
  } finally {
    process.exit = exit;
    for (const u of undo) u();
    code = Number(process.exitCode ?? 0);
    process.exitCode = exitCodeBefore;
  }
  return { code, stdout: stdout.text, stderr: stderr.text };
}

let broker: BrokerProcess;
const b = () => ['-b', broker.bootstrap];
/** A run that must succeed and print nothing on stderr. */
async function ok(argv: string[], opts: { stdin?: string } = {}): Promise<string> {
  const r = await kstream(argv, opts);
  assert.equal(r.stderr, '', `kstream ${argv.join(' ')}`);
  assert.equal(r.code, 0, `kstream ${argv.join(' ')}`);
  return r.stdout;
}

before(async () => {
  broker = await startBroker();
});
after(async () => {
  await broker?.stop();
});

test('oclif runs the command classes registered in commands/index.ts (the sources), each under its id', async () => {
  const config = await Config.load(loadOptions);
  for (const [id, cls] of Object.entries(COMMANDS)) {
    const cmd = config.findCommand(id);
    assert.ok(cmd, `oclif knows ${id}`);
    assert.equal(await cmd.load(), cls, `${id} is the class in COMMANDS`);
  }
  assert.deepEqual(config.commandIDs.sort(), Object.keys(COMMANDS).sort());
});

test('topic create / list / describe / alter-config / add-partitions / trim / delete: exact text and json', async () => {
  assert.equal(
    await ok(['topic', 'create', 'orders', 'users', '-p', '3', '-c', 'cleanup.policy=compact', ...b()]),
    'TOPIC   STATUS\norders  OK\nusers   OK\n',
  );
  let r = await kstream(['topic', 'create', 'orders', '-o', 'json', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, '');
  assert.equal(
    r.stdout,
    `[
  {
    "name": "orders",
    "status": "TOPIC_ALREADY_EXISTS: topic orders already exists",
    "ok": false
  }
]
`,
  );
  assert.equal(
    await ok(['topic', 'list', ...b()]),
    'NAME    PARTITIONS  REPLICAS\norders  3           1\nusers   3           1\n',
  );
  assert.equal(
    await ok(['topic', 'list', '-o', 'json', ...b()]),
    `[
  {
    "name": "orders",
    "partitions": 3,
    "replicas": 1,
    "internal": false
  },
  {
    "name": "users",
    "partitions": 3,
    "replicas": 1,
    "internal": false
  }
]
`,
  );
  // Keyed: a compacted topic refuses records without a key (INVALID_RECORD, as Kafka does).
  const p = await kstream(['produce', 'orders', '--partition', '1', '-K', ':', ...b()], { stdin: 'k1:a\nk2:b\n' });
  assert.equal(p.code, 0, p.stderr);
  assert.equal(
    await ok(['topic', 'describe', 'orders', ...b()]),
    `NAME        orders
INTERNAL    false
PARTITIONS  3
REPLICAS    1

PARTITIONS
PARTITION  LEADER  EPOCH  REPLICAS  ISR  LOG-START  LOG-END
0          1       0      1         1    0          0
1          1       0      1         1    0          2
2          1       0      1         1    0          0

CONFIGS
NAME            VALUE    SOURCE
cleanup.policy  compact  dynamic-topic
`,
  );
  const json = await ok(['topic', 'describe', 'orders', '-o', 'json', ...b()]);
  const d = JSON.parse(json) as { topicId: string; configs: { name: string; source: string }[] };
  assert.equal(json, `${JSON.stringify(d, null, 2)}\n`);
  assert.match(d.topicId, /^[0-9a-f]{32}$/);
  const partition = (p: number, end: number) => ({
    partition: p,
    leader: 1,
    leaderEpoch: 0,
    replicas: [1],
    isr: [1],
    offlineReplicas: [],
    logStartOffset: 0,
    logEndOffset: end,
  });
  assert.deepEqual(
    { ...d, configs: d.configs.filter((c) => c.source !== 'default') },
    {
      name: 'orders',
      topicId: d.topicId,
      internal: false,
      partitions: [partition(0, 0), partition(1, 2), partition(2, 0)],
      configs: [
        { name: 'cleanup.policy', value: 'compact', source: 'dynamic-topic', readOnly: false, sensitive: false },
      ],
    },
  );
  assert.equal(
    await ok(['topic', 'alter-config', 'orders', '--set', 'retention.ms=60000', '--delete', 'cleanup.policy', ...b()]),
    'TOPIC   STATUS\norders  OK\n',
  );
  assert.match(
    await ok(['topic', 'describe', 'orders', ...b()]),
    /\nCONFIGS\nNAME {10}VALUE {2}SOURCE\nretention.ms {2}60000 {2}dynamic-topic\n$/,
  );
  r = await kstream(['topic', 'add-partitions', 'orders', 'nope', '-p', '2', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'TOPIC   STATUS\norders  OK\nnope    UNKNOWN_TOPIC_OR_PARTITION: no such topic\n');
  assert.equal(
    await ok(['topic', 'list', '-o', 'yaml', ...b()]),
    '- name: orders\n  partitions: 5\n  replicas: 1\n  internal: false\n- name: users\n  partitions: 3\n  replicas: 1\n  internal: false\n',
  );
  assert.equal(
    await ok(['topic', 'trim', 'orders', '--offset', '1', '--partition', '1', ...b()]),
    'TOPIC   PARTITION  CURRENT  NEW  DELETED  STATUS\norders  1          0        1    1        OK\n',
  );
  assert.equal(
    await ok(['topic', 'trim', 'orders', '--offset', '2', '--partition', '1', '-o', 'json', ...b()]),
    '[\n  {\n    "topic": "orders",\n    "partition": 1,\n    "current": 1,\n    "logStartOffset": 2,\n    "deleted": 1,\n    "status": "OK",\n    "ok": true\n  }\n]\n',
  );
  r = await kstream(['topic', 'delete', 'users', 'nope', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'TOPIC  STATUS\nusers  OK\nnope   UNKNOWN_TOPIC_OR_PARTITION: no such topic\n');
  assert.equal(r.stderr, '');
});

test('produce / consume: exact text and json both ways; summary on stderr', async () => {
  await ok(['topic', 'create', 'pc', '-p', '1', ...b()]);
  let r = await kstream(['produce', 'pc', '-K', ':', '-H', 'src=cli', ...b()], { stdin: 'k1:hello\nk2:wörld\n' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^produced 2 records, 15 B, 1 partition, \d+\.\d\ds to pc\n$/);
  // JSON input with timestamps: everything consume prints is known in advance.
  const lines = [
    { key: 'k3', value: 'json', headers: [{ key: 'h', value: 'x' }], timestamp: 1764064800000 },
    { key: null, value: 'no key', timestamp: 1764064800001 },
  ];
  // --acks -1 is Kafka's spelling of all (bench takes the same flag).
  r = await kstream(['produce', 'pc', '--format', 'json', '--acks', '-1', ...b()], {
    stdin: lines.map((l) => JSON.stringify(l)).join('\n'),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^produced 2 records, 12 B, 1 partition, \d+\.\d\ds to pc\n$/);

  assert.equal(await ok(['consume', 'pc', '--from-beginning', '-e', ...b()]), 'hello\nwörld\njson\nno key\n');
  assert.equal(
    await ok(['consume', 'pc', '--from-beginning', '-e', '--format', '%p:%o %k=%v [%h]\\n', ...b()]),
    '0:0 k1=hello [src=cli]\n0:1 k2=wörld [src=cli]\n0:2 k3=json [h=x]\n0:3 =no key []\n',
  );
  assert.equal(
    await ok(['consume', 'pc', '--offset', '2', '-e', '-o', 'json', ...b()]),
    '{"topic":"pc","partition":0,"offset":2,"timestamp":1764064800000,"key":"k3","value":"json","headers":[{"key":"h","value":"x"}]}\n' +
      '{"topic":"pc","partition":0,"offset":3,"timestamp":1764064800001,"key":null,"value":"no key","headers":[]}\n',
  );
  // --group commits: the next run continues after the committed offsets.
  assert.equal(
    await ok(['consume', 'pc', '--group', 'ip-g', '--from-beginning', '-n', '3', ...b()]),
    'hello\nwörld\njson\n',
  );
  assert.equal(await ok(['consume', 'pc', '--group', 'ip-g', '-e', ...b()]), 'no key\n');
});

test('topic export / import: exact text and json', async () => {
  const file = join(tempDir('kstream-ip-export-'), 'pc.tar.gz');
  const out = await ok(['topic', 'export', 'pc', '-o', file, ...b()]);
  assert.match(
    out,
    new RegExp(`^pc: 4 records from 1 partition\\nwrote ${file.replaceAll('.', '\\.')} \\(\\d+ B\\)\\n$`),
  );
  const imported = await ok(['topic', 'import', file, '--to-topic', 'pc-copy', '-o', 'json', ...b()]);
  assert.equal(imported, `${JSON.stringify(JSON.parse(imported), null, 2)}\n`);
  assert.deepEqual(JSON.parse(imported), [{ topic: 'pc-copy', partition: 0, records: 4, status: 'OK' }]);
  assert.equal(
    await ok(['consume', 'pc-copy', '--from-beginning', '-e', '--format', '%k=%v [%h]\\n', ...b()]),
    'k1=hello [src=cli]\nk2=wörld [src=cli]\nk3=json [h=x]\n=no key []\n',
  );
  // Timestamps are kept (the last two were given in the JSON input).
  assert.equal(
    await ok(['consume', 'pc-copy', '--offset', '2', '-e', '--format', '%o %T\\n', ...b()]),
    '2 1764064800000\n3 1764064800001\n',
  );
  assert.equal(
    await ok(['topic', 'import', file, '--to-topic', 'pc-copy2', ...b()]),
    'TOPIC     PARTITION  RECORDS  STATUS\npc-copy2  0          4        OK\n',
  );
  const r = await kstream(['topic', 'import', file, '--to-topic', 'pc-copy', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^kstream: import failed: [^\n]*pc-copy[^\n]*\n$/);
  removeDir(dirname(file));
});

test('group list / describe / seek / delete: exact text and json', async () => {
  assert.equal(await ok(['group', 'list', ...b()]), 'GROUP  STATE\nip-g   Empty\n');
  assert.equal(
    await ok(['group', 'list', '-o', 'json', ...b()]),
    '[\n  {\n    "group": "ip-g",\n    "state": "Empty",\n    "protocolType": "consumer",\n    "coordinator": 1\n  }\n]\n',
  );
  assert.equal(
    await ok(['group', 'describe', 'ip-g', ...b()]),
    `GROUP      ip-g
STATE      Empty
MEMBERS    0
TOTAL LAG  0

PARTITIONS
TOPIC  PARTITION  COMMITTED  LOG-END  LAG
pc     0          4          4        0
`,
  );
  assert.equal(
    await ok(['group', 'seek', 'ip-g', '--to', 'offset', '1', '--dry-run', ...b()]),
    'TOPIC  PARTITION  CURRENT  NEW  STATUS\npc     0          4        1    planned\n',
  );
  assert.equal(
    await ok(['group', 'seek', 'ip-g', '--to', 'offset', '1', '-o', 'json', ...b()]),
    '[\n  {\n    "topic": "pc",\n    "partition": 0,\n    "current": 4,\n    "new": 1,\n    "status": "OK"\n  }\n]\n',
  );
  assert.equal(
    await ok(['group', 'describe', 'ip-g', '-o', 'json', ...b()]),
    `{
  "group": "ip-g",
  "state": "Empty",
  "protocol": "",
  "coordinator": 1,
  "members": [],
  "partitions": [
    {
      "topic": "pc",
      "partition": 0,
      "committed": 1,
      "logEnd": 4,
      "lag": 3,
      "memberId": null
    }
  ],
  "totalLag": 3
}
`,
  );
  const r = await kstream(['group', 'delete', 'ip-g', 'nope', ...b()]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, 'GROUP  STATUS\nip-g   OK\nnope   GROUP_ID_NOT_FOUND: no such group\n');
  assert.equal(await ok(['group', 'list', '-o', 'json', ...b()]), '[]\n');
});

test('cluster info / health: exact text and json', async () => {
  const all = JSON.parse(await ok(['topic', 'list', '--all', '-o', 'json', ...b()])) as {
    partitions: number;
    internal: boolean;
  }[];
  const topics = all.filter((t) => !t.internal);
  const partitions = topics.reduce((n, t) => n + t.partitions, 0);
  // Internal topics (__consumer_offsets, made by the group tests) are counted apart; brokers lead them too.
  const internal = all.filter((t) => t.internal);
  const internalPartitions = internal.reduce((n, t) => n + t.partitions, 0);
  const led = partitions + internalPartitions;
  assert.equal(
    await ok(['cluster', 'info', ...b()]),
    `CONTROLLER        1
BROKERS           1
TOPICS            ${topics.length} (+${internal.length} internal)
PARTITIONS        ${partitions} (+${internalPartitions} internal)
UNDER-REPLICATED  0
OFFLINE           0

BROKERS
ID  HOST       PORT   STATUS  LEADERS  REPLICAS
1   127.0.0.1  ${broker.port}  up      ${String(led).padEnd(7)}  ${led}
`,
  );
  const info = await ok(['cluster', 'info', '-o', 'json', ...b()]);
  const clusterId = (JSON.parse(info) as { clusterId: string }).clusterId;
  const body = `"clusterId": ${JSON.stringify(clusterId)},
  "controller": 1,
  "brokers": [
    {
      "nodeId": 1,
      "host": "127.0.0.1",
      "port": ${broker.port},
      "rack": null,
      "up": true,
      "leaders": ${led},
      "replicas": ${led},
      "outOfIsr": []
    }
  ],
  "topics": ${topics.length},
  "partitions": ${partitions},
  "internalTopics": ${internal.length},
  "internalPartitions": ${internalPartitions},
  "underReplicated": [],
  "offline": [],
  "degraded": []
}
`;
  assert.equal(info, `{\n  ${body}`);
  assert.equal(
    await ok(['cluster', 'health', ...b()]),
    'HEALTHY           true\nCONTROLLER        1\nBROKERS           1\nBROKERS DOWN      0\nUNDER-REPLICATED  0\nOFFLINE           0\n',
  );
  assert.equal(
    await ok(['cluster', 'health', '-o', 'json', ...b()]),
    `{\n  "healthy": true,\n  "problems": [],\n  ${body}`,
  );
});

test('errors: one line on stderr, nothing on stdout, exit 1 (runtime) or 2 (usage)', async () => {
  const port = await new Promise<number>((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
  const closedDir = tempDir('kstream-ip-closed-');
  const cases: [string[], number, string | RegExp][] = [
    [['topic', 'describe', 'no-such', ...b()], 1, 'kstream: topic no-such does not exist\n'],
    [['consume', 'no-such', '-e', ...b()], 1, 'kstream: topic no-such does not exist\n'],
    [
      ['produce', 'no-such', ...b()],
      1,
      'kstream: topic no-such does not exist (create it with: kstream topic create no-such)\n',
    ],
    [['group', 'describe', 'no-such', ...b()], 1, 'kstream: group no-such does not exist\n'],
    [
      ['bench', 'consume', '--topic', 'no-such', '--records', '10', ...b()],
      1,
      'kstream: topic no-such does not exist (fill one with: kstream bench produce --topic no-such)\n',
    ],
    [
      ['cluster', 'health', '-b', `127.0.0.1:${port}`, '--timeout', '2s'],
      1,
      new RegExp(`^kstream: could not reach any broker: 127\\.0\\.0\\.1:${port}: connection refused[^\\n]*\\n$`),
    ],
    // Commands outside the client-command base too: the reason without "NETWORK_EXCEPTION: ".
    [
      ['topic', 'export', 'pc', '-o', join(closedDir, 'x.tar.gz'), '-b', `127.0.0.1:${port}`],
      1,
      `kstream: export failed: could not reach any broker: 127.0.0.1:${port}: connection refused (is a broker running there?)\n`,
    ],
    [
      ['bench', 'produce', '-n', '10', '-b', `127.0.0.1:${port}`],
      1,
      `kstream: could not reach any broker: 127.0.0.1:${port}: connection refused (is a broker running there?)\n`,
    ],
    [
      ['consume', 'pc', '-e', '--format', '%x', ...b()],
      2,
      'kstream: invalid --format "%x": unknown token %x (use %t %p %o %k %v %T %h, %% for a percent sign)\n',
    ],
    [
      ['topic', 'list', '-o', 'xml', ...b()],
      2,
      'kstream: Expected --output=xml to be one of: text, wide, json, yaml (see --help)\n',
    ],
    // oclif's parse errors on one line without their headings, notes or "See more help with --help".
    [['topic', 'create', ...b()], 2, 'kstream: missing argument TOPICS: topic names (see --help)\n'],
    [
      ['produce', 'pc', '--rate', '-1', ...b()],
      2,
      'kstream: invalid --rate: expected a positive number of records per second but received: -1 (see --help)\n',
    ],
    [
      ['produce', 'pc', '--acks', '2', ...b()],
      2,
      'kstream: Expected --acks=2 to be one of: 0, 1, all, -1 (see --help)\n',
    ],
    [
      ['bench', 'produce', '--acks', '2', ...b()],
      2,
      'kstream: Expected --acks=2 to be one of: 0, 1, all, -1 (see --help)\n',
    ],
    [
      ['consume', 'pc', '--offset', '5', '--from-beginning', ...b()],
      2,
      'kstream: --offset=5 cannot also be provided when using --from-beginning (see --help)\n',
    ],
    [
      ['consume', 'pc', '--from-begining', ...b()],
      2,
      'kstream: unknown flag --from-begining. Did you mean --from-beginning? (see --help)\n',
    ],
    [['topic', 'list', '--xyzzy', ...b()], 2, 'kstream: unknown flag --xyzzy (see --help)\n'],
    [
      ['topic', 'list', '--timeout', '0', ...b()],
      2,
      'kstream: invalid --timeout "0": use a duration above 0, like 500ms, 10s or 2m\n',
    ],
    [['topic', 'lsit'], 2, 'kstream: unknown command "topic lsit". Did you mean "topic list" or "topic trim"?\n'],
  ];
  for (const [argv, code, stderr] of cases) {
    const r = await kstream(argv);
    const what = `kstream ${argv.join(' ')}`;
    assert.equal(r.stdout, '', what);
    if (typeof stderr === 'string') assert.equal(r.stderr, stderr, what);
    else assert.match(r.stderr, stderr, what);
    assert.equal(r.code, code, `${what}: ${r.stderr}`);
  }
  removeDir(closedDir);
});
