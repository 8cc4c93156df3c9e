/**
 * Shared bits of the consumer-group interop tests: a broker started with extra properties (through a
 * --config file), and polling helpers.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BrokerProcess, removeDir, startBroker, tempDir } from '../helpers/broker.js';

/** Small internal topic and a short initial rebalance delay keep group tests quick. */
export const GROUP_TEST_PROPS: Record<string, string> = {
  'offsets.topic.num.partitions': '5',
  'group.initial.rebalance.delay.ms': '500',
};

export interface GroupBroker {
  broker: BrokerProcess;
  /** Start again on the same data dir (after stop/kill). */
  restart(): Promise<BrokerProcess>;
  cleanup(): Promise<void>;
}

export async function startGroupBroker(props: Record<string, string> = {}, dataDir?: string): Promise<GroupBroker> {
  const work = tempDir('kstream-groups-');
  const file = join(work, 'server.properties');
  const all = { ...GROUP_TEST_PROPS, ...props };
  writeFileSync(
    file,
    `${Object.entries(all)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  const dir = dataDir ?? join(work, 'data');
  const gb: GroupBroker = {
    broker: await startBroker({ dataDir: dir, args: ['--config', file] }),
    async restart() {
      gb.broker = await startBroker({ dataDir: dir, port: gb.broker.port, args: ['--config', file] });
      return gb.broker;
    },
    async cleanup() {
      await gb.broker.stop();
      removeDir(work);
    },
  };
  return gb;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` until it returns a truthy value or `ms` pass (then throws with `what`). */
export async function waitFor<T>(what: string, ms: number, check: () => T | Promise<T>, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await sleep(every);
  }
}
