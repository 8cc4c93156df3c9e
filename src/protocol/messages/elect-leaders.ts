/**
 * ElectLeaders (key 43). Flexible from v2. v1 adds electionType (0 preferred, 1 unclean) and the
 * response's top-level errorCode. topicPartitions = null means every partition.
 *
 * ElectLeaders Request (Version: 2) => election_type [topic_partitions] timeout_ms TAG_BUFFER
 *   election_type => INT8
 *   topic_partitions => topic [partitions] TAG_BUFFER       (COMPACT_NULLABLE_ARRAY)
 *     topic => COMPACT_STRING
 *     partitions => INT32
 *   timeout_ms => INT32
 *
 * ElectLeaders Response (Version: 2) => throttle_time_ms error_code [replica_election_results] TAG_BUFFER
 *   throttle_time_ms => INT32
 *   error_code => INT16
 *   replica_election_results => topic [partition_result] TAG_BUFFER
 *     topic => COMPACT_STRING
 *     partition_result => partition_id error_code error_message TAG_BUFFER
 *       partition_id => INT32
 *       error_code => INT16
 *       error_message => COMPACT_NULLABLE_STRING
 */
import type { MessageDef } from '../codec/schema.js';

export const ElectLeadersRequest = {
  name: 'ElectLeadersRequest',
  apiKey: 43,
  type: 'request',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'electionType', type: 'int8', versions: '1+' },
    {
      name: 'topicPartitions',
      type: '[]struct',
      versions: '0+',
      nullableVersions: '0+',
      fields: [
        { name: 'topic', type: 'string', versions: '0+' },
        { name: 'partitions', type: '[]int32', versions: '0+' },
      ],
    },
    { name: 'timeoutMs', type: 'int32', versions: '0+', default: 60000 },
  ],
} as const satisfies MessageDef;

export const ElectLeadersResponse = {
  name: 'ElectLeadersResponse',
  apiKey: 43,
  type: 'response',
  validVersions: '0-2',
  flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '1+' },
    {
      name: 'replicaElectionResults',
      type: '[]struct',
      versions: '0+',
      fields: [
        { name: 'topic', type: 'string', versions: '0+' },
        {
          name: 'partitionResult',
          type: '[]struct',
          versions: '0+',
          fields: [
            { name: 'partitionId', type: 'int32', versions: '0+' },
            { name: 'errorCode', type: 'int16', versions: '0+' },
            { name: 'errorMessage', type: 'string', versions: '0+', nullableVersions: '0+' },
          ],
        },
      ],
    },
  ],
} as const satisfies MessageDef;
