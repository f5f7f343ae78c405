// `lab serve [--host H] [--port P]`: the instructor's live view (src/serve/).
import { badInput } from '../../errors.js';
import { requireRoot } from '../host.js';

export async function serveCmd(o: { host: string; port: string; interval: string; verifyEvery: string }): Promise<number> {
  requireRoot('lab serve (it observes the labs\' namespaces)');
  const port = Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw badInput(`--port must be 0..65535, got "${o.port}"`);
  const interval = Number(o.interval), verifyEvery = Number(o.verifyEvery);
  if (!(interval >= 0.2)) throw badInput(`--interval must be at least 0.2 seconds, got "${o.interval}"`);
  if (!(verifyEvery >= 1)) throw badInput(`--verify-every must be at least 1 second, got "${o.verifyEvery}"`);
  const { serve } = await import('../../serve/server.js');
  const s = await serve({ host: o.host, port, intervalMs: interval * 1000, verifyEveryMs: verifyEvery * 1000, parallel: 4, token: process.env.FABRIC_LAB_SERVE_TOKEN || undefined }).catch((e: NodeJS.ErrnoException) => {
    throw badInput(`cannot listen on ${o.host}:${port}: ${e.code === 'EADDRINUSE' ? 'the port is in use (try --port)' : e.message}`);
  });
  process.stderr.write(`lab serve: ${s.url}\n  actions (reset, hint) need the token: ${s.token}\n  JSON: ${s.url}api/state, live: ${s.url}api/events; Ctrl-C to stop\n`);
  if (!['127.0.0.1', '::1', 'localhost'].includes(o.host)) process.stderr.write(`  note: listening on ${o.host}, reachable from other hosts; the page is read-only without the token\n`);
  await new Promise<void>((resolve) => { process.once('SIGINT', resolve); process.once('SIGTERM', resolve); });
  await s.close();
  return 0;
}
