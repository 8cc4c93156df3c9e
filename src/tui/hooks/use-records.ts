/**
 * The record browser's page: read when the browsed partition, the page's start (BrowseFrom) or the page size
 * changes, or on `r`. The last page stays on screen while the next one loads or when a read fails.
 */
import { useEffect, useRef, useState } from 'react';
import type { PageFrom, RecordPage } from '../../services/browse.js';
import type { TopActions } from '../actions.js';
import type { BrowseFrom, UiState } from '../state/reducer.js';

export interface RecordsData {
  page: RecordPage | null;
  error: string | null;
  loading: boolean;
}

function pageFrom(f: BrowseFrom): PageFrom {
  return f.kind === 'time' ? { kind: 'time', ms: f.ms } : f;
}

export function useRecords(actions: TopActions | undefined, ui: UiState, pageSize: number): RecordsData {
  const [data, setData] = useState<RecordsData>({ page: null, error: null, loading: false });
  const generation = useRef(0);
  const { topic, partition } = ui;
  const browsing = ui.screen === 'topics' && topic !== null && partition !== null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `loads` and `refreshes` ask for a new read
  useEffect(() => {
    if (!browsing || !actions || topic === null || partition === null) {
      setData({ page: null, error: null, loading: false });
      return;
    }
    const mine = ++generation.current;
    setData((d) => ({ ...d, loading: true }));
    actions.readPage(topic, partition, pageFrom(ui.browse.from), Math.max(1, pageSize)).then(
      (page) => {
        if (mine === generation.current) setData({ page, error: null, loading: false });
      },
      (e: unknown) => {
        if (mine === generation.current)
          setData((d) => ({ ...d, error: e instanceof Error ? e.message : String(e), loading: false }));
      },
    );
  }, [browsing, actions, topic, partition, ui.browse.loads, ui.refreshes, pageSize]);
  return data;
}
