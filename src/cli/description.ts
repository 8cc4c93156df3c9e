/**
 * Command descriptions are written hard-wrapped at the source's width (about 110 columns); oclif's help then
 * wraps each of those lines again at the terminal's width (80 when piped), which left every paragraph ragged:
 * a full line, then a stub of two words. Joined back into paragraphs, oclif wraps them evenly at any width.
 * Blank lines keep separating paragraphs, and indented lines (examples, JSON) stay lines of their own.
 */
export function unwrapDescription(text: string): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const prev = out[out.length - 1];
    const joins = prev !== undefined && prev.trim() !== '' && line.trim() !== '' && !/^\s/.test(prev);
    if (joins && !/^\s/.test(line)) out[out.length - 1] = `${prev} ${line}`;
    else out.push(line);
  }
  return out.join('\n');
}

/** Unwrap the description of every command class given (called once, where the commands are registered). */
export function unwrapDescriptions(commands: Iterable<{ description?: string | undefined }>): void {
  for (const c of commands) if (c.description) c.description = unwrapDescription(c.description);
}
