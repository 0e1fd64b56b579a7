/** The one poll loop: unanswered status queries (STACK_ERROR) are waited through, anything else ends the wait. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pollTolerantly } from '../../src/client/tolerant-poll';
import { CountersignError, hasCode } from '../../src/errors';

describe('pollTolerantly', () => {
  it('reads until settle answers, reporting each status read', async () => {
    let n = 0;
    const seen: number[] = [];
    const out = await pollTolerantly(async () => ++n, (s) => (s === 3 ? `done at ${s}` : undefined), { pollMs: 1, onUpdate: (s) => seen.push(s) });
    assert.equal(out, 'done at 3');
    assert.deepEqual(seen, [1, 2, 3]);
  });

  it('counts unanswered queries as waiting', async () => {
    let n = 0;
    const read = async () => {
      n += 1;
      if (n <= 2) throw new CountersignError('STACK_ERROR', 'no worker answered the status query');
      return n;
    };
    assert.equal(await pollTolerantly(read, (s) => s, { pollMs: 1 }), 3);
  });

  it('gives up on a silence longer than the limit, and at once on any other error', async () => {
    const silent = async (): Promise<number> => {
      throw new CountersignError('STACK_ERROR', 'no worker answered the status query');
    };
    await assert.rejects(pollTolerantly(silent, (s) => s, { pollMs: 1, unansweredLimitMs: 0 }), (err) => hasCode(err, 'STACK_ERROR'));
    let reads = 0;
    const unknown = async (): Promise<number> => {
      reads += 1;
      throw new CountersignError('UNKNOWN_PROMOTION', 'no promotion with id "x"');
    };
    await assert.rejects(pollTolerantly(unknown, (s) => s, { pollMs: 1 }), (err) => hasCode(err, 'UNKNOWN_PROMOTION'));
    assert.equal(reads, 1);
  });
});
