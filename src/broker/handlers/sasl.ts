/**
 * SaslHandshake (v0-1) and SaslAuthenticate (v0-2) on SASL_PLAINTEXT and SASL_SSL listeners, as Kafka's
 * broker answers them. Before a client is authenticated only ApiVersions, SaslHandshake and SaslAuthenticate
 * are served (router.ts closes the connection on anything else). After a v0 handshake the SASL tokens come as
 * bare size-prefixed frames (connection.ts hands them to `rawToken`); after v1, in SaslAuthenticate requests.
 * A failed login is answered SASL_AUTHENTICATION_FAILED after connection.failed.authentication.delay.ms
 * (default 100) and the connection closed. Tokens are never logged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode } from '../../protocol/errors.js';
import { Api } from '../../protocol/messages/index.js';
import type { Connection } from '../connection.js';
import type { BrokerContext } from '../context.js';
import { defineHandler } from '../router.js';
import { SaslFailure, type SaslMechanism, SaslServer } from '../sasl.js';

function failureDelayMs(node: BrokerContext): number {
  const n = Number(node.config.props['connection.failed.authentication.delay.ms'] ?? 100);
  return Number.isFinite(n) && n >= 0 ? n : 100;
}

/** connections.max.reauth.ms (KIP-368): 0, sessions never expire. */
function sessionLifetimeMs(node: BrokerContext): number {
  const n = Number(node.config.props['connections.max.reauth.ms'] ?? 0);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** One SASL token through the connection's exchange: the server's answer, or the failure it ends in. */
async function step(
  node: BrokerContext,
  connection: Connection,
  token: Buffer,
): Promise<{ challenge: Buffer; error: string | null; lifetimeMs: number }> {
  const session = connection.sasl as SaslServer;
  try {
    const r = await session.step(token);
    let lifetimeMs = 0;
    if (r.user !== null) {
      const principal = `User:${r.user}`;
      if (connection.reauthenticating && connection.principal !== principal) {
        throw new SaslFailure('Cannot change principals during re-authentication');
      }
      connection.sasl = null;
      connection.reauthenticating = false;
      connection.principal = principal;
      lifetimeMs = sessionLifetimeMs(node);
      connection.sessionExpiresAt = lifetimeMs > 0 ? Date.now() + lifetimeMs : 0;
      connection.authenticated = true;
      node.log.debug('SASL authentication succeeded', {
        remote: connection.remote,
        mechanism: session.mechanism,
        principal,
      });
    }
    return { challenge: r.challenge, error: null, lifetimeMs };
  } catch (e) {
    if (!(e instanceof SaslFailure)) throw e;
    connection.sasl = null;
    connection.authenticated = false;
    node.log.warn('SASL authentication failed', {
      remote: connection.remote,
      mechanism: session.mechanism,
      user: e.user,
      reason: e.message,
    });
    await sleep(failureDelayMs(node));
    connection.closeAfterReply();
    return { challenge: Buffer.alloc(0), error: e.message, lifetimeMs: 0 };
  }
}

export const saslHandshake = defineHandler(Api.SaslHandshake, {
  minVersion: 0,
  maxVersion: 1,
  handle(req, { node, header, connection }) {
    const enabled = connection.saslMechanisms;
    if (enabled === null || connection.sasl !== null || (connection.authenticated && header.apiVersion === 0)) {
      // Not a SASL listener, a handshake in the middle of an exchange, or a v0 re-authentication (KIP-368 needs
      // SaslAuthenticate: bare tokens cannot interleave with requests).
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: enabled ?? [] };
    }
    const mechanism = req.mechanism.toUpperCase() as SaslMechanism;
    if (!enabled.includes(mechanism)) {
      node.log.warn('SASL mechanism not enabled', { remote: connection.remote, mechanism: req.mechanism });
      connection.closeAfterReply();
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [...enabled] };
    }
    // A handshake once authenticated is a re-authentication (KIP-368): same principal, v1 only.
    connection.reauthenticating = connection.authenticated;
    connection.sasl = new SaslServer(mechanism, node.credentials, node.plainUsers);
    if (header.apiVersion === 0) {
      connection.rawSasl = async (token) => {
        const r = await step(node, connection, token);
        if (r.error !== null) return null;
        if (connection.sasl === null) connection.rawSasl = null;
        return r.challenge;
      };
    }
    return { errorCode: 0, mechanisms: [...enabled] };
  },
});

export const saslAuthenticate = defineHandler(Api.SaslAuthenticate, {
  minVersion: 0,
  maxVersion: 2,
  async handle(req, { node, connection }) {
    if (connection.sasl === null) {
      connection.closeAfterReply();
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: 'SaslAuthenticate without a SaslHandshake before it',
        authBytes: Buffer.alloc(0),
        sessionLifetimeMs: 0n,
      };
    }
    const r = await step(node, connection, req.authBytes);
    return {
      errorCode: r.error === null ? 0 : ErrorCode.SASL_AUTHENTICATION_FAILED,
      errorMessage: r.error,
      authBytes: r.challenge,
      sessionLifetimeMs: BigInt(r.lifetimeMs),
    };
  },
});
