#!/usr/bin/env node
// Makes sure the real Kafka peers the tests drive are installed (Debian packages). As root it installs what
// is missing; otherwise it fails with the exact command to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const INSTALL = 'apt-get install -y kcat etcd-server tmux python3-confluent-kafka python3-kafka';

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function pyHas(mod) {
  return existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', `import ${mod}`], { stdio: 'ignore' }).status === 0;
}

const missing = [];
if (!has('kcat')) missing.push('kcat');
if (!has('etcd')) missing.push('etcd-server');
if (!has('tmux')) missing.push('tmux');
if (!pyHas('confluent_kafka')) missing.push('python3-confluent-kafka');
if (!pyHas('kafka')) missing.push('python3-kafka');

if (missing.length > 0) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    console.error(`missing test peers (${missing.join(', ')}). Install them with:\n  apt-get update && ${INSTALL}`);
    process.exit(1);
  }
  console.error(`installing missing test peers: ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  execFileSync('sh', ['-c', INSTALL], { stdio: ['ignore', 'inherit', 'inherit'], env });
}
