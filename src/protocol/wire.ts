/**
 * Request/response framing: the 4-byte size prefix and the header versions.
 *
 * Request header v1: api_key int16, api_version int16, correlation_id int32, client_id nullable string.
 * Request header v2 (flexible request versions): v1 + tagged fields. client_id stays a non-compact string.
 * Response header v0: correlation_id. v1 (flexible): + tagged fields — except ApiVersions, always v0.
 */
import { Reader } from './codec/reader.js';
import { compile, inVersions, type Struct } from './codec/schema.js';
import { Writer } from './codec/writer.js';
import { API_BY_KEY, ApiKey } from './messages/index.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Whether (apiKey, version) uses flexible encoding; false for keys/versions the codec does not know. */
export function isFlexible(apiKey: number, version: number): boolean {
  const spec = API_BY_KEY.get(apiKey);
  if (!spec || !inVersions(spec.request.validVersions, version)) return false;
  return inVersions(spec.request.flexibleVersions, version);
}

export function responseHeaderVersion(apiKey: number, version: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(apiKey, version) ? 1 : 0;
}

function skipTaggedFields(r: Reader): void {
  const n = r.uvarint();
  for (let i = 0; i < n && !r.bad; i++) {
    r.uvarint();
    r.skip(r.uvarint());
  }
}

/** Decode a request header from a frame body (without the size prefix). */
export function decodeRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const n = r.int16();
  const clientId = n < 0 ? null : r.utf8(n);
  if (isFlexible(apiKey, apiVersion)) skipTaggedFields(r);
  return { apiKey, apiVersion, correlationId, clientId };
}

function frame(head: Writer, body: Writer): Buffer[] {
  const bodyChunks = body.chunks();
  const headBytes = head.finish();
  const size = headBytes.length + body.length;
  const prefix = Buffer.allocUnsafe(4 + headBytes.length);
  prefix.writeInt32BE(size, 0);
  headBytes.copy(prefix, 4);
  return [prefix, ...bodyChunks];
}

/** Encode a full request frame (size prefix included) as pieces for a vectored write. */
export function encodeRequest(header: RequestHeader, body: Struct): Buffer[] {
  const spec = API_BY_KEY.get(header.apiKey);
  if (!spec) throw new Error(`unknown api key ${header.apiKey}`);
  const codec = compile(spec.request, header.apiVersion);
  const head = new Writer(64).int16(header.apiKey).int16(header.apiVersion).int32(header.correlationId);
  if (header.clientId === null) head.int16(-1);
  else head.string(header.clientId);
  if (codec.flexible) head.uvarint(0);
  const w = new Writer(256);
  codec.encode(w, body);
  return frame(head, w);
}

/** Decode a request body after its header. Returns null (and sets r.bad) when malformed. */
export function decodeRequestBody(header: RequestHeader, r: Reader): Struct | null {
  const spec = API_BY_KEY.get(header.apiKey);
  if (!spec) return null;
  const body = compile(spec.request, header.apiVersion).decode(r);
  return r.bad ? null : body;
}

/** Encode a full response frame (size prefix included). */
export function encodeResponse(apiKey: number, apiVersion: number, correlationId: number, body: Struct): Buffer[] {
  const spec = API_BY_KEY.get(apiKey);
  if (!spec) throw new Error(`unknown api key ${apiKey}`);
  const codec = compile(spec.response, apiVersion);
  const head = new Writer(16).int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) head.uvarint(0);
  const w = new Writer(256);
  codec.encode(w, body);
  return frame(head, w);
}

/** Decode a response frame body (without the size prefix): header then body. */
export function decodeResponse(
  apiKey: number,
  apiVersion: number,
  buf: Buffer,
): { correlationId: number; body: Struct; error?: string } {
  const spec = API_BY_KEY.get(apiKey);
  if (!spec) throw new Error(`unknown api key ${apiKey}`);
  const r = new Reader(buf);
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, apiVersion) === 1) skipTaggedFields(r);
  const body = compile(spec.response, apiVersion).decode(r);
  return r.bad ? { correlationId, body, error: r.reason } : { correlationId, body };
}
