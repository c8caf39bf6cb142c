// `stickylb demo` (what `npm start` runs): a balancer on :8080 in front of two nodes of the
// Seaside-style demo app, started by the launcher, with the manager and server status.
import type { Command } from './command.js';
import { parse } from './args.js';
import { validateConfig } from '../config/validate.js';
import type { RawConfig } from '../config/schema.js';
import { serve } from './serve.js';

/** The command line that starts this same program (works from the build and from sources). */
export function selfCommand(...args: string[]): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1], ...args];
}

export function demoConfig(port: number, host: string, nodePorts: [number, number]): RawConfig {
  return {
    listen: [`${host}:${port}`],
    nodes: {
      command: selfCommand('demo-node'),
      list: [
        { route: 'first', port: nodePorts[0] },
        { route: 'second', port: nodePorts[1] },
      ],
      balancer: 'demo',
    },
    balancers: {
      demo: { stickysession: '_s|_s', nofailover: true, members: [] },
    },
    proxyPass: [
      { path: '/balancer-manager', to: '!' },
      { path: '/server-status', to: '!' },
      { path: '/metrics', to: '!' },
      { path: '/', to: 'balancer://demo/' },
    ],
    proxyPassReverse: [{ path: '/', to: 'balancer://demo/' }],
    manager: { path: '/balancer-manager' },
    serverStatus: { path: '/server-status' },
    metrics: { path: '/metrics' },
    proxyStatus: true,
    errorLog: { level: 'info', format: 'text' },
  };
}

export const demoCommand: Command = {
  summary: 'run the demo cluster',
  async run(args) {
    const { values } = parse(args, {
      port: { type: 'string', short: 'p' },
      host: { type: 'string' },
      'node-ports': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      console.log('usage: stickylb demo [--port 8080] [--host 127.0.0.1] [--node-ports 8081,8082]');
      return 0;
    }
    const port = Number(values.port ?? process.env.PORT ?? 8080);
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    const np = ((values['node-ports'] as string | undefined) ?? `${port + 1},${port + 2}`).split(',').map(Number) as [number, number];
    if (!Number.isInteger(port) || np.length !== 2 || np.some((p) => !Number.isInteger(p))) {
      console.error('stickylb demo: --port and --node-ports take port numbers (e.g. --port 8080 --node-ports 8081,8082)');
      return 2;
    }
    const model = validateConfig(demoConfig(port, host, np));
    return serve(model, {
      banner: (app) => {
        const a = app.addresses[0];
        const base = `http://${a.host === '127.0.0.1' || !a.host ? 'localhost' : a.host}:${a.port}`;
        return [
          '',
          `  The demo app:        ${base}/`,
          `  Balancer manager:    ${base}/balancer-manager`,
          `  Server status:       ${base}/server-status`,
          '',
          '  Open the app in two browsers (or one normal and one private window): each session',
          '  stays on the node that created it (the page says which). Disable a node in the',
          '  manager, or stop it, and watch the other node\'s sessions go on. Ctrl-C stops everything.',
          '',
        ];
      },
    });
  },
};
