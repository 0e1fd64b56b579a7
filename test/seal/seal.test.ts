import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { hasCode } from '../../src/errors';
import { loadSealKeyring, readSealKey } from '../../src/seal/keyring';
import { checkSeal, sealValue } from '../../src/seal/seal';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-seal-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const context = { kind: 'promotion-plan', workflowId: 'promote-prod-abc', runId: 'run-1' };
const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a refusal');
};

describe('seal keys', () => {
  it('the default key is created once, 0600, and two workers starting together read the same one', () => {
    const file = path.join(dir, 'default', 'countersign-seal.key');
    const a = loadSealKeyring({ keyFile: file, previousKeyFiles: [], isDefault: true });
    const b = loadSealKeyring({ keyFile: file, previousKeyFiles: [], isDefault: true });
    assert.equal(a.current.id, b.current.id);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(file, 'utf8'), /^[0-9a-f]{64}\n$/);
  });

  it('a configured key file that is missing is an error, never replaced by a new key', () => {
    const file = path.join(dir, 'mounted', 'seal.key');
    const err = thrown(() => loadSealKeyring({ keyFile: file, previousKeyFiles: [], isDefault: false }));
    assert.ok(hasCode(err, 'SEAL_KEY_MISSING'), String(err));
    assert.match(err.message, /cannot read seal key .*mounted\/seal\.key: ENOENT/);
    assert.equal(fs.existsSync(file), false);
  });

  it('a file that is not 32 hex-written bytes is refused without quoting it', () => {
    const file = path.join(dir, 'bad.key');
    fs.writeFileSync(file, 'hunter2\n');
    const err = thrown(() => readSealKey(file));
    assert.ok(hasCode(err, 'SEAL_KEY_MISSING'));
    assert.ok(!err.message.includes('hunter2'));
  });
});

describe('seals', () => {
  const key = (name: string) => {
    const file = path.join(dir, `${name}.key`);
    if (!fs.existsSync(file)) fs.writeFileSync(file, `${Buffer.alloc(32, name.charCodeAt(0)).toString('hex')}\n`);
    return file;
  };
  const keyring = loadSealKeyring({ keyFile: key('a'), previousKeyFiles: [], isDefault: false });

  it('a sealed value checks; the seal covers every field, the kind, the workflow and the run', () => {
    const sealed = sealValue(keyring, context, { target: 'prod', approval: { required: 2 } });
    assert.deepEqual(checkSeal(keyring, context, sealed, 'plan'), sealed);
    const changed = { ...sealed, approval: { required: 0 } };
    assert.match(thrown(() => checkSeal(keyring, context, changed, 'plan')).message, /^SEAL_INVALID: the plan of promote-prod-abc does not match its seal/);
    for (const other of [{ ...context, kind: 'promotion-verification-report' }, { ...context, workflowId: 'promote-lax-abc' }, { ...context, runId: 'run-2' }]) {
      assert.ok(hasCode(thrown(() => checkSeal(keyring, other, sealed, 'plan')), 'SEAL_INVALID'), JSON.stringify(other));
    }
  });

  it('no seal, a malformed one, or one by a key this worker does not hold', () => {
    assert.match(thrown(() => checkSeal(keyring, context, { target: 'prod' }, 'plan')).message, /carries no worker seal/);
    assert.match(thrown(() => checkSeal(keyring, context, { target: 'prod', seal: 'v1.x' }, 'plan')).message, /malformed seal/);
    const stranger = loadSealKeyring({ keyFile: key('b'), previousKeyFiles: [], isDefault: false });
    const err = thrown(() => checkSeal(keyring, context, sealValue(stranger, context, { target: 'prod' }), 'plan'));
    assert.match(err.message, new RegExp(`sealed with seal key ${stranger.current.id}, which this worker does not hold \\(it holds ${keyring.current.id}\\): every worker must share seal.keyFile`));
  });

  it('a replaced key still checks what it sealed when listed in previousKeyFiles, and seals no more', () => {
    const sealedBefore = sealValue(keyring, context, { target: 'prod' });
    const rotated = loadSealKeyring({ keyFile: key('c'), previousKeyFiles: [key('a')], isDefault: false });
    assert.doesNotThrow(() => checkSeal(rotated, context, sealedBefore, 'plan'));
    assert.ok(sealValue(rotated, context, { target: 'prod' }).seal.startsWith(`v1.${rotated.current.id}.`));
  });
});

describe('the documented way to make a shared seal key', () => {
  it('`openssl rand -hex 32`, as docs/deploy.md prints it, makes a key the worker reads', () => {
    const command = 'openssl rand -hex 32';
    const deploy = fs.readFileSync(path.join(__dirname, '../../docs/deploy.md'), 'utf8');
    assert.ok(deploy.includes(`\`${command}\``), 'docs/deploy.md prints the command');
    const out = execSync(command, { encoding: 'utf8' });
    const file = path.join(dir, 'from-openssl.key');
    fs.writeFileSync(file, out, { mode: 0o600 });
    assert.match(readSealKey(file).id, /^[0-9a-f]{16}$/);
  });
});
