// One ESME session that follows the test's steps: bind as ID, send the
// submits named on stdin one line at a time ("TEXT" -> submit_sm), print
// "resp SEQ STATUS" for each response, and unbind on "quit".
//   node esme_steps.js ADDR PORT ID
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const readline = require('readline');
const [addr, port, id] = process.argv.slice(2);
const s = smpp.connect({ url: `smpp://${addr}:${port}` });
s.on('error', (e) => { console.log(`error ${e.code || e.message}`); process.exit(1); });
s.on('deliver_sm', (pdu) => s.send(pdu.response()));
s.bind_transceiver({ system_id: id, password: 'pw' }, (b) => {
	console.log(`bound ${b.command_status}`);
	const rl = readline.createInterface({ input: process.stdin });
	let n = 0;
	rl.on('line', (line) => {
		if (line === 'quit') {
			s.unbind(() => { s.close(); process.exit(0); });
			return;
		}
		const pdu = new smpp.PDU('submit_sm', { source_addr: '447700900001', source_addr_ton: 1,
			source_addr_npi: 1, destination_addr: `4477009${String(20000 + n++)}`,
			dest_addr_ton: 1, dest_addr_npi: 1, short_message: line });
		s.send(pdu, (r) => console.log(`resp ${pdu.sequence_number} ${r.command_status}`));
	});
});
