/**
 * Poll `f` every 200 ms until it returns something truthy (errors count as "not yet"); throw after `ms`. A
 * deadline for a hang, not a speed assertion.
 */
export async function until<T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
