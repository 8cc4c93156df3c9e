/** The Python client scripts of test/interop/py (confluent-kafka-python, kafka-python), run by Debian's python3. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './broker.js';

const run = promisify(execFile);
export const PY = '/usr/bin/python3';

/** Run test/interop/py/`script` with `args`; its last stdout line, parsed as JSON. */
export async function pyScript(script: string, args: string[], timeoutMs = 180_000): Promise<Record<string, unknown>> {
  const { stdout } = await run(PY, [join(ROOT, 'test', 'interop', 'py', script), ...args], {
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
}
