/**
 * SCRAM users over the Kafka API (DescribeUserScramCredentials / AlterUserScramCredentials, KIP-554), so
 * `kstream user` works on Kafka too. The password is salted and hashed here; only the salted password goes
 * to the broker, which keeps keys derived from it.
 */
import { randomBytes } from 'node:crypto';
import type { Admin } from '../client/index.js';
import { ErrorCode, errorInfo } from '../protocol/errors.js';
import { Api, type Item, type RequestInput } from '../protocol/messages/index.js';
import {
  SCRAM_MECHANISM_ID,
  SCRAM_MECHANISMS,
  type ScramMechanism,
  saltedPassword,
  scramMechanismOf,
} from '../protocol/scram.js';

export const USER_ITERATIONS = 8192;

export interface UserRow {
  name: string;
  mechanisms: string;
}

export interface UserStatusRow {
  name: string;
  ok: boolean;
  status: string;
}

async function controller(admin: Admin): Promise<number> {
  await admin.connect();
  return admin.cluster.controller();
}

function status(user: string, code: number, message: string | null): UserStatusRow {
  return {
    name: user,
    ok: code === 0,
    status: code === 0 ? 'OK' : `${errorInfo(code).name}${message ? `: ${message}` : ''}`,
  };
}

export async function listUsers(admin: Admin): Promise<UserRow[]> {
  const res = await admin.cluster.request(await controller(admin), Api.DescribeUserScramCredentials, {
    users: null,
  });
  if (res.errorCode !== 0) throw new Error(`${errorInfo(res.errorCode).name}: ${res.errorMessage ?? ''}`);
  return res.results
    .filter((r) => r.errorCode === 0)
    .map((r) => ({
      name: r.user,
      mechanisms: r.credentialInfos
        .map((c) => `${scramMechanismOf(c.mechanism) ?? c.mechanism} (${c.iterations} iterations)`)
        .join(', '),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Create or replace a user's credentials for `mechanisms` (both when omitted). */
export async function setUserPassword(
  admin: Admin,
  name: string,
  password: string,
  mechanisms: readonly ScramMechanism[] = SCRAM_MECHANISMS,
): Promise<UserStatusRow> {
  const upsertions: Item<RequestInput<typeof Api.AlterUserScramCredentials>['upsertions']>[] = [];
  for (const m of mechanisms) {
    const salt = randomBytes(32);
    upsertions.push({
      name,
      mechanism: SCRAM_MECHANISM_ID[m],
      iterations: USER_ITERATIONS,
      salt,
      saltedPassword: await saltedPassword(m, password, salt, USER_ITERATIONS),
    });
  }
  const res = await admin.cluster.request(await controller(admin), Api.AlterUserScramCredentials, {
    deletions: [],
    upsertions,
  });
  const r = res.results[0];
  return status(name, r?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, r?.errorMessage ?? null);
}

export async function userExists(admin: Admin, name: string): Promise<boolean> {
  const res = await admin.cluster.request(await controller(admin), Api.DescribeUserScramCredentials, {
    users: [{ name }],
  });
  return res.results[0]?.errorCode === 0;
}

/** Delete every SCRAM credential of each user. */
export async function deleteUsers(admin: Admin, names: readonly string[]): Promise<UserStatusRow[]> {
  const id = await controller(admin);
  const described = await admin.cluster.request(id, Api.DescribeUserScramCredentials, {
    users: names.map((name) => ({ name })),
  });
  const rows: UserStatusRow[] = [];
  const deletions: Item<RequestInput<typeof Api.AlterUserScramCredentials>['deletions']>[] = [];
  for (const r of described.results) {
    if (r.errorCode !== 0) rows.push(status(r.user, r.errorCode, r.errorMessage));
    else for (const c of r.credentialInfos) deletions.push({ name: r.user, mechanism: c.mechanism });
  }
  if (deletions.length > 0) {
    const res = await admin.cluster.request(id, Api.AlterUserScramCredentials, { deletions, upsertions: [] });
    for (const r of res.results) {
      rows.push(status(r.user, r.errorCode, r.errorMessage));
    }
  }
  const order = new Map(names.map((n, i) => [n, i]));
  return rows.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
}
