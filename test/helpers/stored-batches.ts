/** What a broker stored, read back over the wire with a raw Fetch (no client library in between). */
import { ApiKey } from '../../src/protocol/messages/index.js';
import { OFF, readBatchHeader } from '../../src/protocol/records/batch.js';
import { RawClient } from './raw-client.js';

/** The producer ids of the batches stored in `topic`/`partition` (up to 64 MiB from offset 0). */
export async function storedProducerIds(port: number, topic: string, partition = 0): Promise<Set<bigint>> {
  return RawClient.using(port, async (c) => {
    const r = await c.request(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 64 * 1024 * 1024,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 64 * 1024 * 1024 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    const records = r.responses[0].partitions[0].records as Buffer | null;
    const ids = new Set<bigint>();
    for (let pos = 0; records && pos < records.length; ) {
      const h = readBatchHeader(records, pos);
      if (!h || pos + h.size > records.length) break;
      ids.add(records.readBigInt64BE(pos + OFF.producerId));
      pos += h.size;
    }
    return ids;
  });
}
