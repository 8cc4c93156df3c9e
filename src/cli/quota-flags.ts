/** kafka-configs' vocabulary for client quota entities, shared by `quota describe|alter`. */
import { Flags } from '@oclif/core';

export const entityFlags = {
  // Not --user: that is the SASL user every client command logs in as.
  'quota-user': Flags.string({ description: 'a user (the principal name without User:)' }),
  'client-id': Flags.string({ description: 'a client id' }),
  'default-user': Flags.boolean({ description: 'the default user entity (<default>)' }),
  'default-client-id': Flags.boolean({ description: 'the default client-id entity (<default>)' }),
  'entity-type': Flags.string({ description: "kafka-configs' --entity-type: users or clients", multiple: true }),
  'entity-name': Flags.string({ description: "kafka-configs' --entity-name, one per --entity-type", multiple: true }),
  'entity-default': Flags.boolean({ description: "kafka-configs' --entity-default: the default of the type" }),
};
