// gen_node_peer.js — npm `smpp` (node-smpp) as the independent peer of smsfw-gen.
//
//   node gen_node_peer.js smsc PORTFILE MO_TEXT
//     An SMSC on 127.0.0.1 (port written to PORTFILE). Answers binds and
//     submit_sm (message ids), sends one MO deliver_sm with MO_TEXT after the
//     bind, and on unbind prints one JSON line: the submits it saw (system_id,
//     source, destination, data_coding, concatenation, text) and the status
//     of its MO's deliver_sm_resp. Then exits 0.
//   node gen_node_peer.js esme PORT COUNT
//     An ESME: bind_transceiver as system_id "nodeesme", submits COUNT
//     messages (GSM, UCS-2 and one 8-bit UDH concatenated message in turn),
//     asks for receipts, answers deliver_sm, waits for a receipt per accepted
//     submit and for MO messages (1 s quiet), unbinds, prints one JSON line.
// Exits 1 on any failure, after 30 s at most.
'use strict';
const fs = require('fs');
const path = require('path');
const smpp = require(process.env.SMPP_MODULE ||
	path.join(__dirname, '..', '..', 'peers', 'node_modules', 'smpp'));

const timer = setTimeout(() => { console.error('gen_node_peer: timeout'); process.exit(1); }, 30000);
const mode = process.argv[2];

function concatOf(pdu) {
	const sm = pdu.short_message || {};
	for (const ie of sm.udh || []) {
		if (ie[0] === 0x00 && ie.length >= 5)
			return ie[2] + ':' + ie[4] + '/' + ie[3];
		if (ie[0] === 0x08 && ie.length >= 6)
			return ((ie[2] << 8) | ie[3]) + ':' + ie[5] + '/' + ie[4];
	}
	return '-';
}

function textOf(pdu) {
	if (pdu.message_payload)
		return pdu.message_payload.message !== undefined ? pdu.message_payload.message
			: String(pdu.message_payload);
	const sm = pdu.short_message;
	if (sm === undefined || sm === null)
		return '';
	return typeof sm === 'string' ? sm : (sm.message !== undefined ? sm.message : String(sm));
}

if (mode === 'smsc') {
	const [portFile, moText] = process.argv.slice(3);
	const seen = [];
	let nextId = 1, moStatus = null, systemId = null;
	const server = smpp.createServer((session) => {
		session.on('error', (e) => { console.error('smsc session:', e); process.exit(1); });
		const bind = (pdu) => {
			systemId = pdu.system_id;
			session.send(pdu.response({ system_id: 'NODESMSC' }));
			session.deliver_sm({ source_addr: '447700900777', source_addr_ton: 1,
				source_addr_npi: 1, destination_addr: 'GenShop', short_message: moText },
			(resp) => { moStatus = resp.command_status; });
		};
		session.on('bind_transceiver', bind);
		session.on('submit_sm', (pdu) => {
			seen.push({ system_id: systemId, source: pdu.source_addr,
				dest: pdu.destination_addr, data_coding: pdu.data_coding,
				concat: concatOf(pdu), text: textOf(pdu) });
			session.send(pdu.response({ message_id: String(nextId++) }));
		});
		session.on('enquire_link', (pdu) => session.send(pdu.response()));
		session.on('unbind', (pdu) => {
			session.send(pdu.response());
			console.log(JSON.stringify({ submits: seen, mo_status: moStatus }));
			clearTimeout(timer);
			setTimeout(() => process.exit(0), 100);
		});
	});
	server.listen(0, '127.0.0.1', () => {
		fs.writeFileSync(portFile + '.tmp', String(server.address().port) + '\n');
		fs.renameSync(portFile + '.tmp', portFile);
	});
} else if (mode === 'esme') {
	const port = parseInt(process.argv[3], 10);
	const count = parseInt(process.argv[4], 10);
	const session = smpp.connect({ url: 'smpp://127.0.0.1:' + port, auto_enquire_link_period: 0 });
	const out = { bind_status: null, responses: [], receipts: [], mo: [] };
	let quiet = null;
	const finish = () => {
		session.unbind(() => {
			console.log(JSON.stringify(out));
			clearTimeout(timer);
			session.close();
			process.exit(0);
		});
	};
	const settle = () => {
		if (quiet)
			clearTimeout(quiet);
		const ok = out.responses.filter((r) => r.status === 0).length;
		if (out.responses.length === count && out.receipts.length >= ok)
			quiet = setTimeout(finish, 1000);
	};
	session.on('error', (e) => { console.error('esme:', e); process.exit(1); });
	session.on('deliver_sm', (pdu) => {
		session.send(pdu.response());
		const rec = { source: pdu.source_addr, dest: pdu.destination_addr, text: textOf(pdu) };
		if (pdu.esm_class & 0x04) {
			rec.receipted_message_id = pdu.receipted_message_id;
			out.receipts.push(rec);
		} else {
			out.mo.push(rec);
		}
		settle();
	});
	session.on('connect', () => {
		session.bind_transceiver({ system_id: 'nodeesme', password: 'pw' }, (pdu) => {
			out.bind_status = pdu.command_status;
			if (pdu.command_status !== 0) {
				console.log(JSON.stringify(out));
				process.exit(1);
			}
			for (let i = 0; i < count; i++) {
				const base = { source_addr: 'NodeShop', source_addr_ton: 5, source_addr_npi: 0,
					destination_addr: '4477009' + String(10000 + i), dest_addr_ton: 1,
					dest_addr_npi: 1, registered_delivery: 1 };
				if (i % 3 === 1) {
					base.data_coding = 8;
					base.short_message = { message: 'Привет ' + i };
				} else if (i % 3 === 2) {
					base.short_message = { udh: Buffer.from([5, 0, 3, i & 0xff, 2, 1]),
						message: 'part one of ' + i };
					base.data_coding = 0;
				} else {
					base.data_coding = 0;
					base.short_message = { message: 'hello from node ' + i };
				}
				session.submit_sm(base, (resp) => {
					out.responses.push({ i, status: resp.command_status,
						message_id: resp.message_id });
					settle();
				});
			}
		});
	});
} else {
	console.error('usage: gen_node_peer.js smsc PORTFILE MO_TEXT | esme PORT COUNT');
	process.exit(2);
}
