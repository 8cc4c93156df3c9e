#!/usr/bin/env node
// Makes sure the real Kafka peers the tests drive are installed (Debian packages). As root it installs what
// is missing; otherwise it fails with the exact command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const INSTALL =
  'apt-get install -y kcat etcd-server tmux nftables iproute2 openssl prometheus python3-confluent-kafka python3-kafka';

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function pyHas(mod) {
  return (
    existsSync('/usr/bin/python3') &&
    spawnSync('/usr/bin/python3', ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0
  );
}

// kafka-python's optional codecs (snappy, lz4, zstd) live in separate Debian packages.
const EXTRA = 'apt-get install -y python3-snappy python3-lz4 python3-zstandard';
const extraMissing = ['snappy', 'lz4', 'zstandard'].filter((m) => !pyHas(m));

const missing = [];
if (!has('kcat')) missing.push('kcat');
if (!has('etcd')) missing.push('etcd-server');
if (!has('tmux')) missing.push('tmux');
// The fault harness (test/fault) builds network namespaces (ip) and cuts links with nft rules inside them
// (both in /usr/sbin, which a non-root PATH may lack).
if (!has('nft') && !existsSync('/usr/sbin/nft')) missing.push('nftables');
if (!has('ip') && !existsSync('/usr/sbin/ip') && !existsSync('/sbin/ip')) missing.push('iproute2');
// TLS tests make their certificates with openssl.
if (!has('openssl')) missing.push('openssl');
if (!has('prometheus') || !has('promtool')) missing.push('prometheus');
if (!pyHas('confluent_kafka')) missing.push('python3-confluent-kafka');
if (!pyHas('kafka')) missing.push('python3-kafka');

if (missing.length > 0 || extraMissing.length > 0) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    console.error(
      `missing test peers (${[...missing, ...extraMissing.map((m) => `python3-${m}`)].join(', ')}). Install them with:\n` +
        `  apt-get update && ${INSTALL} && ${EXTRA}`,
    );
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const io = { stdio: ['ignore', 'inherit', 'inherit'], env };
  execFileSync('apt-get', ['update'], io);
  if (missing.length > 0) {
    console.error(`installing missing test peers: ${missing.join(', ')}`);
    execFileSync('sh', ['-c', INSTALL], io);
  }
  if (extraMissing.length > 0) execFileSync('sh', ['-c', EXTRA], io);
}
