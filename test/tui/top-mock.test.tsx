/** @jsxRuntime automatic */
/**
 * kstream top's data source against librdkafka's mock cluster (3 brokers in a /usr/bin/python3
 * confluent_kafka process, a Kafka-compatible broker we did not write): brokers, topics and partitions with
 * their leaders and log end offsets render; the mock has no ListGroups, so groups show as unavailable; the
 * record browser reads every record back by offset, from the start and the last page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { render } from 'ink-testing-library';
import { Producer } from '../../src/client/producer.js';
import { adminActions } from '../../src/tui/actions.js';
import { buildSnapshot } from '../../src/tui/data.js';
import { adminSource, topAdmin } from '../../src/tui/run.js';
import { BrokersScreen } from '../../src/tui/screens/brokers.js';
import { GroupsScreen } from '../../src/tui/screens/groups.js';
import { TopicsScreen } from '../../src/tui/screens/topics.js';
import { initialState } from '../../src/tui/state/reducer.js';
import { type MockCluster, startMockCluster } from '../helpers/mock-cluster.js';

let mock: MockCluster;
let brokers: string;

describe('kstream top against librdkafka mock cluster', { timeout: 60_000 }, () => {
  before(async () => {
    mock = await startMockCluster();
    brokers = mock.brokers;
  });

  after(() => mock?.close());

  test('brokers, topics, partitions', async () => {
    const producer = new Producer({ brokers });
    for (let i = 0; i < 40; i++) await producer.send({ topic: 'tui-mock', key: `k${i}`, value: `v${i}` });
    await producer.close();

    const source = adminSource(brokers);
    try {
      const s = buildSnapshot(await source.fetch(), null);
      assert.equal(s.totals.brokersUp, 3);
      const topic = s.topics.find((t) => t.name === 'tui-mock');
      assert.ok(topic, `topics: ${s.topics.map((t) => t.name)}`);
      assert.equal(
        topic.partitions.reduce((n, p) => n + Number(p.high ?? 0n), 0),
        40,
        'log end offsets add up to the records sent',
      );

      const ui = { ...initialState };
      let r = render(<BrokersScreen snapshot={s} ui={ui} width={99} height={10} />);
      for (const port of brokers.split(',').map((b) => b.split(':')[1]))
        assert.match(r.lastFrame()!, new RegExp(`:${port}\\s+-\\s+up`));
      r.unmount();
      r = render(<TopicsScreen snapshot={s} ui={ui} width={99} height={10} />);
      assert.match(r.lastFrame()!, new RegExp(`tui-mock\\s+${topic.partitions.length}\\s`));
      r.unmount();
      r = render(<TopicsScreen snapshot={s} ui={{ ...ui, topic: 'tui-mock' }} width={99} height={10} />);
      const f = r.lastFrame()!;
      for (const p of topic.partitions) assert.match(f, new RegExp(`^\\s*${p.partition}\\s+${p.leader} `, 'm'));
      r.unmount();
      r = render(<GroupsScreen snapshot={s} ui={{ ...ui, screen: 'groups' }} width={99} height={10} />);
      assert.match(r.lastFrame()!, /groups: unavailable|no consumer groups/);
      r.unmount();

      // The record browser reads pages over Kafka APIs only: every record of every partition, by offset.
      const actions = adminActions({ brokers, timeoutMs: 5000 }, () => topAdmin(brokers, 5000));
      try {
        const seen: string[] = [];
        for (const p of topic.partitions) {
          const page = await actions.readPage('tui-mock', p.partition, { kind: 'start' }, 100);
          assert.equal(page.high, p.high);
          assert.deepEqual(
            page.records.map((x) => Number(x.offset)),
            Array.from({ length: Number(p.high) }, (_, i) => i),
          );
          seen.push(...page.records.map((x) => `${x.key}=${x.value}`));
          const last = await actions.readPage('tui-mock', p.partition, { kind: 'end' }, 2);
          assert.deepEqual(
            last.records.map((x) => x.offset),
            page.records.slice(-2).map((x) => x.offset),
          );
        }
        assert.deepEqual(seen.sort(), Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`).sort());
      } finally {
        await actions.close();
      }
    } finally {
      await source.close();
    }
  });
});
