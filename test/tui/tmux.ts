/**
 * A real terminal for end-to-end tests of `kstream top`: a detached tmux session on its own server socket
 * (so tests never touch a user's tmux), keys via send-keys, the screen via capture-pane. `kill()` removes
 * the whole server; call it in `after`, it is safe to call twice.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/broker.js';

export interface Terminal {
  /** The visible screen as plain text. */
  screen(): string;
  /** tmux key names ('Enter', 'Escape', 'Down') or literal text. */
  keys(...keys: string[]): void;
  /** Resizes the window (the program gets SIGWINCH). */
  resize(width: number, height: number): void;
  /** Waits until `check(screen)` is truthy; throws with the last screen after `ms`. */
  waitFor<T>(what: string, check: (screen: string) => T | null | undefined | false, ms?: number): Promise<T>;
  kill(): void;
}

export function startTerminal(command: string, opts: { width?: number; height?: number } = {}): Terminal {
  const socket = `kstream-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  tmux(
    'new-session',
    '-d',
    '-s',
    'top',
    '-x',
    String(opts.width ?? 160),
    '-y',
    String(opts.height ?? 50),
    '-c',
    ROOT,
    command,
  );
  let killed = false;
  const screen = () => tmux('capture-pane', '-p', '-t', 'top');
  return {
    screen,
    keys(...keys) {
      // A leading '-' would be read as a flag of send-keys: such text goes literally.
      for (const k of keys) tmux('send-keys', '-t', 'top', ...(k.startsWith('-') ? ['-l', '--', k] : [k]));
    },
    resize(width, height) {
      tmux('resize-window', '-t', 'top', '-x', String(width), '-y', String(height));
    },
    async waitFor(what, check, ms = 30_000) {
      const end = Date.now() + ms;
      let last = '';
      for (;;) {
        try {
          last = screen();
          const v = check(last);
          if (v) return v;
        } catch (e) {
          last = `(capture failed: ${(e as Error).message})\n${last}`;
        }
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${last}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    kill() {
      if (killed) return;
      killed = true;
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
      // tmux leaves its socket file behind: remove ours.
      rmSync(join(process.env.TMUX_TMPDIR ?? tmpdir(), `tmux-${userInfo().uid}`, socket), { force: true });
    },
  };
}

/** Partition rows of the partitions view: `P LEADER REPLICAS ISR [✗missing…] STATUS …`. */
export interface ScreenPartition {
  partition: number;
  leader: number | null;
  replicas: number[];
  isr: number[];
  missing: number[];
  status: string;
}

export function partitionRows(screen: string): ScreenPartition[] {
  const out: ScreenPartition[] = [];
  for (const line of screen.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+|none)\s+([\d,]+)\s+([\d,]+|-)((?:\s+✗\d+)*)\s+(ok|UNDER-REP|OFFLINE)\b/.exec(line);
    if (!m) continue;
    out.push({
      partition: Number(m[1]),
      leader: m[2] === 'none' ? null : Number(m[2]),
      replicas: m[3]!.split(',').map(Number),
      isr: m[4] === '-' ? [] : m[4]!.split(',').map(Number),
      missing: [...m[5]!.matchAll(/✗(\d+)/g)].map((x) => Number(x[1])),
      status: m[6]!,
    });
  }
  return out;
}

/** Lines of the event log (`HH:MM:SS  text`) on a screen, oldest first. */
export function eventLines(screen: string): string[] {
  return screen
    .split('\n')
    .filter((l) => /^\d\d:\d\d:\d\d {2}\S/.test(l))
    .map((l) => l.slice(10));
}
