import { isLoopback, startConsole, parseListen } from '../../console/start';
import { DEFAULT_CONSOLE_HOST, DEFAULT_CONSOLE_PORT } from '../../console/server';
import { EXIT, printJson, write, type Command } from '../command';
import fs from 'node:fs';
import { CountersignError } from '../../errors';
import { loadConsoleConfig } from '../../config-console';
import type { ConsoleAccess } from '../../console/auth';
import { configFile, connectClient, temporalUiFor } from '../context';

export const consoleCommand: Command = {
  name: 'console',
  summary: 'serve the approval console (what waits for approval, each evidence pack, passkey login) until stopped',
  usage: 'countersign console [--listen HOST:PORT] [--dev-loopback] [--config FILE] [--address HOST:PORT] [--namespace NS]',
  options: { listen: { type: 'string' }, 'dev-loopback': { type: 'boolean' } },
  optionHelp: {
    listen: `where to listen (default ${DEFAULT_CONSOLE_HOST}:${DEFAULT_CONSOLE_PORT}; port 0 picks a free one)`,
    'dev-loopback': 'no login, loopback only (what `dev up` runs)',
  },
  details:
    'The console reads Temporal (status queries, the runs\' own records) and the registry; it holds no key and approves nothing. ' +
    "Reading needs a passkey login by an approver in the roster of the worker's configuration (--config, $COUNTERSIGN_CONFIG or ./countersign.yaml), whose console.origin is the passkeys' relying party (docs/approvals.md, Passkeys). " +
    'With --dev-loopback it serves without login and only on loopback. ' +
    'It prints its URL (with --json: { "url": ... }) and serves until SIGINT or SIGTERM.',
  async run(args, io) {
    const listen = parseListen(args.values.listen as string | undefined);
    const devLoopback = args.values['dev-loopback'] === true;
    if (devLoopback && !isLoopback(listen.host)) {
      throw new CountersignError('BAD_INPUT', `--dev-loopback serves without login, so only on loopback; --listen ${listen.host} is not (drop --dev-loopback and configure console.origin for passkey login)`);
    }
    const file = configFile(args, io.env);
    // The dev console reads the configuration when there is one (for passkey decisions); a login console needs it.
    const config = devLoopback && !fs.existsSync(file) ? undefined : loadConsoleConfig(file);
    if (!devLoopback && !config?.console) {
      throw new CountersignError('BAD_CONFIG', `${file}: console.origin is required for passkey login (or run with --dev-loopback, loopback only, no login)`);
    }
    const access: ConsoleAccess = {
      login: !devLoopback,
      ...(config?.console ? { rp: config.console } : {}),
      passkeys: config?.passkeys ?? {},
    };
    const { client, close: closeClient } = await connectClient(args, io.env);
    const ui = temporalUiFor(args, io.env);
    // Each evidence page links to the run's history in the Temporal Web UI when its address is known.
    const server = await startConsole(client, listen, access, ui ? { temporalUi: { url: ui, namespace: client.options.namespace } } : {});
    if (args.values.json) printJson(io, { url: server.url });
    else write(io.stdout, `countersign console: ${server.url}${devLoopback ? ' (--dev-loopback: no login, loopback only)' : ` (passkey login; approvers open ${config!.console!.origin})`}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    await closeClient();
    return EXIT.ok;
  },
};
