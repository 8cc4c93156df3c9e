/**
 * Throttling a request of a client over its quota (KIP-219): the answer carries throttle_time_ms and the
 * connection is muted for that time. Clients of the versions KIP-219 names (Produce v6+, Fetch v8+, … see
 * src/protocol/throttle.ts) get the answer at once and wait by themselves; older versions, and APIs whose clients
 * never throttle themselves, get it only after the delay, as Kafka does.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { HandlerContext } from '../context.js';
import type { QuotaKind } from './quotas.js';

export { clientThrottles } from '../../protocol/throttle.js';

/** Mute the connection for `ms`; hold the answer that long too when the client would not wait by itself. */
export async function applyThrottle(ctx: HandlerContext, ms: number, clientThrottles: boolean): Promise<void> {
  if (ms <= 0) return;
  ctx.connection.muteFor(ms);
  if (!clientThrottles && !ctx.node.isStopping) await sleep(ms);
}

/** Record `bytes` for the connection's quota entity; the throttle time (ms) to put in the answer, 0 if none. */
export async function throttle(
  ctx: HandlerContext,
  kind: QuotaKind,
  bytes: number,
  clientThrottles: boolean,
): Promise<number> {
  const ms = ctx.node.quotas.record(kind, ctx.connection, ctx.header.clientId ?? '', bytes);
  await applyThrottle(ctx, ms, clientThrottles);
  return ms;
}
