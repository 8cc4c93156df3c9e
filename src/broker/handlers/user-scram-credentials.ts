/**
 * DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554), as Kafka's broker answers them. The
 * client salts and hashes the password (AlterUserScramCredentials carries salt, salted password and
 * iterations); the broker keeps the stored key and server key derived from it (credentials.ts), never the
 * salted password. One result per user; a user named twice in a request, or one mechanism both deleted and
 * upserted, is DUPLICATE_RESOURCE; deleting a credential that does not exist is RESOURCE_NOT_FOUND;
 * iterations outside 4096..16384 are UNACCEPTABLE_CREDENTIAL.
 */

import { ErrorCode } from '../../protocol/errors.js';
import { Api, type Item, type ResponseInput } from '../../protocol/messages/index.js';
import {
  credentialFromSalted,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  SCRAM_MECHANISM_ID,
  type ScramMechanism,
  scramMechanismOf,
} from '../../protocol/scram.js';
import { clusterAllowed, Op } from '../acl/check.js';
import { defineHandler } from '../router.js';
import { errorOf } from './errors.js';

export const describeUserScramCredentials = defineHandler(Api.DescribeUserScramCredentials, {
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const { node, log } = ctx;
    if (!clusterAllowed(ctx, Op.DESCRIBE))
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        errorMessage: 'DESCRIBE on the cluster is required',
        results: [],
      };
    let all: Awaited<ReturnType<typeof node.credentials.list>>;
    try {
      all = await node.credentials.list();
    } catch (e) {
      const { errorCode } = errorOf(e);
      log.warn('listing SCRAM credentials failed', { error: e });
      return { throttleTimeMs: 0, errorCode, errorMessage: 'the metadata store is not available', results: [] };
    }
    const asked = req.users?.map((u) => u.name) ?? [];
    const names = asked.length === 0 ? [...all.keys()].sort() : asked;
    const seen = new Map<string, number>();
    for (const n of asked) seen.set(n, (seen.get(n) ?? 0) + 1);
    const results: Item<ResponseInput<typeof Api.DescribeUserScramCredentials>['results']>[] = [];
    const done = new Set<string>();
    for (const user of names) {
      if (done.has(user)) continue;
      done.add(user);
      const mechs = all.get(user);
      if ((seen.get(user) ?? 0) > 1) {
        results.push({
          user,
          errorCode: ErrorCode.DUPLICATE_RESOURCE,
          errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request',
          credentialInfos: [],
        });
      } else if (!mechs) {
        results.push({
          user,
          errorCode: ErrorCode.RESOURCE_NOT_FOUND,
          errorMessage: 'Attempt to describe a user credential that does not exist',
          credentialInfos: [],
        });
      } else {
        results.push({
          user,
          errorCode: 0,
          errorMessage: null,
          credentialInfos: mechs.map((m) => ({ mechanism: SCRAM_MECHANISM_ID[m.mechanism], iterations: m.iterations })),
        });
      }
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, results };
  },
});

export const alterUserScramCredentials = defineHandler(Api.AlterUserScramCredentials, {
  minVersion: 0,
  maxVersion: 0,
  async handle(req, ctx) {
    const { node, connection, log } = ctx;
    const { deletions, upsertions } = req;
    if (!clusterAllowed(ctx, Op.ALTER)) {
      const names = [...new Set([...deletions, ...upsertions].map((x) => x.name))];
      return {
        throttleTimeMs: 0,
        results: names.map((user) => ({
          user,
          errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
          errorMessage: 'ALTER on the cluster is required',
        })),
      };
    }
    const errors = new Map<string, { code: number; message: string }>();
    const users: string[] = [];
    const pairs = new Map<string, number>();
    for (const x of [...deletions, ...upsertions]) {
      const user = x.name;
      if (!users.includes(user)) users.push(user);
      const k = `${user}\u0000${x.mechanism}`;
      pairs.set(k, (pairs.get(k) ?? 0) + 1);
    }
    const fail = (user: string, code: number, message: string) => {
      if (!errors.has(user)) errors.set(user, { code, message });
    };
    for (const x of [...deletions, ...upsertions]) {
      const user = x.name;
      if (user === '') fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      else if (scramMechanismOf(x.mechanism) === null)
        fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
      else if ((pairs.get(`${user}\u0000${x.mechanism}`) ?? 0) > 1)
        fail(user, ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
    }
    for (const u of upsertions) {
      const iterations = u.iterations;
      if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
        fail(
          u.name,
          ErrorCode.UNACCEPTABLE_CREDENTIAL,
          `Iterations must be in ${MIN_ITERATIONS}..${MAX_ITERATIONS}, got ${iterations}`,
        );
      } else if (u.salt.length === 0 || u.saltedPassword.length === 0) {
        fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt and salted password must not be empty');
      }
    }
    const existing = await node.credentials.list().catch(() => null);
    if (existing === null) {
      return {
        throttleTimeMs: 0,
        results: users.map((user) => ({
          user,
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          errorMessage: 'the metadata store is not available',
        })),
      };
    }
    for (const d of deletions) {
      const user = d.name;
      const m = scramMechanismOf(d.mechanism);
      if (m !== null && !existing.get(user)?.some((c) => c.mechanism === m)) {
        fail(user, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist');
      }
    }
    const results: Item<ResponseInput<typeof Api.AlterUserScramCredentials>['results']>[] = [];
    for (const user of users) {
      const bad = errors.get(user);
      if (bad) {
        results.push({ user, errorCode: bad.code, errorMessage: bad.message });
        continue;
      }
      try {
        for (const d of deletions.filter((x) => x.name === user)) {
          await node.credentials.remove(user, scramMechanismOf(d.mechanism) as ScramMechanism);
        }
        for (const u of upsertions.filter((x) => x.name === user)) {
          const m = scramMechanismOf(u.mechanism);
          if (m === null) continue;
          const c = credentialFromSalted(m, u.saltedPassword, u.salt, u.iterations);
          await node.credentials.upsert(user, m, c);
        }
        log.info('SCRAM credentials changed', { user, by: connection.principal });
        results.push({ user, errorCode: 0, errorMessage: null });
      } catch (e) {
        log.warn('changing SCRAM credentials failed', { user, error: e });
        results.push({ user, errorCode: errorOf(e).errorCode, errorMessage: 'the metadata store is not available' });
      }
    }
    return { throttleTimeMs: 0, results };
  },
});
