/**
 * `npm run faults` as docs/reliability.md prints it: the command is taken from the document and run
 * exactly as printed (toolchain check, then one small scenario on the real stack), and its table
 * must show every promotion PROMOTED, one platform signature each, nothing lost. Bad options are
 * refused before any stack starts, naming the option and its limit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TSX_LOADER } from '../../src/stack/worker-process';

const ROOT = path.resolve(__dirname, '../..');
const PRINTED = 'npm run faults -- --only temporal-restart-parked --promotions 2';

function runner(args: string[]) {
  return spawnSync(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, 'bench/faults/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('npm run faults', () => {
  it('runs as docs/reliability.md prints it, and its table shows each promotion PROMOTED with one signature', { timeout: 10 * 60_000 }, () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/reliability.md'), 'utf8');
    const printed = doc.split('\n').filter((line) => line.startsWith('npm run faults'));
    assert.deepEqual(printed, [PRINTED], 'docs/reliability.md prints the command this test runs');
    const result = spawnSync('bash', ['-c', printed[0]], { cwd: ROOT, encoding: 'utf8', timeout: 9 * 60_000 });
    assert.equal(result.status, 0, result.stderr.slice(-3000));
    const row = result.stdout.split('\n').find((line) => line.startsWith('| temporal-restart-parked |'));
    assert.ok(row, result.stdout);
    const cells = row.split('|').map((c) => c.trim()).slice(1, -1);
    // scenario, promotions, PROMOTED, FAILED cleanly, signatures per image, lost, duplicate, cosign, seconds
    assert.deepEqual(cells.slice(0, 8), ['temporal-restart-parked', '2', '2', '0', '1 (x2)', '0', '0', 'agrees (2)']);
  });

  it('refuses an unknown scenario and an out-of-range --promotions before starting anything', () => {
    const unknown = runner(['--only', 'no-such-fault']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /no fault scenario "no-such-fault"; one of: worker-kill, /);
    const many = runner(['--promotions', '51']);
    assert.equal(many.status, 2);
    assert.match(many.stderr, /--promotions: must be a whole number from 1 to 50 \(got "51"\)/);
  });

  it('answers --help with every scenario', () => {
    const help = runner(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--short .*--only .*--promotions .*--json/s);
    assert.match(help.stdout, /temporal-restart-mid-step, temporal-restart-parked, registry-down-30s-after-build/);
  });
});
