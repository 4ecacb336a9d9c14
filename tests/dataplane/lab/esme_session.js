// One ESME (node-smpp) driven line by line from stdin, that rebinds when its
// connection goes away: "send TEXT" -> submit_sm, "quit" -> unbind and exit.
// It prints one JSON line per happening, each with the connection number
// (1, 2, ...) and the local TCP port:
//   {"ev":"bound","conn":1,"port":P,"status":0}
//   {"ev":"sent","conn":1,"seq":S,"text":T,"dst":D}
//   {"ev":"resp","conn":1,"seq":S,"status":X,"text":T}
//   {"ev":"closed","conn":1,"error":"ECONNRESET"|null,"unanswered":[S...]}
//   {"ev":"unbound","conn":2,"status":0}
//   node esme_session.js ADDR PORT SYSTEM_ID
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const readline = require('readline');

const [addr, port, id] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let conn = 0, s = null, bound = false, quitting = false, n = 0;
const queue = [];
let pending = new Map();

function open() {
	const c = ++conn;
	let lport = 0, error = null, closed = false;
	bound = false;
	pending = new Map();
	s = smpp.connect({ url: `smpp://${addr}:${port}` });
	const mine = s;
	mine.on('connect', () => { lport = mine.socket.localPort; });
	mine.on('error', (e) => { error = error || e.code || e.message; });
	mine.on('close', () => {
		if (closed)
			return;
		closed = true;
		say({ ev: 'closed', conn: c, port: lport, error, unanswered: [...pending.keys()] });
		if (quitting)
			process.exit(0);
		setTimeout(open, 100); // rebind at once, as an ESME does
	});
	mine.on('deliver_sm', (pdu) => mine.send(pdu.response()));
	mine.bind_transceiver({ system_id: id, password: 'pw' }, (b) => {
		lport = lport || mine.socket.localPort;
		say({ ev: 'bound', conn: c, port: lport, status: b.command_status });
		bound = b.command_status === 0;
		drain();
	});
}

function drain() {
	while (bound && queue.length) {
		const line = queue.shift();
		if (line === 'quit') {
			quitting = true;
			const c = conn;
			s.unbind((u) => {
				say({ ev: 'unbound', conn: c, status: u.command_status });
				s.close();
			});
			return;
		}
		const text = line.replace(/^send /, '');
		const dst = `4477009${String(30000 + n++)}`;
		const pdu = new smpp.PDU('submit_sm', { source_addr: '447700900001', source_addr_ton: 1,
			source_addr_npi: 1, destination_addr: dst, dest_addr_ton: 1, dest_addr_npi: 1,
			short_message: text });
		const c = conn;
		const p = pending;
		s.send(pdu, (r) => {
			p.delete(pdu.sequence_number);
			say({ ev: 'resp', conn: c, seq: pdu.sequence_number, status: r.command_status, text, dst });
		});
		p.set(pdu.sequence_number, text);
		say({ ev: 'sent', conn: c, seq: pdu.sequence_number, text, dst });
	}
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
	queue.push(line);
	drain();
});
setTimeout(() => { say({ ev: 'timeout' }); process.exit(1); }, 110000);
open();
