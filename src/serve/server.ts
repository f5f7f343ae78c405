// `lab serve`: the instructor's live view. Read-only pages and JSON for anyone who can
// reach it (loopback by default); actions need the token printed at start. Everything the
// page shows is set as text (textContent / SVG text nodes), never as HTML.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { execa } from 'execa';
import path from 'node:path';
import { repoRoot } from '../paths.js';
import { Observer, type LoopOptions } from './state.js';
import { PAGE, APP_JS } from './page.js';
import { INSTANCE_RE, runKey } from '../workshop/instance.js';

export interface ServeOptions extends LoopOptions { host: string; port: number; token?: string }

const SECURITY = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store', ...SECURITY });
  res.end(body);
}
const json = (res: ServerResponse, code: number, x: unknown) => send(res, code, 'application/json; charset=utf-8', JSON.stringify(x));

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) { text += chunk; if (text.length > 4096) throw new Error('body too large'); }
  try { const v = JSON.parse(text || '{}'); return v && typeof v === 'object' ? v : {}; } catch { return {}; }
}

export async function serve(o: ServeOptions): Promise<{ url: string; token: string; close: () => Promise<void> }> {
  const token = o.token ?? randomBytes(16).toString('hex');
  const observer = new Observer(o);
  const clients = new Set<ServerResponse>();
  observer.subscribe((s) => { const msg = `event: state\ndata: ${JSON.stringify(s)}\n\n`; for (const c of clients) c.write(msg); });
  const authorised = (req: IncomingMessage) => {
    const given = Buffer.from(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want);
  };
  const main = path.join(repoRoot, 'dist/cli/main.js');
  const cli = (args: string[]) => execa(process.execPath, [main, ...args], { reject: false, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (req.method === 'GET' && url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', PAGE);
      if (req.method === 'GET' && url.pathname === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', APP_JS);
      if (req.method === 'GET' && url.pathname === '/api/state') return json(res, 200, observer.snapshot);
      if (req.method === 'GET' && url.pathname === '/api/events') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', ...SECURITY });
        res.write(`retry: 2000\nevent: state\ndata: ${JSON.stringify(observer.snapshot)}\n\n`);
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }
      if (req.method === 'POST' && (url.pathname === '/api/reset' || url.pathname === '/api/hint')) {
        if (!authorised(req)) return json(res, 401, { error: 'this action needs the token `lab serve` printed at start (header Authorization: Bearer TOKEN)' });
        const b = await body(req);
        const exercise = String(b.exercise ?? '');
        const instance = b.instance === null || b.instance === undefined ? undefined : String(b.instance);
        if (!/^[a-z0-9-]{1,40}$/.test(exercise) || (instance !== undefined && !INSTANCE_RE.test(instance))) return json(res, 400, { error: 'give {"exercise": NAME, "instance": NAME or null}' });
        const verb = url.pathname === '/api/reset' ? 'reset' : 'hint';
        const r = await cli(['exercise', verb, exercise, ...(instance ? ['--instance', instance] : []), ...(verb === 'hint' ? ['--json'] : [])]);
        if (typeof b.lab === 'string') observer.invalidate(runKey(b.lab, instance));
        return json(res, r.exitCode === 0 ? 200 : 409, { ok: r.exitCode === 0, exitCode: r.exitCode, output: (r.stdout + r.stderr).trim() });
      }
      return json(res, 404, { error: 'not found; see GET /api/state, GET /api/events, POST /api/reset, POST /api/hint' });
    } catch (e) {
      return json(res, 500, { error: e instanceof Error ? e.message : String(e) });
    }
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(o.port, o.host, () => resolve()); });
  observer.start();
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}/`,
    token,
    close: async () => {
      observer.stop();
      for (const c of clients) c.end();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
