/** Brokers screen: per broker its address, up/down, controller, leaders, replicas and partitions out of ISR. */
import type { ReactNode } from 'react';
import { type Column, Table } from '../components/table.js';
import { bytes } from '../format.js';
import { visibleBrokers } from '../state/select.js';
import { theme } from '../theme.js';
import type { BrokerRow } from '../types.js';
import type { ScreenProps } from './topics.js';

const columns: Column<BrokerRow>[] = [
  { title: 'ID', priority: 0, align: 'right', cell: (b) => String(b.nodeId) },
  { title: 'ADDRESS', priority: 2, cell: (b) => (b.port ? `${b.host}:${b.port}` : b.host) },
  { title: 'RACK', priority: 8, cell: (b) => b.rack ?? '-' },
  {
    title: 'STATUS',
    priority: 1,
    // NOT READY: up in the metadata but its admin listener's /ready answers 503.
    cell: (b) => (!b.up ? 'DOWN' : b.ready === 'not ready' ? 'NOT READY' : 'up'),
    color: (b) => (!b.up ? theme.bad : b.ready === 'not ready' ? theme.warn : theme.ok),
  },
  { title: 'CTRL', priority: 7, cell: (b) => (b.controller ? '*' : '') },
  { title: 'LEADERS', priority: 3, align: 'right', cell: (b) => String(b.leaders) },
  { title: 'REPLICAS', priority: 4, align: 'right', cell: (b) => String(b.replicas) },
  { title: 'DISK', priority: 5, align: 'right', cell: (b) => bytes(b.disk) },
  { title: 'FREE', priority: 9, align: 'right', cell: (b) => bytes(b.free) },
  {
    title: 'OUT OF ISR',
    priority: 6,
    kind: 'text',
    cell: (b) => (b.outOfIsr.length === 0 ? '-' : `${b.outOfIsr.length}: ${b.outOfIsr.join(' ')}`),
    color: (b) => (b.outOfIsr.length > 0 ? theme.warn : undefined),
  },
];

export function BrokersScreen({ snapshot, ui, width, height }: ScreenProps): ReactNode {
  const rows = visibleBrokers(snapshot, ui);
  return (
    <Table
      columns={columns}
      rows={rows}
      rowKey={(b) => String(b.nodeId)}
      selected={Math.min(ui.cursor.brokers, rows.length - 1)}
      height={Math.max(1, height - 1)}
      width={width}
      rowColor={(b) => (b.up ? undefined : theme.bad)}
      empty={snapshot ? '(no brokers)' : 'connecting…'}
    />
  );
}
