import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CountersignError } from '../errors';
import { readFileTail } from './service';
import { TSX_LOADER } from './worker-process';

const CLI_ENTRY = path.resolve(__dirname, '../cli/main.ts');

/**
 * Starts `countersign console` as its own process on loopback (the dev stack's console has no
 * login: loopback is its access control), and resolves with its URL once it answers.
 */
export async function startConsoleProcess(opts: { address: string; port: number; logFile: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ pid: number; url: string }> {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const out = fs.openSync(opts.logFile, 'a');
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, 'console', '--dev-loopback', '--address', opts.address, '--listen', `127.0.0.1:${opts.port}`], {
    env: opts.env,
    stdio: ['ignore', out, out],
    detached: true,
  });
  fs.closeSync(out);
  child.unref();
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const answered = await fetch(`${url}/static/console.css`).then((r) => r.ok, () => false);
    if (answered) return { pid: child.pid!, url };
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) process.kill(child.pid!);
      throw new CountersignError('STACK_ERROR', `the approval console did not answer on ${url}:\n${readFileTail(opts.logFile, 4000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
