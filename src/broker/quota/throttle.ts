/**
 * Throttling a request of a client over its quota (KIP-219): the answer carries throttle_time_ms and the
 * connection is muted for that time. Clients of the versions KIP-219 names (Produce v6+, Fetch v8+) get the
 * answer at once and wait by themselves; older versions get it only after the delay, as Kafka does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HandlerContext } from '../router.js';
import type { QuotaKind } from './quotas.js';

/** Record `bytes` for the connection's quota entity; the throttle time (ms) to put in the answer, 0 if none. */
export async function throttle(
  ctx: HandlerContext,
  kind: QuotaKind,
  bytes: number,
  clientThrottles: boolean,
): Promise<number> {
  const ms = ctx.node.quotas.record(kind, ctx.connection, ctx.header.clientId ?? '', bytes);
  if (ms <= 0) return 0;
  ctx.connection.muteFor(ms);
  if (!clientThrottles && !ctx.node.isStopping) await sleep(ms);
  return ms;
}
