/**
 * Bootstrap address lists as users write them: `KSTREAM_BROKERS=a:9092,b:9093`, `-b host`, `[::1]:9092`.
 */
export const DEFAULT_PORT = 9092;
/** What every kstream client command talks to without -b/--brokers or KSTREAM_BROKERS (DESIGN.md). */
export const DEFAULT_BROKERS = '127.0.0.1:9092';
export const BROKERS_ENV = 'KSTREAM_BROKERS';

/** The bootstrap list a command uses: the flag if given, else $KSTREAM_BROKERS, else 127.0.0.1:9092. */
export function resolveBrokers(flag?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  const fromFlag = flag?.trim();
  if (fromFlag) return fromFlag;
  const fromEnv = env[BROKERS_ENV]?.trim();
  return fromEnv ? fromEnv : DEFAULT_BROKERS;
}

export interface BrokerAddress {
  host: string;
  port: number;
}

/**
 * Parse a comma (or whitespace) separated list of host[:port] (IPv6 as `[addr]:port`); the port defaults to 9092.
 * Throws a TypeError naming the bad entry.
 */
export function parseBrokers(list: string | readonly string[], defaultPort = DEFAULT_PORT): BrokerAddress[] {
  const items = (typeof list === 'string' ? [list] : list)
    .flatMap((s) => s.split(/[,\s]+/))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new TypeError('no broker address given');
  return items.map((item) => parseOne(item, defaultPort));
}

function parseOne(item: string, defaultPort: number): BrokerAddress {
  const raw = item.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''); // tolerate PLAINTEXT://host:port
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(raw);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
  } else {
    const parts = raw.split(':');
    if (parts.length > 2) {
      // A bare IPv6 address without brackets and without a port.
      host = raw;
    } else {
      host = parts[0]!;
      portText = parts[1];
    }
  }
  if (host === '') throw new TypeError(`invalid broker address ${JSON.stringify(item)}: empty host`);
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      throw new TypeError(`invalid broker address ${JSON.stringify(item)}: bad port ${JSON.stringify(portText)}`);
    }
    port = Number(portText);
  }
  return { host, port };
}

/** `host:port` (IPv6 hosts in brackets). */
export function formatAddress(a: BrokerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
