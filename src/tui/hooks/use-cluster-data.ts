/**
 * The cluster data behind every screen: polls a ClusterSource through usePoll, builds each snapshot from the
 * previous one (rates, histories), keeps the last snapshot when a poll fails (shown as stale with the error)
 * and goes on polling, so it reconnects by itself.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { buildSnapshot, type RawPoll } from '../data.js';
import type { ClusterData, Snapshot } from '../types.js';
import { usePoll } from './use-poll.js';

export interface ClusterSource {
  fetch(): Promise<RawPoll>;
}

export function useClusterData(
  source: ClusterSource,
  intervalMs: number,
  paused: boolean,
): { data: ClusterData; refresh: () => void } {
  const [data, setData] = useState<ClusterData>({ snapshot: null, error: null, lastAttempt: null, polling: false });
  const last = useRef<Snapshot | null>(null);
  const inflight = useRef(false);
  const mounted = useRef(true);
  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  const poll = useCallback(async () => {
    if (inflight.current) return;
    inflight.current = true;
    try {
      const raw = await source.fetch();
      const snapshot = buildSnapshot(raw, last.current);
      last.current = snapshot;
      if (mounted.current) setData({ snapshot, error: null, lastAttempt: Date.now(), polling: false });
    } catch (e) {
      const error = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
      if (mounted.current) setData((d) => ({ ...d, error, lastAttempt: Date.now(), polling: false }));
    } finally {
      inflight.current = false;
    }
  }, [source]);

  const { refresh } = usePoll(poll, intervalMs, { isActive: !paused });
  return { data, refresh };
}
