/**
 * Waiting for a partition's high watermark: acks=all produces in a cluster and the group coordinator's
 * offset writes both wait until the ISR has the batch. Whoever moves the high watermark (or gives up
 * leadership, or drops the replica) clears `p.hwWaiters` and calls every waiter; a waiter not yet satisfied
 * registers again.
 */
import type { PartitionState } from './broker.js';

/** 'reached': the high watermark is at or past `end`; 'closed': leadership is gone; 'timeout'. */
export type HighWatermarkWait = 'reached' | 'closed' | 'timeout';

/** Wait until `p`'s high watermark reaches `end`, leadership (of `nodeId`) is lost, or `timeoutMs` passes. */
export function waitForHighWatermark(
  p: PartitionState,
  end: bigint,
  timeoutMs: number,
  nodeId: number,
): Promise<HighWatermarkWait> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    const finish = (result: HighWatermarkWait) => {
      if (timer) clearTimeout(timer);
      timer = null;
      p.hwWaiters.delete(check);
      resolve(result);
    };
    const check = () => {
      if (p.log.highWatermark >= end) finish('reached');
      else if (p.hwWaitersClosed || p.leader !== nodeId) finish('closed');
      else p.hwWaiters.add(check);
    };
    check();
    if (p.hwWaiters.has(check)) timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
  });
}
