/**
 * Starts `kstream top` in the terminal: the alternate screen (restored on exit), the Ink app, and a Kafka
 * admin client as its data source. Imported lazily by commands/top.ts (Ink costs ~0.5 s to load).
 */
import { render } from 'ink';
import { CliError } from '../cli/base.js';
import type { Security } from '../cli/security.js';
import { formatAddress } from '../client/brokers.js';
import { detailOf, isAuthenticationError } from '../client/errors.js';
import { Admin } from '../client/index.js';
import { ApiKey } from '../protocol/messages/index.js';
import { silentLogger } from '../util/logger.js';
import { adminActions } from './actions.js';
import { App } from './app.js';
import { fetchRaw } from './data.js';
import type { ClusterSource } from './hooks/use-cluster-data.js';

/** An admin client for top: connecting bounded by at most 3 s of the timeout, one quick retry, no logs. */
export function topAdmin(brokers: string, timeoutMs: number, security: Security = {}): Admin {
  return new Admin({
    ...security,
    brokers,
    clientId: 'kstream-top',
    connectTimeoutMs: Math.min(timeoutMs, 3000),
    requestTimeoutMs: timeoutMs,
    retry: { retries: 1, initialBackoffMs: 50, maxBackoffMs: 200 },
    logger: silentLogger,
    // Log start/end need no leader epoch (v4+); v3 also reads librdkafka's mock cluster, whose v4+ answers
    // carry an 8-byte epoch that shifts every partition after the first.
    maxVersions: { [ApiKey.ListOffsets]: 3 },
  });
}

/**
 * A data source over the admin client. After a failed poll the client is closed and a new one is made on the
 * next poll, so a cluster that comes back (even on other brokers of the bootstrap list) is picked up. The new
 * one bootstraps from the brokers of the last poll too, as a Kafka client keeps the brokers it learned: top
 * started with `-b` one broker goes on when that broker is down (stopped, killed, in a rolling restart).
 */
export function adminSource(
  brokers: string,
  timeoutMs = 5000,
  security: Security = {},
): ClusterSource & { close(): Promise<void> } {
  let admin: Admin | null = null;
  /** The groups of the last poll, described again even if ListGroups misses them (see fetchRaw). */
  let knownGroups: string[] = [];
  /** host:port of the brokers of the last poll. */
  let knownBrokers: string[] = [];
  const make = () => topAdmin([...new Set([brokers, ...knownBrokers])].join(','), timeoutMs, security);
  return {
    async fetch() {
      admin ??= make();
      try {
        const raw = await fetchRaw(admin, Date.now, knownGroups);
        // A poll that could not read groups at all says nothing about which exist.
        if (raw.groupsError === null) knownGroups = raw.groups.map((g) => g.groupId);
        if (raw.brokers.length > 0) knownBrokers = raw.brokers.map((b) => formatAddress(b));
        return raw;
      } catch (e) {
        const a = admin;
        admin = null;
        a.close().catch(() => {});
        throw e;
      }
    },
    async close() {
      await admin?.close().catch(() => {});
      admin = null;
    },
  };
}

const ENTER_ALT_SCREEN = '\u001B[?1049h\u001B[H';
const LEAVE_ALT_SCREEN = '\u001B[?1049l';

/** `timeoutMs`: --timeout, the request timeout of every poll (connecting: at most 3 s of it, see adminSource). */
export async function runTop(opts: {
  brokers: string;
  intervalMs: number;
  timeoutMs: number;
  readOnly?: boolean;
  /** TLS and SASL (--tls…, --user; src/cli/security.ts). */
  security?: Security;
  /** Whom top is connected as, for the header (describeIdentity). */
  identity?: string;
}): Promise<void> {
  const security = opts.security ?? {};
  const polls = adminSource(opts.brokers, opts.timeoutMs, security);
  // A login the broker refuses (wrong password, unknown user, mechanism not offered) will not heal by itself:
  // top ends with that one line instead of logging in again and again at every poll.
  let refused: unknown = null;
  const source: ClusterSource = {
    async fetch() {
      try {
        return await polls.fetch();
      } catch (e) {
        if (isAuthenticationError(e) && refused === null) {
          refused = e;
          setImmediate(() => app.unmount());
        }
        throw e;
      }
    },
  };
  const actions = adminActions({ brokers: opts.brokers, timeoutMs: opts.timeoutMs, ...security }, () =>
    topAdmin(opts.brokers, opts.timeoutMs, security),
  );
  const restore = () => process.stdout.write(`${LEAVE_ALT_SCREEN}\u001B[?25h`);
  process.stdout.write(ENTER_ALT_SCREEN);
  process.once('exit', restore);
  const app = render(
    <App
      source={source}
      intervalMs={opts.intervalMs}
      bootstrap={opts.brokers}
      identity={opts.identity}
      actions={actions}
      readOnly={opts.readOnly ?? false}
    />,
    { exitOnCtrlC: true },
  );
  try {
    await app.waitUntilExit();
  } finally {
    app.cleanup();
    process.off('exit', restore);
    restore();
    await Promise.all([polls.close(), actions.close()]);
  }
  if (refused !== null) throw new CliError(detailOf(refused));
}
