/**
 * usePoll(fetcher, ms, {isActive}): run `fetcher` now and then `ms` after each run finishes (never two at
 * once from the timer), only while active; `refresh()` runs it again at once (also while inactive: once).
 * Cleans up on unmount.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export function usePoll(
  fetcher: () => Promise<void>,
  intervalMs: number,
  opts: { isActive?: boolean } = {},
): { refresh: () => void } {
  const active = opts.isActive ?? true;
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const [generation, setGeneration] = useState(0);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` restarts the loop on refresh()
  useEffect(() => {
    if (!active) return;
    let cancelled = false;
    let timer: NodeJS.Timeout | undefined;
    const run = async () => {
      try {
        await fetcherRef.current();
      } catch {
        // the fetcher reports its own errors; the loop goes on
      }
      if (!cancelled) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }, [active, intervalMs, generation]);

  const activeRef = useRef(active);
  activeRef.current = active;
  // While paused, refresh() polls once (the paused view is updated and stays paused).
  const refresh = useCallback(() => {
    if (activeRef.current) setGeneration((g) => g + 1);
    else fetcherRef.current().catch(() => {});
  }, []);
  return { refresh };
}
