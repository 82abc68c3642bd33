import { Agent, request } from 'undici';
process.on('exit', (c) => console.log('exit', c, Date.now() - t0));
const keep = setInterval(() => {}, 1000);
const agent = new Agent();
const c = new AbortController();
const t0 = Date.now();
setTimeout(() => { console.log('aborting'); c.abort('timeout'); }, 50);
const p = request('http://10.255.255.1:81/', { dispatcher: agent, signal: c.signal });
p.then(() => console.log('ok'), (e) => console.log('abort:', Date.now() - t0, typeof e, e?.name, e?.code, String(e)));
