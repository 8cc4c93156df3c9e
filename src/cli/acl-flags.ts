/** kafka-acls' vocabulary, shared by `acl create|list|delete`. */
import { Flags } from '@oclif/core';

export const resourceFlags = {
  topic: Flags.string({ description: 'a topic (or prefix with --resource-pattern-type prefixed)', multiple: true }),
  group: Flags.string({ description: 'a consumer group', multiple: true }),
  'transactional-id': Flags.string({ description: 'a transactional id', multiple: true }),
  cluster: Flags.boolean({ description: 'the cluster resource (kafka-cluster)' }),
  'resource-pattern-type': Flags.string({ description: 'literal, prefixed, match or any' }),
  operation: Flags.string({
    description:
      'read, write, create, delete, alter, describe, cluster-action, describe-configs, alter-configs, ' +
      'idempotent-write or all (repeat or comma-separate)',
    multiple: true,
  }),
  host: Flags.string({ description: 'client host the ACL applies to (default *)', multiple: true }),
};

/** Repeated and comma-separated values, flattened. */
export function listOf(v: string[] | undefined): string[] {
  return (v ?? [])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter((x) => x !== '');
}
