/** The worker's staging area: where it is, private modes, and removal. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import { ensurePrivateDir, removeStaged, runStagingDir, stagingRoot, writePrivate } from '../../src/helm/staging';
import { tempDir } from './helpers';

test('the staging root is the worker\'s: COUNTERSIGN_STAGING_DIR, else $COUNTERSIGN_HOME/staging, else ~/.countersign/staging', () => {
  assert.equal(stagingRoot({ COUNTERSIGN_STAGING_DIR: '/srv/stage', COUNTERSIGN_HOME: '/srv/home' }), '/srv/stage');
  assert.equal(stagingRoot({ COUNTERSIGN_HOME: '/srv/home' }), '/srv/home/staging');
  assert.equal(stagingRoot({}), path.join(os.homedir(), '.countersign', 'staging'));
});

test('a run directory is named by the run id, which cannot climb out of the root', () => {
  assert.equal(runStagingDir('/srv/stage', '01a214ef-f063-7037-a7fb-61ebec966ad1'), '/srv/stage/01a214ef-f063-7037-a7fb-61ebec966ad1');
  for (const bad of ['../../etc', '', 'a/b', '..']) assert.throws(() => runStagingDir('/srv/stage', bad), (e) => hasCode(e, 'BAD_INPUT'), bad);
});

test('directories are 0700 and files 0600, even where a wider one was there before; removal lists what went', async () => {
  const root = path.join(await tempDir(), 'staging');
  await fs.mkdir(root, { mode: 0o755 });
  await fs.chmod(root, 0o755);
  const dir = runStagingDir(root, '01a214ef-f063-7037-a7fb-61ebec966ad1');
  await ensurePrivateDir(root, dir);
  assert.equal((await fs.stat(root)).mode & 0o777, 0o700);
  assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
  const file = path.join(dir, 'demo-1.2.3.tgz');
  await fs.writeFile(file, 'old', { mode: 0o644 });
  await fs.chmod(file, 0o644);
  await writePrivate(file, 'new');
  assert.equal((await fs.stat(file)).mode & 0o777, 0o600, 'a retry replaces the file rather than writing through its mode');
  assert.equal(await fs.readFile(file, 'utf8'), 'new');
  await writePrivate(`${file}.prov`, 'signed');
  assert.deepEqual(await removeStaged(dir), ['demo-1.2.3.tgz', 'demo-1.2.3.tgz.prov']);
  await assert.rejects(fs.stat(dir), /ENOENT/);
  assert.deepEqual(await removeStaged(dir), [], 'removing again is not an error');
});
