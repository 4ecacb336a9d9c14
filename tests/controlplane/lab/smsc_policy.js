// Lab SMSC for the control-plane lab test (node-smpp): accepts every bind,
// answers every submit_sm with a message_id and prints one line per submit
// as it arrives (system_id TAB destination TAB text), so the test can see
// what got through while it runs.
//   node smsc_policy.js ADDR PORT
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const [addr, port] = process.argv.slice(2);
let nextId = 1;
const server = smpp.createServer((session) => {
	let sid = '';
	const onBind = (pdu) => { sid = pdu.system_id; session.send(pdu.response()); };
	session.on('bind_transceiver', onBind);
	session.on('bind_transmitter', onBind);
	session.on('submit_sm', (pdu) => {
		const sm = pdu.short_message;
		const text = sm && typeof sm === 'object' && 'message' in sm ? String(sm.message) : String(sm);
		process.stdout.write(`${sid}\t${pdu.destination_addr}\t${text}\n`);
		session.send(pdu.response({ message_id: String(nextId++) }));
	});
	session.on('enquire_link', (pdu) => session.send(pdu.response()));
	session.on('unbind', (pdu) => { session.send(pdu.response()); setTimeout(() => session.close(), 50); });
	session.on('error', () => {});
});
server.listen(Number(port), addr, () => console.error(`smsc listening on ${addr}:${port}`));
process.on('SIGTERM', () => process.exit(0));
