// `stickylb demo-node`: one node of the Seaside-style demo app. Every node is started the same way;
// only PORT and STICKYLB_ROUTE (or --port and --route) differ.
import type { Command } from './command.js';

const HELP = `usage: stickylb demo-node [--port PORT] [--route ROUTE] [--host HOST]

One node of the Seaside-style demo app (a counter and a multi-step form whose state
lives only in this process). Session keys end in .ROUTE, so a balancer with
stickysession=_s|_s sends every request of a session back to this node.

  --port, -p PORT    port to listen on (default: $PORT, else 8081; 0 picks a free port)
  --route, -r ROUTE  this node's route (default: $STICKYLB_ROUTE); [A-Za-z0-9_-], must
                     match route= of its balancer member
  --host HOST        address to listen on (default: $HOST, else 127.0.0.1)

Live sessions: GET /.well-known/stickylb/sessions -> {"route":"first","sessions":N}`;

function parsePort(text: string, from: string): number | string {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) return `${from} must be a port number from 0 to 65535, got ${JSON.stringify(text)}`;
  return Number(text);
}

export const demoNodeCommand: Command = {
  summary: 'one node of the Seaside-style demo app',
  async run(args: string[]): Promise<number> {
    const { parse, UsageError } = await import('./args.js');
    let values: { port?: string; route?: string; host?: string; help?: boolean };
    try {
      const parsed = parse(args, {
        port: { type: 'string', short: 'p' },
        route: { type: 'string', short: 'r' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      });
      if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
      values = parsed.values as typeof values;
    } catch (e) {
      console.error(`stickylb demo-node: ${(e as Error).message}\n\n${HELP}`);
      return 2;
    }
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const port = parsePort(values.port ?? process.env.PORT ?? '8081', values.port !== undefined ? '--port' : 'PORT');
    if (typeof port === 'string') {
      console.error(`stickylb demo-node: ${port}`);
      return 2;
    }

    const { startDemoNode } = await import('../demo/index.js');
    let node: Awaited<ReturnType<typeof startDemoNode>>;
    try {
      node = await startDemoNode({ port, route: values.route, host: values.host ?? (process.env.HOST || '127.0.0.1') });
    } catch (e) {
      const err = e as Error & { code?: string };
      console.error(`stickylb demo-node: ${err.message}`);
      return err.code?.startsWith('ERR_STICKYLB_') ? 2 : 1;
    }
    console.log(`demo node route=${node.route} listening on ${node.url} pid=${process.pid}`);

    return new Promise<number>((resolve) => {
      const stop = () => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        node.close().then(() => resolve(0));
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
  },
};
