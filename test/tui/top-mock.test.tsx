/** @jsxRuntime automatic */
/**
 * kstream top's data source against librdkafka's mock cluster (3 brokers in a /usr/bin/python3
 * confluent_kafka process, a Kafka-compatible broker we did not write): brokers, topics and partitions with
 * their leaders and log end offsets render; the mock has no ListGroups, so groups show as unavailable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { render } from 'ink-testing-library';
import { Producer } from '../../src/client/producer.js';
import { buildSnapshot } from '../../src/tui/data.js';
import { adminSource } from '../../src/tui/run.js';
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
      for (const p of topic.partitions) assert.match(f, new RegExp(`^\\s+${p.partition}\\s+${p.leader} `, 'm'));
      r.unmount();
      r = render(<GroupsScreen snapshot={s} ui={{ ...ui, screen: 'groups' }} width={99} height={10} />);
      assert.match(r.lastFrame()!, /groups: unavailable|no consumer groups/);
      r.unmount();
    } finally {
      await source.close();
    }
  });
});
