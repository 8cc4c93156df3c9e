/**
 * The network lab of the fault harness (test/helpers/netns.ts), as root: hosts in their own namespaces reach
 * each other and the root namespace over the bridge; nft rules cut a link both ways or one way and are
 * removed again; a lab left behind by a process that was SIGKILLed (namespaces, veths, bridge, tmpfs mount,
 * a process in a namespace) is removed by the next lab's start.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLab, type Lab, labLeftovers } from '../helpers/netns.js';

const root = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a process runs (a zombie nobody reaped yet does not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Whether a TCP connection from `lab host` (or the root namespace) to ip:port is accepted within 1.5 s. */
async function reaches(lab: Lab, from: string | null, ip: string, port: number): Promise<boolean> {
  if (from === null) {
    return new Promise((resolve) => {
      const s = connect({ host: ip, port, timeout: 1500 });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(false));
    });
  }
  const [cmd, args] = lab.command(from, [
    process.execPath,
    '-e',
    `const s=require('net').connect({host:${JSON.stringify(ip)},port:${port},timeout:1500});` +
      `s.on('connect',()=>process.exit(0));s.on('timeout',()=>process.exit(1));s.on('error',()=>process.exit(1));`,
  ]);
  const child = spawn(cmd, args, { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code === 0)));
}

/** A TCP server in `host`'s namespace on its address; resolves once it listens. */
async function serve(lab: Lab, host: string, port: number) {
  const [cmd, args] = lab.command(host, [
    process.execPath,
    '-e',
    `require('net').createServer((s)=>s.end()).listen(${port},${JSON.stringify(lab.ip(host))},()=>console.log('up'))`,
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return child;
}

describe('network lab', { skip: !root && 'needs root (ip netns, bridges, nft, mount)' }, () => {
  let lab: Lab | undefined;
  after(() => lab?.close());

  test('hosts reach each other and the root namespace; nft cuts both ways, one way, and heals', async () => {
    lab = await createLab(['a', 'b', 'c']);
    assert.match(lab.subnet, /^10\.\d+\.\d+\.0\/24$/);
    const server = await serve(lab, 'a', 7000);
    try {
      const a = lab.ip('a');
      assert.equal(await reaches(lab, null, a, 7000), true, 'root namespace → a');
      assert.equal(await reaches(lab, 'b', a, 7000), true, 'b → a');

      lab.block('a', [lab.ip('b')], 'both');
      assert.equal(await reaches(lab, 'b', a, 7000), false, 'b → a cut');
      assert.equal(await reaches(lab, 'c', a, 7000), true, 'c → a still works');
      assert.equal(await reaches(lab, null, a, 7000), true, 'clients in the root namespace still reach a');
      assert.deepEqual(lab.blocked(), { a: { peers: [lab.ip('b')], direction: 'both' } });

      // One way, inbound: nothing from b gets into a (b's SYN is dropped).
      lab.block('a', [lab.ip('b')], 'in');
      assert.equal(await reaches(lab, 'b', a, 7000), false, 'b → a: inbound dropped');
      // One way, outbound: b's SYN gets in, a's answer does not get out.
      lab.block('a', [lab.ip('b')], 'out');
      assert.equal(await reaches(lab, 'b', a, 7000), false, 'b → a: the answer is dropped');

      lab.unblock('a');
      assert.equal(await reaches(lab, 'b', a, 7000), true, 'healed');
      assert.deepEqual(lab.blocked(), {});
    } finally {
      server.kill('SIGKILL');
    }
    const id = lab.id;
    await lab.close();
    lab = undefined;
    assert.deepEqual(labLeftovers(id), [], 'close() leaves nothing behind');
  });

  test("a crashed run's lab (namespaces, links, a mount, a process inside) is removed when the next lab starts", async () => {
    // A child process builds a lab, starts a sleeper inside it and mounts a tmpfs, then is SIGKILLed.
    const script = `
      import { createLab } from ${JSON.stringify(join(import.meta.dirname, '..', 'helpers', 'netns.ts'))};
      import { spawn } from 'node:child_process';
      const lab = await createLab(['x', 'y']);
      const dir = '/tmp/kstream-lab-crash-' + process.pid;
      lab.mountTmpfs(dir, 1);
      lab.ownDir(dir);
      const [cmd, args] = lab.command('x', ['sleep', '300']);
      const sleeper = spawn(cmd, args, { stdio: 'ignore' });
      console.log(JSON.stringify({ id: lab.id, dir, sleeper: sleeper.pid }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0] as string);
      });
      child.once('exit', (code) => reject(new Error(`lab child exited ${code} before it was ready`)));
    });
    const crashed = JSON.parse(line) as { id: string; dir: string; sleeper: number };
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(labLeftovers(crashed.id).length > 0, 'the crashed lab is still there');
    assert.ok(readFileSync('/proc/self/mounts', 'utf8').includes(crashed.dir), 'its tmpfs is still mounted');

    lab = await createLab(['a']);
    assert.deepEqual(labLeftovers(crashed.id), [], 'the next lab removed the crashed one');
    assert.ok(!readFileSync('/proc/self/mounts', 'utf8').includes(crashed.dir), 'its tmpfs is unmounted');
    assert.ok(!existsSync(crashed.dir), 'its dir is removed');
    // The sleeper died with its parent (pdeathsig) or with its namespace's clean-up.
    for (let i = 0; i < 20 && running(crashed.sleeper); i++) await sleep(100);
    assert.ok(!running(crashed.sleeper), 'the process in the crashed namespace is gone');
  });
});
