/** Brokers screen: per broker its address, up/down, controller, leaders, replicas and partitions out of ISR. */
import type { ReactNode } from 'react';
import { type Column, Table } from '../components/table.js';
import { visibleBrokers } from '../state/select.js';
import { theme } from '../theme.js';
import type { BrokerRow } from '../types.js';
import type { ScreenProps } from './topics.js';

const columns: Column<BrokerRow>[] = [
  { title: 'ID', width: 4, align: 'right', cell: (b) => String(b.nodeId) },
  { title: 'ADDRESS', width: 21, cell: (b) => (b.port ? `${b.host}:${b.port}` : b.host) },
  { title: 'RACK', width: 8, cell: (b) => b.rack ?? '-' },
  {
    title: 'STATUS',
    width: 6,
    cell: (b) => (b.up ? 'up' : 'DOWN'),
    color: (b) => (b.up ? theme.ok : theme.bad),
  },
  { title: 'CTRL', width: 4, cell: (b) => (b.controller ? '*' : '') },
  { title: 'LEADERS', width: 7, align: 'right', cell: (b) => String(b.leaders) },
  { title: 'REPLICAS', width: 8, align: 'right', cell: (b) => String(b.replicas) },
  {
    title: 'OUT OF ISR',
    width: 20,
    grow: true,
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
