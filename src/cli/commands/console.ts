import { startConsole, parseListen } from '../../console/start';
import { DEFAULT_CONSOLE_HOST, DEFAULT_CONSOLE_PORT } from '../../console/server';
import { EXIT, printJson, write, type Command } from '../command';
import { connectClient, temporalUiFor } from '../context';

export const consoleCommand: Command = {
  name: 'console',
  summary: 'serve the approval console (read-only: what waits for approval, and each evidence pack) until stopped',
  usage: 'countersign console [--listen HOST:PORT] [--address HOST:PORT] [--namespace NS]',
  options: { listen: { type: 'string' } },
  optionHelp: { listen: `where to listen (default ${DEFAULT_CONSOLE_HOST}:${DEFAULT_CONSOLE_PORT}; port 0 picks a free one)` },
  details:
    'The console reads Temporal (status queries, the runs\' own records) and the registry; it holds no key and approves nothing. ' +
    'It binds loopback by default: it has no login yet, so put it behind your own access control before listening anywhere else (docs/approvals.md, The approval console). ' +
    'It prints its URL (with --json: { "url": ... }) and serves until SIGINT or SIGTERM.',
  async run(args, io) {
    const listen = parseListen(args.values.listen as string | undefined);
    const { client, close: closeClient } = await connectClient(args, io.env);
    const ui = temporalUiFor(args, io.env);
    // Each evidence page links to the run's history in the Temporal Web UI when its address is known.
    const server = await startConsole(client, listen, ui ? { temporalUi: { url: ui, namespace: client.options.namespace } } : {});
    if (args.values.json) printJson(io, { url: server.url });
    else write(io.stdout, `countersign console: ${server.url}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await server.close();
    await closeClient();
    return EXIT.ok;
  },
};
