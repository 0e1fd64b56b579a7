/**
 * Serialises the read-modify-write of one manifest inside this process. A registry has no
 * conditional write, so two appends racing in one worker would each write what they read plus
 * their own layer, and one would be lost; in turn they cannot race. Writers in other processes
 * are caught after the fact (src/cosign/signature-writes.ts reads back what it wrote).
 */
const tails = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier call with the same key has settled; calls with other keys run freely. */
export async function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (tails.get(key) ?? Promise.resolve()).then(fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, tail);
  try {
    return await run;
  } finally {
    if (tails.get(key) === tail) tails.delete(key);
  }
}

/** The key for one manifest: registry, repository and tag. */
export function manifestKey(location: string, repository: string, tag: string): string {
  return `${location}/${repository}:${tag}`;
}
