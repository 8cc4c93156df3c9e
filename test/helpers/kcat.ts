/** kcat as tests drive it. */
import { execFile } from 'node:child_process';

/** `lines` as records to partition `partition` of `topic` through `bootstrap` with `kcat -P`, acks as given. */
export async function kcatProduce(
  bootstrap: string,
  topic: string,
  partition: number,
  lines: string[],
  acks: string,
): Promise<void> {
  const child = execFile('kcat', ['-P', '-b', bootstrap, '-t', topic, '-p', String(partition), '-X', `acks=${acks}`]);
  const done = new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kcat -P exited ${code}: ${err}`))));
  });
  child.stdin?.end(`${lines.join('\n')}\n`);
  await done;
}
