// Lab SMSC (node-smpp): accepts binds, answers every submit_sm and
// submit_multi with a message_id, records what it received, and sends the subscriber's "STOP"
// (deliver_sm) to the session of the customer named by STOP_TO right after it
// binds. On SIGTERM it writes {received, errors, binds} to OUT and exits.
//   node smsc.js ADDR PORT OUT
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const fs = require('fs');

const [addr, port, out] = process.argv.slice(2);
const stopTo = process.env.STOP_TO || 'charlie';
const received = [];
const errors = [];
const binds = [];
let nextId = 1;

function text(pdu) {
	const sm = pdu.short_message;
	if (sm && typeof sm === 'object' && 'message' in sm)
		return { udh: sm.udh ? Buffer.from(sm.udh).toString('hex') : '', message: String(sm.message) };
	return { udh: '', message: String(sm) };
}

const server = smpp.createServer((session) => {
	let sid = '';
	const onBind = (pdu) => {
		sid = pdu.system_id;
		binds.push(sid);
		session.send(pdu.response());
		if (sid === stopTo) {
			setTimeout(() => {
				session.deliver_sm({
					source_addr_ton: 1, source_addr_npi: 1, source_addr: '447700900999',
					dest_addr_ton: 3, dest_addr_npi: 0, destination_addr: '70123',
					short_message: 'STOP',
				});
			}, 100);
		}
	};
	session.on('bind_transceiver', onBind);
	session.on('bind_transmitter', onBind);
	session.on('submit_sm', (pdu) => {
		const t = text(pdu);
		received.push({ sid, seq: pdu.sequence_number, src: pdu.source_addr, dst: pdu.destination_addr,
			dcs: pdu.data_coding, udh: t.udh, message: t.message });
		session.send(pdu.response({ message_id: String(nextId++) }));
	});
	// submit_multi: the destinations it got; numbers ending 0666 it refuses
	// itself (unsuccess_sme with ESME_RINVDSTADR), to be merged with the
	// dataplane's entries.
	session.on('submit_multi', (pdu) => {
		const dests = (pdu.dest_address || []).map((d) => ('dl_name' in d ? `@${d.dl_name}` : d.destination_addr));
		const t = text(pdu);
		received.push({ sid, seq: pdu.sequence_number, src: pdu.source_addr, multi: dests, dcs: pdu.data_coding,
			udh: t.udh, message: t.message });
		const uns = dests.filter((x) => x.endsWith('0666')).map((x) => ({ dest_addr_ton: 1, dest_addr_npi: 1,
			destination_addr: x, error_status_code: 0x0b }));
		session.send(pdu.response({ message_id: String(nextId++), unsuccess_sme: uns }));
	});
	session.on('deliver_sm_resp', () => {});
	session.on('enquire_link', (pdu) => session.send(pdu.response()));
	session.on('unbind', (pdu) => {
		session.send(pdu.response());
		setTimeout(() => session.close(), 50);
	});
	session.on('error', (e) => errors.push(`${sid}: ${e.code || e.message}`));
});
server.on('error', (e) => { errors.push(`server: ${e.message}`); });
server.listen(Number(port), addr, () => console.log(`smsc listening on ${addr}:${port}`));

process.on('SIGTERM', () => {
	fs.writeFileSync(out, JSON.stringify({ received, errors, binds }));
	process.exit(0);
});
