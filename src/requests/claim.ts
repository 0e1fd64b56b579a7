/**
 * What a start request says it is for, read without trusting it: the workflow shows the target and
 * digest in `status` while the worker decides whether the request is authorised, and the nonce, by
 * which a caller tells whether it started the run or joined it. No I/O.
 */
export function readStartRequestClaim(request: unknown): { target: string; digest: string; nonce: string } {
  try {
    const text = (request as { statement?: unknown })?.statement;
    if (typeof text !== 'string' || text.length > 16 * 1024) return { target: '', digest: '', nonce: '' };
    const parsed = JSON.parse(text) as { target?: unknown; digest?: unknown; nonce?: unknown };
    const short = (v: unknown) => (typeof v === 'string' && v.length <= 128 ? v : '');
    return { target: short(parsed?.target), digest: short(parsed?.digest), nonce: short(parsed?.nonce) };
  } catch {
    return { target: '', digest: '', nonce: '' };
  }
}
