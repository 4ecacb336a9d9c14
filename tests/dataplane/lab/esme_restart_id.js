// One ESME (node-smpp) for lab_restart_identity, driven line by line from
// stdin on ONE connection (it does not rebind): "send TEXT" -> submit_sm,
// "link" -> enquire_link, "quit" -> unbind and exit. One JSON line per
// happening:
//   {"ev":"bound","status":0}   {"ev":"resp","seq":S,"status":X,"text":T}
//   {"ev":"link_resp","status":0}   {"ev":"closed","error":E}   {"ev":"unbound"}
//   node esme_restart_id.js ADDR PORT SYSTEM_ID PASSWORD
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const readline = require('readline');

const [addr, port, id, password] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let bound = false, quitting = false, n = 0, error = null;
const queue = [];
const s = smpp.connect({ url: `smpp://${addr}:${port}`, auto_enquire_link_period: 0 });
s.on('error', (e) => { error = error || e.code || e.message; });
s.on('close', () => {
	say({ ev: 'closed', error });
	process.exit(quitting ? 0 : 1);
});
s.on('deliver_sm', (pdu) => s.send(pdu.response()));
s.on('enquire_link', (pdu) => s.send(pdu.response()));
s.bind_transceiver({ system_id: id, password }, (b) => {
	say({ ev: 'bound', status: b.command_status });
	bound = b.command_status === 0;
	drain();
});

function drain() {
	while (bound && queue.length) {
		const line = queue.shift();
		if (line === 'quit') {
			quitting = true;
			s.unbind((u) => { say({ ev: 'unbound', status: u.command_status }); s.close(); });
			return;
		}
		if (line === 'link') {
			s.enquire_link((r) => say({ ev: 'link_resp', status: r.command_status }));
			continue;
		}
		const text = line.replace(/^send /, '');
		const dst = `4477009${String(40000 + n++)}`;
		const pdu = new smpp.PDU('submit_sm', { source_addr: '447700900001', source_addr_ton: 1,
			source_addr_npi: 1, destination_addr: dst, dest_addr_ton: 1, dest_addr_npi: 1,
			short_message: text });
		s.send(pdu, (r) => say({ ev: 'resp', seq: pdu.sequence_number, status: r.command_status,
					 text, dst }));
	}
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
	queue.push(line);
	drain();
});
setTimeout(() => { say({ ev: 'timeout' }); process.exit(1); }, 110000);
