/**
 * The lock of a data dir: one process at a time (a broker, or `kstream debug check-log` while it reads and
 * repairs). The lock is the kernel's, so it dies with its process (kill -9 included) and a PID reused since
 * cannot hold it: a Unix socket bound in Linux's abstract namespace under a name made of the data dir's
 * device and inode. That namespace belongs to a network namespace, so the holder also records its PID, process
 * start time and boot id in `<dir>/.lock`: a live process matching all three (a broker in another network
 * namespace) holds the dir too; a PID alone never does. Elsewhere than Linux the `.lock` record is all there
 * is. See docs/architecture.md.
 */
import { readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

export const LOCK_FILE = '.lock';

/** The data dir is held by another process (`pid` when known). */
export class DataDirBusyError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number | null,
  ) {
    super(`data dir ${dir} is in use by another kstream process (pid ${pid ?? 'unknown'})`);
  }
}

export class DataDirLock {
  private constructor(
    private readonly file: string,
    private server: Server | null,
  ) {}

  /**
   * Take the lock of `dir` (which must exist), or throw DataDirBusyError. `onRecordFailure` hears that the
   * `.lock` record could not be written (a full disk): the lock holds without it.
   */
  static async acquire(dir: string, onRecordFailure: (e: unknown) => void = () => {}): Promise<DataDirLock> {
    const file = join(dir, LOCK_FILE);
    const owner = readLockOwner(file);
    let server: Server | null = null;
    if (process.platform === 'linux') {
      const st = statSync(dir);
      const s = createServer((c) => c.destroy());
      try {
        await new Promise<void>((res, rej) => {
          s.once('error', rej);
          s.listen({ path: `\0kstream-data-dir:${st.dev}:${st.ino}`, exclusive: true }, () => res());
        });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new DataDirBusyError(dir, readLockOwner(file)?.pid ?? null);
        }
        throw new Error(`cannot lock data dir ${dir}: ${(e as Error).message}`);
      }
      s.unref();
      server = s;
      if (owner && owner.pid !== process.pid && owner.startTime !== null && isSameProcess(owner)) {
        s.close();
        throw new DataDirBusyError(dir, owner.pid);
      }
    } else if (
      owner &&
      owner.pid !== process.pid &&
      processAlive(owner.pid) &&
      (owner.startTime === null || isSameProcess(owner))
    ) {
      throw new DataDirBusyError(dir, owner.pid);
    }
    const self = ownProcessIdentity();
    try {
      writeFileSync(file, `${process.pid}\nstart_time=${self.startTime ?? ''}\nboot_id=${self.bootId ?? ''}\n`);
    } catch (e) {
      onRecordFailure(e);
    }
    return new DataDirLock(file, server);
  }

  /** Give the lock back (idempotent). */
  release(): void {
    try {
      if (readLockOwner(this.file)?.pid === process.pid) unlinkSync(this.file);
    } catch {
      // already gone
    }
    this.server?.close();
    this.server = null;
  }
}

interface LockOwner {
  pid: number;
  startTime: string | null;
  bootId: string | null;
}

/** The owner recorded in `.lock` (a PID line, then `start_time=` and `boot_id=` lines), or null. */
function readLockOwner(file: string): LockOwner | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const [first = '', ...rest] = text.split('\n');
  const pid = Number(first.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const field = (k: string) =>
    rest
      .find((l) => l.startsWith(`${k}=`))
      ?.slice(k.length + 1)
      .trim() || null;
  return { pid, startTime: field('start_time'), bootId: field('boot_id') };
}

/** When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22), or null. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function ownProcessIdentity(): { startTime: string | null; bootId: string | null } {
  let bootId: string | null = null;
  try {
    bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // not Linux
  }
  return { startTime: processStartTime(process.pid), bootId };
}

/** Whether the process recorded in `.lock` is still the very one that wrote it (not a PID reused since). */
function isSameProcess(owner: LockOwner): boolean {
  const self = ownProcessIdentity();
  return owner.startTime !== null && processStartTime(owner.pid) === owner.startTime && owner.bootId === self.bootId;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
