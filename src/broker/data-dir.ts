/**
 * What a node finds in its data dir before it serves: the lock (held from start to stop), meta.properties
 * (cluster id, node id) and the metadata store — the one choice between a single node and a node of a
 * cluster: the data dir's own file (LocalStore), or etcd with --etcd. Everything else runs the same over
 * either.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalStore, MetadataFileError } from '../cluster/local-store.js';
import type { MetadataStore } from '../cluster/metadata-store.js';
import { isNoSpace } from '../storage/checkpoint.js';
import { DataDirBusyError, DataDirLock, LOCK_FILE } from '../storage/data-dir-lock.js';
import { parsePartitionDirName } from '../storage/log-manager.js';
import type { Logger } from '../util/logger.js';
import type { BrokerConfig } from './config.js';

/** The node cannot start; the message says why and what to do (`kstream: …`). */
export class BrokerStartError extends Error {}

/** The data dir (made if missing) locked (src/storage/data-dir-lock.ts), or a BrokerStartError naming who holds it. */
export async function lockDataDir(dir: string, log: Logger): Promise<DataDirLock> {
  mkdirSync(dir, { recursive: true });
  try {
    return await DataDirLock.acquire(dir, (e) => log.warn(`cannot write ${join(dir, LOCK_FILE)}`, { error: e }));
  } catch (e) {
    if (e instanceof DataDirBusyError) throw new BrokerStartError(`${e.message}; stop it or choose another --data-dir`);
    throw new BrokerStartError((e as Error).message);
  }
}

/** The cluster id in meta.properties (written with a new one for a new data dir); checks the node id. */
export function loadMetaProperties(dir: string, nodeId: number, log: Logger): string {
  const file = join(dir, 'meta.properties');
  let clusterId = '';
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    const id = /^cluster\.id=(.*)$/m.exec(text)?.[1];
    const node = /^node\.id=(.*)$/m.exec(text)?.[1];
    if (node !== undefined && Number(node) !== nodeId) {
      throw new BrokerStartError(
        `data dir ${dir} belongs to node ${node}, not node ${nodeId}; pass --node-id ${node} or use another --data-dir`,
      );
    }
    clusterId = id ?? '';
  }
  if (!clusterId) {
    clusterId = randomBytes(16).toString('base64url');
    try {
      writeFileSync(file, `version=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`);
    } catch (e) {
      if (!isNoSpace(e)) throw e;
      log.warn(`cannot write ${file}: the cluster id is made again at the next start`, { error: e });
    }
  }
  return clusterId;
}

/**
 * The node's metadata store and the cluster id it names (null: the data dir's). With --etcd, etcd (its client
 * loaded only then: etcd3 with grpc costs ~60 ms at start-up) under the cluster id given; else the data dir's
 * file.
 */
export async function openMetadataStore(
  config: BrokerConfig,
  dir: string,
  log: Logger,
): Promise<{ store: MetadataStore; clusterId: string | null }> {
  if (config.etcd.length > 0) {
    const { EtcdStore } = await import('../cluster/etcd-store.js');
    return {
      store: new EtcdStore(config.etcd, config.clusterId, log, config.etcdSecurity),
      clusterId: config.clusterId,
    };
  }
  return { store: openLocalStore(dir, config.nodeId, log), clusterId: null };
}

/**
 * The single node's metadata store, checked: a damaged file, or a missing one while the data dir holds
 * partition logs, stops the start (starting without it would set every log aside). A fresh data dir gets
 * an empty store written, so that from then on a missing file means a lost one.
 */
function openLocalStore(dir: string, nodeId: number, log: Logger): LocalStore {
  const file = join(dir, '.metadata', 'store.json');
  const withoutIt =
    'or, to start without the topics it held, write {} into it (their logs are then set aside as *-stray ' +
    'dirs, kept but not served)';
  let store: LocalStore;
  try {
    store = new LocalStore(file, {
      nodeId,
      onDeferredWrite: (e) => {
        if (!isNoSpace(e)) throw e;
        log.warn(`cannot write ${file} in the current layout yet (written with the next change)`, { error: e });
      },
    });
  } catch (e) {
    if (!(e instanceof MetadataFileError)) throw e;
    throw new BrokerStartError(`${e.message}: restore it from a backup; ${withoutIt}`);
  }
  if (store.migrated.length > 0) {
    log.info('read the metadata of an earlier kstream as a one-node cluster', { file, topics: store.migrated.length });
  }
  if (!store.missing) return store;
  const logs = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && parsePartitionDirName(e.name) !== null)
    .map((e) => e.name)
    .sort();
  if (logs.length > 0) {
    const shown = logs.length > 3 ? `${logs.slice(0, 3).join(', ')}, …` : logs.join(', ');
    throw new BrokerStartError(
      `the metadata file ${file} is missing but ${dir} holds ${logs.length} partition log${logs.length === 1 ? '' : 's'} ` +
        `(${shown}): restore it from a backup (a data dir of a cluster node is started with --etcd); ${withoutIt}`,
    );
  }
  try {
    store.save();
  } catch (e) {
    if (!isNoSpace(e)) throw e;
    log.warn(`cannot write ${file} of a new data dir (written with the first topic)`, { error: e });
  }
  return store;
}
