import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { hasCode } from '../../src/errors';
import { readPassphrase } from '../../src/keys/passphrase';

const ENV = 'COUNTERSIGN_TEST_PASSPHRASE_' + process.pid;

/** A PassThrough that claims to be a terminal and records raw-mode switches. */
function fakeTty(): PassThrough & { isTTY: boolean; isRaw: boolean; rawCalls: boolean[]; setRawMode(m: boolean): void } {
  const s = new PassThrough() as any;
  s.isTTY = true;
  s.isRaw = false;
  s.rawCalls = [];
  s.setRawMode = (m: boolean) => {
    s.rawCalls.push(m);
    s.isRaw = m;
  };
  return s;
}

function sink(): PassThrough & { text(): string } {
  const s = new PassThrough() as any;
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.text = () => Buffer.concat(chunks).toString('utf8');
  return s;
}

function withEnv(value: string | undefined, fn: () => Promise<void>): Promise<void> {
  const before = process.env[ENV];
  if (value === undefined) delete process.env[ENV];
  else process.env[ENV] = value;
  return fn().finally(() => {
    if (before === undefined) delete process.env[ENV];
    else process.env[ENV] = before;
  });
}

test('the env var wins when set, even when empty', async () => {
  await withEnv('from-env', async () => assert.equal(await readPassphrase({ envVar: ENV, input: fakeTty() }), 'from-env'));
  await withEnv('', async () => assert.equal(await readPassphrase({ envVar: ENV, input: fakeTty() }), ''));
});

test('no env var and no terminal -> KEY_PASSPHRASE_MISSING naming the variable', async () => {
  await withEnv(undefined, async () => {
    const notTty = new PassThrough();
    await assert.rejects(readPassphrase({ envVar: ENV, input: notTty }), (err: unknown) => {
      assert.ok(hasCode(err, 'KEY_PASSPHRASE_MISSING'));
      assert.ok((err as Error).message.includes(ENV));
      return true;
    });
  });
});

test('prompts on a terminal without echo, restoring the terminal mode', async () => {
  await withEnv(undefined, async () => {
    const input = fakeTty();
    const output = sink();
    const p = readPassphrase({ envVar: ENV, input, output, prompt: 'Key passphrase: ' });
    input.write('s3cr');
    input.write('et!x\u007f\r'); // backspace removes the "x"
    assert.equal(await p, 's3cret!');
    assert.equal(output.text(), 'Key passphrase: \n');
    assert.deepEqual(input.rawCalls, [true, false]);
    assert.equal(input.listenerCount('data'), 0);
  });
});

test('confirm: matching entries (typed ahead in one chunk) are accepted', async () => {
  await withEnv(undefined, async () => {
    const input = fakeTty();
    const output = sink();
    const p = readPassphrase({ envVar: ENV, input, output, confirm: true });
    input.write('pässwörd\rpässwörd\r');
    assert.equal(await p, 'pässwörd');
    assert.doesNotMatch(output.text(), /pässwörd/);
  });
});

test('confirm: mismatch -> BAD_INPUT without either entry in the message', async () => {
  await withEnv(undefined, async () => {
    const input = fakeTty();
    const p = readPassphrase({ envVar: ENV, input, output: sink(), confirm: true });
    input.write('first-secret\n');
    setImmediate(() => input.write('second-secret\n'));
    await assert.rejects(p, (err: unknown) => {
      assert.ok(hasCode(err, 'BAD_INPUT'));
      assert.doesNotMatch((err as Error).message, /first-secret|second-secret/);
      return true;
    });
    assert.equal(input.isRaw, false);
  });
});

test('empty entry is an empty passphrase; Ctrl-C and closed input are errors', async () => {
  await withEnv(undefined, async () => {
    const a = fakeTty();
    const pa = readPassphrase({ envVar: ENV, input: a, output: sink() });
    a.write('\r');
    assert.equal(await pa, '');

    const b = fakeTty();
    const pb = readPassphrase({ envVar: ENV, input: b, output: sink() });
    b.write('abc\u0003');
    await assert.rejects(pb, (err: unknown) => hasCode(err, 'KEY_PASSPHRASE_MISSING'));
    assert.equal(b.isRaw, false);

    const c = fakeTty();
    const pc = readPassphrase({ envVar: ENV, input: c, output: sink() });
    c.end('abc');
    await assert.rejects(pc, (err: unknown) => hasCode(err, 'KEY_PASSPHRASE_MISSING'));
  });
});
