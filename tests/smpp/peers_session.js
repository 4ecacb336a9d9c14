// peers_session.js PORT — a node-smpp SMSC and ESME talking on 127.0.0.1:PORT.
//
// Runs one scripted session covering what the smsfw-dump/tshark differential
// test needs on the wire, then exits 0 (1 on any failure, after 20 s at most):
//   bind_transceiver; submit_sm in GSM 7-bit with extension characters,
//   Latin-1, UCS-2 with characters outside the BMP, message_payload,
//   8-bit and 16-bit UDH concatenation, SAR TLVs; submit_multi (SMEs and a
//   distribution list); data_sm; deliver_sm carrying a delivery receipt;
//   query_sm answered with generic_nack; enquire_link; unbind.
'use strict';
const path = require('path');
const smpp = require(process.env.SMPP_MODULE ||
	path.join(__dirname, '..', 'peers', 'node_modules', 'smpp'));

const port = parseInt(process.argv[2], 10);
if (!port) {
	console.error('usage: peers_session.js PORT');
	process.exit(2);
}
const timer = setTimeout(() => { console.error('peers_session: timeout'); process.exit(1); }, 20000);

let nextId = 1;
const server = smpp.createServer((session) => {
	session.on('bind_transceiver', (pdu) => {
		session.send(pdu.response({ system_id: 'TESTSMSC' }));
	});
	for (const cmd of ['submit_sm', 'submit_multi', 'data_sm']) {
		session.on(cmd, (pdu) => {
			session.send(pdu.response({ message_id: String(nextId++) }));
		});
	}
	session.on('query_sm', (pdu) => {
		// An SMSC that does not support query_sm answers with generic_nack.
		session.send(new smpp.PDU('generic_nack', {
			sequence_number: pdu.sequence_number,
			command_status: smpp.ESME_RINVCMDID,
		}));
	});
	session.on('enquire_link', (pdu) => session.send(pdu.response()));
	session.on('unbind', (pdu) => {
		session.send(pdu.response());
		session.close();
		server.close();
	});
	session.on('deliver_sm_resp', () => {});
	session.on('error', (e) => { console.error('server session:', e); process.exit(1); });
	// The receipt for the first submit goes out once the ESME is bound.
	session.once('submit_sm', () => {
		session.deliver_sm({
			source_addr: '447700900123',
			destination_addr: 'MyBank',
			esm_class: 0x04,
			short_message: 'id:1 sub:001 dlvrd:001 submit date:2601011200 done date:2601011201 stat:DELIVRD err:000 text:Promo',
			receipted_message_id: '1',
			message_state: 2,
		});
	});
});

function send(session, cmd, fields) {
	return new Promise((resolve, reject) => {
		session[cmd](fields, (pdu) => {
			if (cmd === 'query_sm' ? pdu.command !== 'generic_nack' : pdu.command_status !== 0)
				reject(new Error(cmd + ' answered ' + pdu.command + ' status ' + pdu.command_status));
			else
				resolve(pdu);
		});
	});
}

// data_coding 0 is set explicitly: left to itself node-smpp labels its GSM
// encoding as data_coding 1 (IA5).
const dst = { data_coding: 0, source_addr_ton: 5, source_addr_npi: 0, source_addr: 'MyBank',
	dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '447700900123' };

async function esme() {
	const session = smpp.connect({ url: 'smpp://127.0.0.1:' + port, auto_enquire_link_period: 0 });
	session.on('error', (e) => { console.error('esme:', e); process.exit(1); });
	session.on('deliver_sm', (pdu) => session.send(pdu.response()));
	await new Promise((resolve) => session.on('connect', resolve));
	await send(session, 'bind_transceiver', { system_id: 'esme1', password: 'secret',
		system_type: 'TEST', interface_version: 0x34 });
	// GSM 7-bit with extension-table characters
	await send(session, 'submit_sm', Object.assign({}, dst, {
		short_message: 'Promo {10€} [today] ~ ^ | \\ only!' }));
	// Latin-1 (not representable in GSM: ô, ê)
	await send(session, 'submit_sm', Object.assign({}, dst, { data_coding: 3,
		short_message: 'Tête-à-tête, hôtel' }));
	// UCS-2 with characters outside the BMP (surrogate pairs)
	await send(session, 'submit_sm', Object.assign({}, dst, { data_coding: 8,
		short_message: 'Emoji 😀 and clef 𝄞 — ok' }));
	// message_payload
	await send(session, 'submit_sm', Object.assign({}, dst, {
		message_payload: 'A long text carried in message_payload, longer than one part: ' +
			'x'.repeat(200) }));
	// 8-bit reference concatenation (IEI 0x00), two parts
	for (const [seq, text] of [[1, 'Your parcel is held. Pay the fee at '], [2, 'http://parcel.example/pay now']]) {
		await send(session, 'submit_sm', Object.assign({}, dst, {
			short_message: { udh: Buffer.from([0x05, 0x00, 0x03, 0x7b, 0x02, seq]), message: text } }));
	}
	// 16-bit reference concatenation (IEI 0x08), two parts
	for (const [seq, text] of [[1, 'Part one of a 16-bit '], [2, 'reference message']]) {
		await send(session, 'submit_sm', Object.assign({}, dst, {
			short_message: { udh: Buffer.from([0x06, 0x08, 0x04, 0x12, 0x34, 0x02, seq]), message: text } }));
	}
	// SAR TLVs
	for (const [seq, text] of [[1, 'SAR part one, '], [2, 'SAR part two']]) {
		await send(session, 'submit_sm', Object.assign({}, dst, {
			short_message: text, sar_msg_ref_num: 0x2a2a, sar_total_segments: 2,
			sar_segment_seqnum: seq }));
	}
	// submit_multi: two SME addresses and a distribution list
	await send(session, 'submit_multi', {
		source_addr_ton: 5, source_addr_npi: 0, source_addr: 'MyBank',
		dest_address: [
			{ dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '447700900001' },
			{ dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: '447700900002' },
			{ dl_name: 'customers' },
		],
		data_coding: 0, short_message: 'Hello to many',
	});
	// data_sm with the text in message_payload
	await send(session, 'data_sm', Object.assign({}, dst, {
		data_coding: 0, message_payload: 'data_sm text {via} payload' }));
	// query_sm -> generic_nack
	await send(session, 'query_sm', { message_id: '1', source_addr_ton: 5, source_addr_npi: 0,
		source_addr: 'MyBank' });
	await send(session, 'enquire_link', {});
	await send(session, 'unbind', {});
	session.close();
}

server.listen(port, '127.0.0.1', () => {
	esme().then(() => {
		clearTimeout(timer);
		setTimeout(() => process.exit(0), 200);
	}, (e) => {
		console.error('peers_session:', e.message);
		process.exit(1);
	});
});
