// The embedding example's code (www/embed.html): a same-origin module, not an
// inline script, so the page runs under a strict CSP (`script-src 'self'`)
// like the sandbox serves it.
import init, { PbxClient } from '../pkg/agent_console.js';
await init();
const out = (x) => { document.querySelector('#out').textContent += JSON.stringify(x) + '\n'; };
const pbx = new PbxClient({
  baseUrl: '/dscom-api/public', clientId: 4,
  clientSecret: '0ruQRB2r0RtkGdRuVCoiIltF8MjESwghKP8xEwcr', username: 'api', password: '123456',
});
const run = (p) => p.then(out, (e) => out({ code: e.code, field: e.field, message: e.message }));
await run(pbx.login());
document.querySelector('#dial').onclick = () => run(pbx.dial({ extension: '8001', dest: '8002' }));
document.querySelector('#hangup').onclick = () => run(pbx.hangup({ extension: '8001' }));
window.pbx = pbx; // for the console and the tests
out('ready');
