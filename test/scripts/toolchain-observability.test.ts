/**
 * The toolchain commands docs/deploy.md, docs/operations.md and docs/kubernetes.md print for the
 * tools those tests use, run as printed. Each only checks an installed tool (about a second); on a
 * machine without the tool it would install it, so it is skipped there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { locateTool, type ToolName } from '../../src/stack/tools';

const ROOT = path.resolve(__dirname, '../..');

const PRINTED: Array<{ doc: string; tool: ToolName; label: string }> = [
  { doc: 'docs/deploy.md', tool: 'docker-compose', label: 'docker-compose' },
  { doc: 'docs/operations.md', tool: 'prometheus', label: 'prometheus' },
  { doc: 'docs/kubernetes.md', tool: 'kubernetes-validate', label: 'kubernetes-validate' },
];

for (const { doc, tool, label } of PRINTED) {
  test(`${doc}: the toolchain command for ${label}, as printed`, { skip: locateTool(tool) ? false : `${label} not installed` }, () => {
    const command = /`(bash scripts\/toolchain\.sh [a-z-]+)`/.exec(fs.readFileSync(path.join(ROOT, doc), 'utf8'))?.[1];
    assert.equal(command, `bash scripts/toolchain.sh ${label}`);
    const [bin, ...args] = command.split(' ');
    const r = spawnSync(bin, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${label}\\s+ok\\s`, 'm'));
  });
}

test('the toolchain names the new tools in its usage and refuses an unknown one', () => {
  const help = spawnSync('bash', ['scripts/toolchain.sh', '--help'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const name of ['prometheus', 'docker-compose', 'kubernetes-validate']) assert.match(help.stdout, new RegExp(`\\[${name}\\]`));
  const bad = spawnSync('bash', ['scripts/toolchain.sh', 'prometheos'], { cwd: ROOT, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown tool 'prometheos'.*prometheus, docker-compose, kubernetes-validate/);
});
