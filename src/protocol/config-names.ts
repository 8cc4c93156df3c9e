/**
 * Which Kafka config names hold secrets — one definition for the broker (DescribeConfigs marks them
 * sensitive and sends no value) and for clients that redact what they collect (`kstream debug bundle`).
 *
 * Kafka's secret-typed (PASSWORD) configs are named `…password` (ssl.keystore.password, ssl.key.password),
 * `…secret` (sasl.oauthbearer…client.secret), `…credentials…`, `sasl.jaas.config`, private keys as
 * `….key` (ssl.keystore.key, delegation.token.master.key / secret.key) and tokens as `….token` / `token`.
 * Names that merely contain "key" or "token" elsewhere (key.serializer, delegation.token.expiry.time.ms) are
 * not secrets.
 */

const SENSITIVE_NAME =
  /password|passwd|secret|credentials?(?:$|[._-])|sasl\.jaas|(?:^|[._-])(?:private[._-]?)?key$|(?:^|[._-])(?:api[._-]?key|token)$/i;

export function isSensitiveConfigName(name: string): boolean {
  return SENSITIVE_NAME.test(name);
}

export const REDACTED = '[REDACTED]';

/** `scheme://user:password@host` → `scheme://user:[REDACTED]@host` (etcd endpoints, listener URLs, …). */
export function redactUrlCredentials(text: string): string {
  return text.replace(
    /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]*)@/gi,
    (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`,
  );
}

/**
 * Text with secrets redacted: the value of every `name=value`, `name: value` or `"name": "value"` whose name
 * is sensitive (by the rule above), and passwords in URLs.
 */
export function redactConfigText(text: string): string {
  return redactUrlCredentials(text).replace(
    /("?)([A-Za-z_][\w.-]*)\1(\s*[=:]\s*)("[^"]*"|[^\s,{}[\]]+)/g,
    (m, q: string, name: string, sep: string, value: string) =>
      isSensitiveConfigName(name)
        ? `${q}${name}${q}${sep}${value.startsWith('"') ? `"${REDACTED}"` : REDACTED}` // JSON stays JSON
        : m,
  );
}
