/**
 * Certificates for TLS tests, made by the test with openssl in a temp dir (no key is ever committed): a CA, and
 * certificates it signs for a server (SAN 127.0.0.1 and localhost) or a client (its subject is the principal).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Ca {
  name: string;
  /** CA certificate (PEM). */
  cert: string;
  key: string;
}

export interface Cert {
  cert: string;
  key: string;
  /** key + certificate in one PEM file (ssl.keystore.location). */
  pem: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeCa(dir: string, name: string): Ca {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  openssl(
    ['req', '-x509', '-new', '-key', key, '-sha256', '-days', '2', '-subj', `/O=kstream test/CN=${name}`, '-out', cert],
    dir,
  );
  return { name, cert, key };
}

/**
 * A certificate signed by `ca`; `subject` as openssl writes it (`/C=…/O=…/CN=…`). `server`: for a server
 * (SAN 127.0.0.1 and localhost); `'both'`: also usable as a client certificate (a broker connecting to another
 * broker that asks for one, as brokers' certificates are).
 */
export function makeCert(dir: string, ca: Ca, name: string, subject: string, server: boolean | 'both'): Cert {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  // PKCS#8, the form Kafka's PEM keystore reads.
  openssl(['pkcs8', '-topk8', '-nocrypt', '-in', key, '-out', `${key}.p8`], dir);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr], dir);
  writeFileSync(
    ext,
    server === 'both'
      ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n'
      : server
        ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'
        : 'extendedKeyUsage=clientAuth\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-days',
      '2',
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ],
    dir,
  );
  const pem = join(dir, `${name}.pem`);
  writeFileSync(pem, readFileSync(`${key}.p8`, 'utf8') + readFileSync(cert, 'utf8'));
  return { cert, key: `${key}.p8`, pem };
}
