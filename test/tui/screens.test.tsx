/** @jsxRuntime automatic */
/**
 * Component tests of `kstream top` with ink-testing-library: each screen renders given data; the whole app
 * with a fake data source: key navigation, drill-down, filter, sort, pause, help, the unreachable banner.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { render as inkRender } from 'ink-testing-library';
import { App } from '../../src/tui/app.js';
import { buildSnapshot, type RawPoll } from '../../src/tui/data.js';
import { BrokersScreen } from '../../src/tui/screens/brokers.js';
import { GroupsScreen } from '../../src/tui/screens/groups.js';
import { TopicsScreen } from '../../src/tui/screens/topics.js';
import { initialState, type UiState } from '../../src/tui/state/reducer.js';
import { raw, twoPolls } from './fixtures.js';

/** Everything rendered is unmounted after each test, also when it fails (a mounted app keeps polling). */
const mounted: { unmount(): void }[] = [];
afterEach(() => {
  for (const r of mounted.splice(0)) r.unmount();
});
const render: typeof inkRender = (tree) => {
  const r = inkRender(tree);
  mounted.push(r);
  return r;
};

const ui = (over: Partial<UiState> = {}): UiState => ({ ...initialState, ...over });

async function waitFor(what: string, frame: () => string | undefined, check: (f: string) => boolean, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const f = frame() ?? '';
    if (check(f)) return f;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; frame:\n${f}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A data source answering the fixtures, orders-0 growing 100 messages per poll, 1 s apart. */
function fakeSource(opts: { failAfter?: number } = {}) {
  let n = 0;
  return {
    calls: () => n,
    async fetch(): Promise<RawPoll> {
      n++;
      if (opts.failAfter !== undefined && n > opts.failAfter) throw new Error('connect ECONNREFUSED 127.0.0.1:9092');
      return raw({ at: 1_000_000 + n * 1000 }, { 'orders-0': 1000 + n * 100 });
    },
  };
}

describe('kstream top screens', () => {
  test('topics: one row per topic with partitions, RF, messages, rate, lag', () => {
    const r = render(<TopicsScreen snapshot={twoPolls()} ui={ui()} width={99} height={10} />);
    const f = r.lastFrame()!;
    assert.match(f, /TOPIC\s+PARTS\s+RF\s+UNDER-REP\s+OFFLINE\s+MESSAGES\s+MSG\/S\s+BYTES\/S\s+LAG\s+SIZE\s+RATE/);
    assert.match(f, /orders\s+3\s+3\s+0\s+0\s+3\.5k\s+500\s+-\s+1\.7k\s+-/);
    assert.match(f, /payments\s+1\s+2\s+0\s+0\s+40\s+0\s+-\s+0/);
    r.unmount();
  });

  test('partitions of a topic: leader, replicas, ISR with the missing replica marked, status, offsets', () => {
    const rp = raw();
    rp.topics[0]!.partitions[1]!.isr = [2, 3];
    rp.topics[0]!.partitions[2]!.leader = -1;
    const s = buildSnapshot(rp, null);
    const r = render(<TopicsScreen snapshot={s} ui={ui({ topic: 'orders' })} width={99} height={10} />);
    const f = r.lastFrame()!;
    assert.match(f, /topic orders · 3 partitions · RF 3/);
    assert.match(f, /^0\s+1 1,2,3\s+1,2,3\s+ok\s+0\s+1000/m);
    assert.match(f, /^1\s+2 2,3,1\s+2,3 ✗1\s+UNDER-REP/m);
    assert.match(f, /^2\s+none 3,1,2\s+3,1,2\s+OFFLINE/m);
    r.unmount();
  });

  test('groups: state, members, lag, rate, catch-up; drill-down per partition', () => {
    const s = twoPolls();
    let r = render(<GroupsScreen snapshot={s} ui={ui({ screen: 'groups' })} width={99} height={10} />);
    // Two polls and one commit: consumption is not measured yet (between commits, 20 s of them for catch-up).
    assert.match(r.lastFrame()!, /billing\s+Stable\s+1\s+3\s+1\.7k\s+-\s+-/);
    r.unmount();
    r = render(<GroupsScreen snapshot={s} ui={ui({ screen: 'groups', group: 'billing' })} width={99} height={10} />);
    const f = r.lastFrame()!;
    assert.match(f, /group billing · Stable · 1 member · lag 1\.7k/);
    assert.match(f, /orders\s+0\s+600\s+1500\s+900 billing-1/);
    r.unmount();
  });

  test('groups whose members a client quota limits (DescribeClientQuotas, by client id) are marked ⏱', () => {
    const quotas = [
      { clientId: 'billing-1', values: { consumer_byte_rate: 1048576 } },
      { clientId: 'other', values: { consumer_byte_rate: 10 } },
    ];
    const s = buildSnapshot(raw({ quotas }), null);
    let r = render(<GroupsScreen snapshot={s} ui={ui({ screen: 'groups' })} width={99} height={10} />);
    assert.match(r.lastFrame()!, /billing ⏱\s+Stable/);
    r.unmount();
    r = render(<GroupsScreen snapshot={s} ui={ui({ screen: 'groups', group: 'billing' })} width={99} height={10} />);
    assert.match(r.lastFrame()!, /group billing · Stable · 1 member · ⏱ quota 1\.0MiB\/s · lag 1\.8k/);
    r.unmount();
    // The default client id applies to every member without its own quota; none readable: no mark.
    const d = buildSnapshot(raw({ quotas: [{ clientId: null, values: { consumer_byte_rate: 2048 } }] }), null);
    assert.equal(d.groups[0]?.quota, 2048);
    for (const q of [null, [], [{ clientId: 'other', values: { consumer_byte_rate: 1 } }]]) {
      const n = buildSnapshot(raw({ quotas: q }), null);
      assert.equal(n.groups[0]?.quota, null);
      r = render(<GroupsScreen snapshot={n} ui={ui({ screen: 'groups' })} width={99} height={10} />);
      assert.doesNotMatch(r.lastFrame()!, /⏱/);
      r.unmount();
    }
  });

  test('groups a quota throttles since the previous poll are THROTTLED (kstream metrics); unknown (Kafka): ⏱ alone', () => {
    const quotas = [{ clientId: 'billing-1', values: { consumer_byte_rate: 1024 } }];
    const t = (seconds: number) => [
      { quota: 'fetch', user: '', clientId: 'billing-1', seconds },
      { quota: 'produce', user: 'alice', clientId: '', seconds: seconds * 2 },
    ];
    // Against Kafka (no throttle counters): the quota mark alone, and no "throttled now" line.
    const kafka = buildSnapshot(raw({ at: 1_001_000, quotas, throttles: null }), buildSnapshot(raw({ quotas }), null));
    assert.equal(kafka.groups[0]?.throttled, null);
    let r = render(<GroupsScreen snapshot={kafka} ui={ui({ screen: 'groups' })} width={99} height={10} />);
    assert.match(r.lastFrame()!, /billing ⏱\s+Stable/);
    assert.doesNotMatch(r.lastFrame()!, /THROTTLED|throttled now/);
    r.unmount();
    // The first poll that reads the counters has nothing to compare with: not throttled.
    const first = buildSnapshot(raw({ quotas, throttles: t(5) }), null);
    assert.equal(first.groups[0]?.throttled, 0);
    // A counter that grew since the previous poll: THROTTLED, with the seconds; the user-wide one is listed.
    const grew = buildSnapshot(raw({ at: 1_001_000, quotas, throttles: t(5.8) }), first);
    assert.ok(Math.abs((grew.groups[0]?.throttled ?? 0) - 0.8) < 1e-9);
    r = render(<GroupsScreen snapshot={grew} ui={ui({ screen: 'groups' })} width={120} height={10} />);
    assert.match(r.lastFrame()!, /billing ⏱ THROTTLED\s+Stable/);
    assert.match(r.lastFrame()!, /throttled now: produce user=alice 1\.6s · fetch client-id=billing-1 0\.8s/);
    r.unmount();
    r = render(
      <GroupsScreen snapshot={grew} ui={ui({ screen: 'groups', group: 'billing' })} width={140} height={10} />,
    );
    assert.match(r.lastFrame()!, /⏱ quota 1\.0KiB\/s · THROTTLED 0\.8s since the last poll/);
    r.unmount();
    // A counter that stayed: not throttled now, the quota mark stays.
    const still = buildSnapshot(raw({ at: 1_002_000, quotas, throttles: t(5.8) }), grew);
    assert.equal(still.groups[0]?.throttled, 0);
    r = render(<GroupsScreen snapshot={still} ui={ui({ screen: 'groups' })} width={99} height={10} />);
    assert.match(r.lastFrame()!, /billing ⏱\s+Stable/);
    assert.doesNotMatch(r.lastFrame()!, /THROTTLED|throttled now/);
  });

  test('groups unavailable (no coordinator): said plainly', () => {
    const s = buildSnapshot(raw({ groups: [], groupsError: 'NOT_COORDINATOR' }), null);
    const r = render(<GroupsScreen snapshot={s} ui={ui({ screen: 'groups' })} width={99} height={10} />);
    assert.match(r.lastFrame()!, /groups: unavailable \(NOT_COORDINATOR\)/);
    r.unmount();
  });

  test('brokers: leaders, replicas, out of ISR, down', () => {
    const first = buildSnapshot(raw(), null);
    const rp = raw({ at: 1_001_000 });
    rp.brokers = rp.brokers.filter((b) => b.nodeId !== 3);
    for (const t of rp.topics) for (const p of t.partitions) p.isr = p.isr.filter((id) => id !== 3);
    const r = render(<BrokersScreen snapshot={buildSnapshot(rp, first)} ui={ui()} width={99} height={10} />);
    const f = r.lastFrame()!;
    assert.match(f, /^\s*1 127\.0\.0\.1:9091\s+-\s+up\s+\*\s+1\s+3\s+-\s+-\s+-/m);
    assert.match(f, /^\s*3 127\.0\.0\.1:9093\s+-\s+DOWN\s+1\s+4\s+-\s+-\s+4: orders-0 orders-1 orders-2 pa/m);
    r.unmount();
  });

  test('open transactions (issue 17): TXN-HELD (HW - LSO) and the transactions under the table; none: as before', () => {
    const open = {
      transactionalId: 'copier-1',
      state: 'Ongoing',
      producerId: 4000n,
      producerEpoch: 2,
      timeoutMs: 60_000,
      startTimeMs: 1_000_000 - 12_000,
      partitions: [{ topic: 'orders', partition: 1 }],
    };
    const snap = buildSnapshot(
      raw({ transactions: [open], stableOffsets: [{ topic: 'orders', partition: 1, offset: 940n }] }),
      null,
    );
    let r = render(<TopicsScreen snapshot={snap} ui={ui()} width={99} height={12} />);
    let f = r.lastFrame()!;
    assert.match(f, /TOPIC\s+PARTS\s+RF\s+UNDER-REP\s+OFFLINE\s+MESSAGES\s+MSG\/S\s+BYTES\/S\s+LAG\s+TXN-HELD\s/);
    assert.match(f, /orders\s+3\s+3\s+0\s+0\s+3\.0k\s+-\s+-\s+1\.8k\s+60\s/);
    assert.match(f, /payments\s+1\s+2\s+0\s+0\s+40\s+-\s+-\s+0\s+-\s/);
    assert.match(f, /OPEN TRANSACTIONS \(1: read_committed consumers wait at their first record\)/);
    assert.match(f, /copier-1 {2}Ongoing {2}pid 4000\/2 {2}open 12s of 1m00s {2}orders-1/);
    r.unmount();
    r = render(<TopicsScreen snapshot={snap} ui={ui({ topic: 'orders' })} width={99} height={12} />);
    f = r.lastFrame()!;
    assert.match(f, /^\s*1\s+2\s+2,3,1\s+2,3,1\s+ok\s+0\s+1000\s+-\s+-\s+600\s+60\b/m, 'partition 1: 60 held back');
    assert.match(f, /^\s*0\s+1\s+1,2,3\s+1,2,3\s+ok\s+0\s+1000\s+-\s+-\s+600\s+-/m, 'partition 0: not in it');
    assert.match(f, /copier-1 {2}Ongoing/);
    r.unmount();
    // A cluster that does not answer ListTransactions (null), or has none open: no column, no list.
    for (const transactions of [null, []]) {
      r = render(
        <TopicsScreen snapshot={buildSnapshot(raw({ transactions }), null)} ui={ui()} width={99} height={12} />,
      );
      f = r.lastFrame()!;
      assert.doesNotMatch(f, /TXN-HELD|OPEN TRANSACTIONS/);
      r.unmount();
    }
  });

  test('a long list scrolls with the cursor', () => {
    const rp = raw();
    rp.topics = Array.from({ length: 30 }, (_, i) => ({
      name: `t${String(i).padStart(2, '0')}`,
      partitions: [{ partition: 0, leader: 1, replicas: [1], isr: [1] }],
    }));
    const s = buildSnapshot(rp, null);
    const r = render(
      <TopicsScreen snapshot={s} ui={ui({ cursor: { ...initialState.cursor, topics: 25 } })} width={100} height={6} />,
    );
    const f = r.lastFrame()!;
    assert.match(f, /t25/);
    assert.doesNotMatch(f, /t00/);
    assert.match(f, /rows \d+-\d+ of 30/);
    r.unmount();
  });
});

describe('kstream top app', () => {
  test('header, key navigation, drill-down, esc, screens', async () => {
    const src = fakeSource();
    const r = render(<App source={src} intervalMs={50} bootstrap="127.0.0.1:9092" />);
    const frame = () => r.lastFrame();
    let f = await waitFor('header', frame, (x) => /cluster test-cluster/.test(x) && /orders/.test(x));
    assert.match(f, /controller 1 {2}brokers 3 up 0 down/);
    assert.match(f, /topics 2 {2}partitions 4 {2}under-replicated 0 {2}offline 0 {2}groups 1 {2}every 50ms/);
    await waitFor('a rate', frame, (x) => /orders\s+3\s+3\s+0\s+0\s+\S+\s+100\s/.test(x));
    r.stdin.write('j');
    r.stdin.write('\r');
    f = await waitFor('payments partitions', frame, (x) => /topic payments/.test(x));
    assert.match(f, /^0\s+2 2,3\s+2,3\s+ok\s+10\s+50/m);
    r.stdin.write('\u001B');
    await waitFor('back to topics', frame, (x) => /TOPIC\s+PARTS/.test(x));
    r.stdin.write('\u001B[B'); // down arrow: stays on the last row
    r.stdin.write('k');
    r.stdin.write('\r');
    await waitFor('orders partitions', frame, (x) => /topic orders/.test(x));
    r.stdin.write('2');
    await waitFor('groups screen', frame, (x) => /GROUP\s+STATE/.test(x) && /billing/.test(x));
    r.stdin.write('\r');
    await waitFor('group billing', frame, (x) => /group billing · Stable/.test(x));
    r.stdin.write('\t');
    await waitFor('brokers screen', frame, (x) => /ID ADDRESS/.test(x));
    r.stdin.write('?');
    await waitFor('help', frame, (x) => /pause \/ resume refreshing/.test(x));
    r.stdin.write('\u001B');
    await waitFor('help closed', frame, (x) => /ID ADDRESS/.test(x));
    r.unmount();
  });

  test('/ filters the list; esc clears it; s cycles the sort', async () => {
    const r = render(<App source={fakeSource()} intervalMs={50} bootstrap="b" />);
    const frame = () => r.lastFrame();
    await waitFor('topics', frame, (x) => /payments/.test(x));
    r.stdin.write('/');
    await waitFor('prompt', frame, (x) => /enter: apply/.test(x));
    r.stdin.write('pay');
    let f = await waitFor('filtered', frame, (x) => !/orders {5}/.test(x) && /\/pay/.test(x));
    assert.match(f, /payments/);
    r.stdin.write('\r');
    f = await waitFor('filter applied', frame, (x) => /filter "pay"/.test(x));
    assert.doesNotMatch(f, /^orders/m);
    r.stdin.write('\u001B');
    await waitFor('filter cleared', frame, (x) => /^orders/m.test(x) && !/filter "/.test(x));
    r.stdin.write('s');
    await waitFor('sort by rate', frame, (x) => /sort: rate/.test(x));
    r.stdin.write('s');
    await waitFor('sort by lag', frame, (x) => /sort: lag/.test(x));
    r.unmount();
  });

  test('p pauses polling, r refreshes, p resumes', async () => {
    const src = fakeSource();
    const r = render(<App source={src} intervalMs={30} bootstrap="b" />);
    const frame = () => r.lastFrame();
    await waitFor('data', frame, (x) => /orders/.test(x));
    r.stdin.write('p');
    await waitFor('paused', frame, (x) => /PAUSED/.test(x));
    await new Promise((res) => setTimeout(res, 50));
    const n = src.calls();
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(src.calls(), n, 'no polls while paused');
    // r while paused: one poll, still paused.
    r.stdin.write('r');
    await waitFor('one poll', frame, () => src.calls() === n + 1);
    assert.match(r.lastFrame()!, /PAUSED/);
    r.stdin.write('p');
    await waitFor('resumed', frame, (x) => !/PAUSED/.test(x));
    const before = src.calls();
    await waitFor('polling again', frame, () => src.calls() > before + 2);
    r.unmount();
  });

  test('unreachable cluster: banner, last data kept as stale, back when it answers again', async () => {
    let down = false;
    let n = 0;
    const src = {
      async fetch(): Promise<RawPoll> {
        n++;
        // A long error (a bootstrap list of several brokers): the banner still says the data is stale (the
        // error used to come first and push "showing stale data" off the line).
        if (down)
          throw new Error(
            `connect ECONNREFUSED 127.0.0.1:9092; ${['kafka-1', 'kafka-2', 'kafka-3'].map((h) => `${h}.eu-west.example.com:9092: connection refused`).join('; ')}`,
          );
        return raw({ at: 1_000_000 + n * 1000 });
      },
    };
    const r = render(<App source={src} intervalMs={30} bootstrap="b" />);
    const frame = () => r.lastFrame();
    await waitFor('data', frame, (x) => /orders/.test(x));
    down = true;
    const f = await waitFor('banner', frame, (x) => /UNREACHABLE ·/.test(x));
    assert.match(f, /ECONNREFUSED/);
    assert.match(f, / UNREACHABLE · stale data from \d\d:\d\d:\d\d · retrying every 30ms · /);
    // The broker counts are the last ones seen, and say so (they were "3 up" in green).
    assert.match(f, /brokers 3 up 0 down \(unreachable\)/);
    assert.match(f, /every 30ms · data from \d\d:\d\d:\d\d/);
    assert.match(f, /orders/, 'the last data stays on screen');
    down = false;
    await waitFor('banner gone', frame, (x) => !/UNREACHABLE/.test(x) && /orders/.test(x));
    r.unmount();
  });

  test('keys typed faster than the screen redraws land on the current state', async () => {
    const r = render(<App source={fakeSource()} intervalMs={50} bootstrap="b" />);
    const frame = () => r.lastFrame();
    await waitFor('topics', frame, (x) => /payments/.test(x));
    // `/` opens the prompt; `q` and `pay` typed in the same burst are filter text, not quit and pause.
    r.stdin.write('/');
    r.stdin.write('q');
    r.stdin.write('\u007F');
    r.stdin.write('pay');
    r.stdin.write('\r');
    const f = await waitFor('filter applied', frame, (x) => /filter "pay"/.test(x));
    assert.doesNotMatch(f, /PAUSED/);
    r.stdin.write('2');
    r.stdin.write('3');
    await waitFor('brokers screen', frame, (x) => /ID ADDRESS/.test(x));
  });

  test('event log above the live area: connected, then a broker down and its partitions; the Events screen', async () => {
    let n = 0;
    const src = {
      async fetch(): Promise<RawPoll> {
        n++;
        const r = raw({ at: 1_000_000 + n * 1000 });
        if (n > 2) {
          r.brokers = r.brokers.filter((b) => b.nodeId !== 3);
          for (const t of r.topics) for (const p of t.partitions) p.isr = p.isr.filter((id) => id !== 3);
          r.topics[0]!.partitions[2]!.leader = 1;
        }
        return r;
      },
    };
    const r = render(<App source={src} intervalMs={30} bootstrap="b" />);
    const f = await waitFor(
      'broker 3 down in the log',
      () => r.lastFrame(),
      (x) => /broker 3 DOWN/.test(x),
    );
    const lines = f.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    assert.ok(at(/^\d\d:\d\d:\d\d {2}connected to cluster test-cluster: 3 brokers/) >= 0, f);
    assert.ok(at(/^\d\d:\d\d:\d\d {2}broker 3 DOWN \(127\.0\.0\.1:9093\)/) >= 0, f);
    assert.ok(at(/orders: 3 partitions under-replicated \(0,1,2; missing replica 3\)/) >= 0, f);
    assert.ok(at(/orders: new leader for 1 partition \(2: 3→1\)/) >= 0, f);
    assert.ok(at(/broker 3 DOWN/) < at(/^kstream top {2}cluster/), 'the log is above the header');
    // Later polls change nothing: each event is logged once.
    await waitFor(
      'more polls',
      () => r.lastFrame(),
      () => n > 6,
    );
    assert.equal(r.lastFrame()!.match(/broker 3 DOWN/g)?.length, 1);

    // The Events screen (4): the history, newest first, filterable.
    r.stdin.write('4');
    const ev = await waitFor(
      'events screen',
      () => r.lastFrame(),
      (x) => /TIME\s+EVENT/.test(x),
    );
    const rows = ev.slice(ev.indexOf('TIME')).split('\n');
    const row = (re: RegExp) => rows.findIndex((l) => re.test(l));
    assert.ok(row(/^\d\d:\d\d:\d\d broker 3 DOWN/) > 0, ev);
    assert.ok(row(/broker 3 DOWN/) < row(/connected to cluster/), 'newest first');
    r.stdin.write('/');
    r.stdin.write('DOWN');
    const filtered = await waitFor(
      'filtered',
      () => r.lastFrame(),
      (x) => /\/DOWN/.test(x),
    );
    const shown = filtered.slice(filtered.indexOf('TIME')).split('\n');
    assert.equal(shown.filter((l) => /^\d\d:\d\d:\d\d /.test(l)).length, 1, filtered);
  });
});
