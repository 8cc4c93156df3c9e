/**
 * Per-client throttling as the metrics show it (issue 19): for each quota entity a client quota throttled on
 * this node (the measurement its connections share, so only clients with a quota ever appear), per kind of
 * quota,
 * - the time its connections have spent throttled: throttle times handed out, counted as they elapse (a
 *   throttle of 800 ms handed out now adds 0.8 s over the next 800 ms), so the counter rises exactly while a
 *   connection of the client is muted and an increase between two reads means "throttled in between";
 * - Kafka's `throttle-time`: the average throttle time (ms) of the throttled requests over its default metric
 *   window (2 samples of 30 s), 0 when none was throttled in it (Kafka's JMX says NaN then).
 * Entities not throttled for an hour are forgotten (Kafka expires its quota sensors after an hour too).
 * Recorded only when a request is throttled: the produce and fetch paths pay nothing more.
 */

/** Kafka's default MetricConfig: 2 samples of 30 s. */
const SAMPLE_MS = 30_000;
const SAMPLES = 2;
const IDLE_MS = 3600_000;

/** The metric tags of a quota entity's measurement: its user and client id, '' where it has none (Kafka's). */
export interface ThrottleTags {
  user: string;
  clientId: string;
}

interface Sample {
  start: number;
  sumMs: number;
  count: number;
}

class Entry {
  /** Throttle ms handed out in total. */
  handedOutMs = 0;
  /** Throttles still running: their end times (one per muted connection at most). */
  private running: { until: number }[] = [];
  private readonly samples: Sample[] = [];
  lastThrottled = 0;

  constructor(readonly tags: ThrottleTags) {}

  record(ms: number, now: number): void {
    this.handedOutMs += ms;
    this.lastThrottled = now;
    this.running.push({ until: now + ms });
    const cur = this.samples[this.samples.length - 1];
    if (cur !== undefined && now - cur.start < SAMPLE_MS) {
      cur.sumMs += ms;
      cur.count++;
    } else {
      this.samples.push({ start: now, sumMs: ms, count: 1 });
      if (this.samples.length > SAMPLES) this.samples.shift();
    }
  }

  /** Seconds spent throttled up to `now`: handed out minus what is still to run. */
  elapsedSeconds(now: number): number {
    let ahead = 0;
    this.running = this.running.filter((r) => r.until > now);
    for (const r of this.running) ahead += r.until - now;
    return (this.handedOutMs - ahead) / 1000;
  }

  /** Whether a throttle of the entity still runs at `now`. */
  mutedAt(now: number): boolean {
    return this.running.some((r) => r.until > now);
  }

  /** Average throttle ms over the samples still in the window (0: none). */
  averageMs(now: number): number {
    let sum = 0;
    let n = 0;
    for (const s of this.samples) {
      if (now - s.start >= SAMPLE_MS * SAMPLES) continue;
      sum += s.sumMs;
      n += s.count;
    }
    return n === 0 ? 0 : sum / n;
  }
}

export interface ThrottleRow extends ThrottleTags {
  /** The quota kind: produce, fetch. */
  kind: string;
  throttledSeconds: number;
  averageMs: number;
}

export class ThrottleStats {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = 0;

  /** A request of the quota entity measured by `sensor` (its store key, see quota/model.ts) was throttled. */
  record(kind: string, sensor: string, ms: number, now = Date.now()): void {
    if (ms <= 0) return;
    const k = `${kind}\u0000${sensor}`;
    let e = this.entries.get(k);
    if (e === undefined) {
      this.sweep(now);
      e = new Entry(tagsOf(sensor));
      this.entries.set(k, e);
    }
    e.record(ms, now);
  }

  /** Every entity throttled within the last hour, per kind (read at scrape time). */
  rows(now = Date.now()): ThrottleRow[] {
    this.sweep(now);
    const out: ThrottleRow[] = [];
    for (const [k, e] of this.entries) {
      out.push({
        kind: k.slice(0, k.indexOf('\u0000')),
        ...e.tags,
        throttledSeconds: e.elapsedSeconds(now),
        averageMs: e.averageMs(now),
      });
    }
    return out;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [k, e] of this.entries) if (now - e.lastThrottled > IDLE_MS && !e.mutedAt(now)) this.entries.delete(k);
  }
}

/**
 * The tags of a measurement from its key (`user=alice/client-id=app`, `user=alice`, `client-id=app`, names
 * URI-encoded): a quota of a user alone is measured for the user (client id ''), of a client id alone for it
 * (user ''), else for both — the tags Kafka's quota metrics carry.
 */
export function tagsOf(sensor: string): ThrottleTags {
  const tags: ThrottleTags = { user: '', clientId: '' };
  for (const part of sensor.split('/')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = decodeURIComponent(part.slice(eq + 1));
    if (part.startsWith('user=')) tags.user = name;
    else if (part.startsWith('client-id=')) tags.clientId = name;
  }
  return tags;
}
