// One ESME session driven line by line from stdin, for the control-plane lab
// test. It binds as ID and prints one JSON line per event on stdout:
//   {"ev":"bound","status":S,"t":MS}          bind_resp (status 0 = bound)
//   {"ev":"resp","n":N,"status":S,"t_send":MS,"t_resp":MS}  one per submit
//   {"ev":"closed","t":MS}                    the connection ended
// Commands: "send N TEXT" submits TEXT (N is the caller's tag), "quit"
// unbinds and exits. Times are epoch milliseconds (sub-ms resolution).
//   node esme_policy.js ADDR PORT ID
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const readline = require('readline');
const { performance } = require('perf_hooks');
const [addr, port, id] = process.argv.slice(2);
const now = () => performance.timeOrigin + performance.now();
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let closing = false;
const s = smpp.connect({ url: `smpp://${addr}:${port}`, auto_enquire_link_period: 0 });
s.on('error', (e) => { out({ ev: 'error', msg: String(e.code || e.message), t: now() }); });
s.on('close', () => { out({ ev: 'closed', t: now() }); process.exit(0); });
s.on('deliver_sm', (pdu) => s.send(pdu.response()));
s.bind_transceiver({ system_id: id, password: 'pw' }, (b) => {
	out({ ev: 'bound', status: b.command_status, t: now() });
	if (b.command_status !== 0) { // refused: nothing more to do on this session
		s.close();
		setTimeout(() => process.exit(0), 1000);
		return;
	}
	const rl = readline.createInterface({ input: process.stdin });
	rl.on('line', (line) => {
		if (line === 'quit') {
			closing = true;
			s.unbind(() => s.close());
			setTimeout(() => process.exit(0), 2000);
			return;
		}
		const m = /^send (\d+) (.*)$/.exec(line);
		if (!m || closing)
			return;
		const n = Number(m[1]);
		const pdu = new smpp.PDU('submit_sm', { source_addr: '447700900001', source_addr_ton: 1,
			source_addr_npi: 1, destination_addr: `4477009${String(30000 + n)}`,
			dest_addr_ton: 1, dest_addr_npi: 1, short_message: m[2] });
		const t0 = now();
		s.send(pdu, (r) => out({ ev: 'resp', n, status: r.command_status, t_send: t0, t_resp: now() }));
	});
	rl.on('close', () => { if (!closing) { closing = true; s.unbind(() => s.close()); } });
});
