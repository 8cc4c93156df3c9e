/**
 * Every kstream command, registered explicitly (oclif's `explicit` command discovery, see package.json
 * `oclif.commands`). The single executable is one esbuild bundle with no commands directory to scan, so this
 * map is how oclif finds commands there, and in development too, so both behave the same.
 *
 * Adding a command: create `commands/<topic>/<name>.ts` (default export: the command class) and add one line
 * here, id = its path with ':' separators ('topic:list' for commands/topic/list.ts; users type "topic list").
 * test/cli/commands-index.test.ts fails when a file in commands/ is missing from this map.
 *
 * Every command module is imported at start-up (also for `--help`), so keep heavy modules (ink, react,
 * archiver, zstd-codec) out of top-level imports: `await import()` them inside `run()`.
 */
import type { Command } from '@oclif/core';
import { unwrapDescriptions } from '../src/cli/description.js';
import AclCreate from './acl/create.js';
import AclDelete from './acl/delete.js';
import AclList from './acl/list.js';
import AutocompleteCreate from './autocomplete/create.js';
import Autocomplete from './autocomplete/index.js';
import AutocompleteScript from './autocomplete/script.js';
import BenchConsume from './bench/consume.js';
import BenchE2e from './bench/e2e.js';
import BenchProduce from './bench/produce.js';
import ClusterElectLeaders from './cluster/elect-leaders.js';
import ClusterHealth from './cluster/health.js';
import ClusterInfo from './cluster/info.js';
import ClusterReassign from './cluster/reassign.js';
import Consume from './consume.js';
import DebugBundle from './debug/bundle.js';
import DebugCheckLog from './debug/check-log.js';
import GroupDelete from './group/delete.js';
import GroupDescribe from './group/describe.js';
import GroupList from './group/list.js';
import GroupSeek from './group/seek.js';
import Produce from './produce.js';
import ProfileCreate from './profile/create.js';
import ProfileDelete from './profile/delete.js';
import ProfileList from './profile/list.js';
import ProfileShow from './profile/show.js';
import ProfileUse from './profile/use.js';
import QuotaAlter from './quota/alter.js';
import QuotaDescribe from './quota/describe.js';
import Serve from './serve.js';
import Top from './top.js';
import TopicAddPartitions from './topic/add-partitions.js';
import TopicAlterConfig from './topic/alter-config.js';
import TopicCreate from './topic/create.js';
import TopicDelete from './topic/delete.js';
import TopicDescribe from './topic/describe.js';
import TopicExport from './topic/export.js';
import TopicImport from './topic/import.js';
import TopicList from './topic/list.js';
import TopicTrim from './topic/trim.js';
import TxnDescribe from './txn/describe.js';
import TxnList from './txn/list.js';
import UserCreate from './user/create.js';
import UserDelete from './user/delete.js';
import UserHash from './user/hash.js';
import UserList from './user/list.js';
import UserSetPassword from './user/set-password.js';

export const COMMANDS: Record<string, Command.Class> = {
  // @oclif/plugin-autocomplete's commands (src/cli/autocomplete.ts): plugins are not discovered, they are
  // registered here like ours.
  autocomplete: Autocomplete,
  'autocomplete:create': AutocompleteCreate,
  'autocomplete:script': AutocompleteScript,
  'bench:consume': BenchConsume,
  'bench:e2e': BenchE2e,
  'bench:produce': BenchProduce,
  'cluster:elect-leaders': ClusterElectLeaders,
  'cluster:health': ClusterHealth,
  'cluster:info': ClusterInfo,
  'cluster:reassign': ClusterReassign,
  consume: Consume,
  'debug:bundle': DebugBundle,
  'debug:check-log': DebugCheckLog,
  'group:delete': GroupDelete,
  'group:describe': GroupDescribe,
  'group:list': GroupList,
  'group:seek': GroupSeek,
  produce: Produce,
  'profile:create': ProfileCreate,
  'profile:delete': ProfileDelete,
  'profile:list': ProfileList,
  'profile:show': ProfileShow,
  'profile:use': ProfileUse,
  serve: Serve,
  top: Top,
  'topic:add-partitions': TopicAddPartitions,
  'topic:alter-config': TopicAlterConfig,
  'topic:create': TopicCreate,
  'topic:delete': TopicDelete,
  'topic:describe': TopicDescribe,
  'topic:export': TopicExport,
  'topic:import': TopicImport,
  'topic:list': TopicList,
  'topic:trim': TopicTrim,
  'txn:describe': TxnDescribe,
  'txn:list': TxnList,
  'acl:create': AclCreate,
  'acl:delete': AclDelete,
  'acl:list': AclList,
  'quota:alter': QuotaAlter,
  'quota:describe': QuotaDescribe,
  'user:create': UserCreate,
  'user:delete': UserDelete,
  'user:hash': UserHash,
  'user:list': UserList,
  'user:set-password': UserSetPassword,
};

// Help text as paragraphs, so oclif wraps it evenly at the terminal's width (src/cli/description.ts).
unwrapDescriptions(Object.values(COMMANDS));
