/**
 * librdkafka's mock cluster for tests against a Kafka-compatible broker we did not write: a /usr/bin/python3
 * confluent_kafka process with `test.mock.num.brokers`, which prints the brokers' addresses and runs until its
 * stdin closes (see ../shared/TOOLCHAIN.md).
 *
 *   const mock = await startMockCluster();
 *   after(() => mock?.close());
 *   new Producer({ brokers: mock.brokers });
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';

const SCRIPT = `
import sys
from confluent_kafka import Producer
p = Producer({'test.mock.num.brokers': int(sys.argv[1]), 'bootstrap.servers': '', 'log_level': 0})
md = p.list_topics(timeout=10)
print(','.join('%s:%d' % (b.host, b.port) for b in md.brokers.values()), flush=True)
sys.stdin.read()
`;

/** Whether confluent_kafka (and so the mock cluster) is available here. */
export const hasMockCluster = spawnSync(PYTHON, ['-c', 'import confluent_kafka']).status === 0;

export interface MockCluster {
  /** host:port of every broker, comma-separated. */
  brokers: string;
  child: ChildProcess;
  /** Closes the process's stdin and waits for it to exit (SIGKILL after 5 s); safe to call twice. */
  close(): Promise<void>;
}

export async function startMockCluster(numBrokers = 3): Promise<MockCluster> {
  const child = spawn(PYTHON, ['-c', SCRIPT, String(numBrokers)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end();
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  try {
    const brokers = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`mock cluster did not start: ${err}`)), 20_000);
      child.stdout?.once('data', (d) => {
        clearTimeout(t);
        resolve(String(d).trim());
      });
      child.once('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`mock cluster exited with ${code}: ${err}`));
      });
    });
    return { brokers, child, close };
  } catch (e) {
    child.kill('SIGKILL');
    await exited;
    throw e;
  }
}
