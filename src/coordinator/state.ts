/**
 * The classic consumer-group state machine as a transition table (Kafka's GroupMetadata states).
 *
 *   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
 *     ▲                 ▲      │ (nobody rejoined)                               │ leader's SyncGroup
 *     │                 │      ▼                                                  ▼
 *     │                 └── Empty                 PreparingRebalance ◀── member change ── Stable
 *   Dead: the group was deleted, expired, or its coordinator unloaded it (terminal).
 *
 * Every state change goes through {@link transition}, which refuses a move the table does not allow, so a
 * bug in the coordinator shows up as an exception in tests instead of a silently inconsistent group.
 */

export enum GroupState {
  Empty = 'Empty',
  PreparingRebalance = 'PreparingRebalance',
  CompletingRebalance = 'CompletingRebalance',
  Stable = 'Stable',
  Dead = 'Dead',
}

/** Allowed predecessors of each state (the table Kafka's GroupMetadata.validPreviousStates holds). */
export const VALID_PREVIOUS: Readonly<Record<GroupState, readonly GroupState[]>> = {
  [GroupState.Empty]: [GroupState.PreparingRebalance],
  [GroupState.PreparingRebalance]: [GroupState.Empty, GroupState.Stable, GroupState.CompletingRebalance],
  [GroupState.CompletingRebalance]: [GroupState.PreparingRebalance],
  [GroupState.Stable]: [GroupState.CompletingRebalance],
  [GroupState.Dead]: [
    GroupState.Empty,
    GroupState.PreparingRebalance,
    GroupState.CompletingRebalance,
    GroupState.Stable,
    GroupState.Dead,
  ],
};

export class IllegalStateTransition extends Error {}

export function canTransition(from: GroupState, to: GroupState): boolean {
  return VALID_PREVIOUS[to].includes(from);
}

/** Check a transition against the table; throws {@link IllegalStateTransition} if it is not allowed. */
export function transition(group: string, from: GroupState, to: GroupState): GroupState {
  if (!canTransition(from, to)) {
    throw new IllegalStateTransition(`group ${group}: illegal transition ${from} -> ${to}`);
  }
  return to;
}

/** Parse a state name as ListGroups' statesFilter gives it (case-insensitive); null if unknown. */
export function parseGroupState(s: string): GroupState | null {
  const l = s.toLowerCase();
  for (const v of Object.values(GroupState)) if (v.toLowerCase() === l) return v;
  // Older clients call CompletingRebalance AwaitingSync.
  if (l === 'awaitingsync') return GroupState.CompletingRebalance;
  return null;
}
