/**
 * DescribeLogDirs (key 35). Flexible from v2. topics = null describes every partition. v3 adds the
 * response's top-level errorCode, v4 each directory's totalBytes / usableBytes (-1 = unknown).
 *
 * DescribeLogDirs Request (Version: 4) => [topics] TAG_BUFFER
 *   topics => topic [partitions] TAG_BUFFER                 (COMPACT_NULLABLE_ARRAY)
 *     topic => COMPACT_STRING
 *     partitions => INT32
 *
 * DescribeLogDirs Response (Version: 4) => throttle_time_ms error_code [results] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   results => error_code log_dir [topics] total_bytes usable_bytes TAG_BUFFER
 *     error_code => INT16
 *     log_dir => COMPACT_STRING
 *     topics => name [partitions] TAG_BUFFER
 *       name => COMPACT_STRING
 *       partitions => partition_index partition_size offset_lag is_future_key TAG_BUFFER
 *         partition_index => INT32
 *         partition_size => INT64
 *         offset_lag => INT64
 *         is_future_key => BOOLEAN
 *     total_bytes => INT64
 *     usable_bytes => INT64
 */
import type { MessageDef } from '../codec/schema.js';

export const DescribeLogDirsRequest = {
  name: 'DescribeLogDirsRequest',
  apiKey: 35,
  type: 'request',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    {
      name: 'topics',
      type: '[]struct',
      versions: '0+',
      nullableVersions: '0+',
      fields: [
        { name: 'topic', type: 'string', versions: '0+' },
        { name: 'partitions', type: '[]int32', versions: '0+' },
      ],
    },
  ],
} as const satisfies MessageDef;

export const DescribeLogDirsResponse = {
  name: 'DescribeLogDirsResponse',
  apiKey: 35,
  type: 'response',
  validVersions: '0-4',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '3+' },
    {
      name: 'results',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'errorCode', type: 'int16', versions: '0+' },
        { name: 'logDir', type: 'string', versions: '0+' },
        {
          name: 'topics',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'name', type: 'string', versions: '0+' },
            {
              name: 'partitions',
              type: '[]struct',
              versions: '0+',
              fields: [
                { name: 'partitionIndex', type: 'int32', versions: '0+' },
                { name: 'partitionSize', type: 'int64', versions: '0+' },
                { name: 'offsetLag', type: 'int64', versions: '0+' },
                { name: 'isFutureKey', type: 'bool', versions: '0+' },
              ],
            },
          ],
        },
        { name: 'totalBytes', type: 'int64', versions: '4+', default: -1 },
        { name: 'usableBytes', type: 'int64', versions: '4+', default: -1 },
      ],
    },
  ],
} as const satisfies MessageDef;
