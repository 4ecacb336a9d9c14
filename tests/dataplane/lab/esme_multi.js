// Lab ESME for submit_multi in inline mode (node-smpp): binds as charlie
// (the lab SMSC sends this session the subscriber 447700900999's STOP), then
// sends submit_multi with destinations the dataplane passes, blocks, or
// that the SMSC itself refuses (numbers ending 0666), and checks every
// submit_multi_resp: status, message_id, and unsuccess_sme entries (the
// SMSC's first, then the ones the dataplane removed), one at a time and 20
// at once. A submit_sm, an
// enquire_link and an unbind follow on the same connection. Writes
// {cases, errors} to OUT; exit status 0 when every check held.
//   node esme_multi.js ADDR PORT OUT
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const fs = require('fs');

const [addr, port, out] = process.argv.slice(2);
const errors = [];
const cases = [];
const d = (n) => ({ dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: n });
const OPTED = '447700900999';
const u = (n, st) => ({ dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: n, error_status_code: st });

// name, destinations, text, expected: status, message_id set, unsuccess list,
// destinations the SMSC must receive (null: the PDU must not reach it)
const plan = [
	{ name: 'partial', dests: ['447700910001', OPTED, '447700910666', '447700910002'], text: 'Lunch at noon?',
		status: 0, msgid: true, uns: [u('447700910666', 0x0b), u(OPTED, 0x66)],
		smsc: ['447700910001', '447700910666', '447700910002'] },
	{ name: 'all-blocked', dests: ['447700910003', '447700910004'],
		text: 'Congratulations! WIN a FREE iPhone today, reply YES to claim',
		status: 0x45, msgid: false, uns: [u('447700910003', 0x45), u('447700910004', 0x45)], smsc: null },
	{ name: 'opted-out-only', dests: [OPTED], text: 'See you at eight', status: 0x66, msgid: false,
		uns: [u(OPTED, 0x66)], smsc: null },
	{ name: 'none-blocked', dests: ['447700910005', '447700910006'], text: 'Meeting moved to 3pm',
		status: 0, msgid: true, uns: [], smsc: ['447700910005', '447700910006'] },
	{ name: 'partial-again', dests: [OPTED, '447700910007'], text: 'Your parcel is on its way',
		status: 0, msgid: true, uns: [u(OPTED, 0x66)], smsc: ['447700910007'] },
];

function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

const s = smpp.connect({ url: `smpp://${addr}:${port}` });
let done = false;
const finish = (code) => {
	if (done) return;
	done = true;
	fs.writeFileSync(out, JSON.stringify({ cases, errors }));
	for (const e of errors) console.log(`FAIL: ${e}`);
	process.exit(code || (errors.length ? 1 : 0));
};
s.on('error', (e) => { errors.push(`session: ${e.code || e.message}`); finish(1); });
s.on('close', () => { if (!done) { errors.push('connection closed early'); finish(1); } });
let stopSeen = null;
s.on('deliver_sm', (pdu) => {
	s.send(pdu.response());
	if (String(pdu.short_message.message || pdu.short_message) === 'STOP' && stopSeen) stopSeen();
});
setTimeout(() => { errors.push('timeout'); finish(1); }, 20000);

s.bind_transceiver({ system_id: 'charlie', password: 'secret1' }, (b) => {
	if (b.command_status !== 0) { errors.push(`bind status ${b.command_status}`); finish(1); return; }
	new Promise((res) => { stopSeen = res; }).then(async () => {
		// The dataplane learned the opt-out from the deliver_sm it forwarded.
		await new Promise((r) => setTimeout(r, 200));
		for (const c of plan) {
			const r = await new Promise((res) => {
				const pdu = new smpp.PDU('submit_multi', { source_addr_ton: 1, source_addr_npi: 1,
					source_addr: '447700900003', dest_address: c.dests.map(d), short_message: c.text });
				s.send(pdu, (resp) => res({ seq: pdu.sequence_number, resp }));
			});
			const got = { name: c.name, seq: r.seq, status: r.resp.command_status,
				message_id: r.resp.message_id || '', uns: r.resp.unsuccess_sme || [] };
			cases.push({ ...got, smsc: c.smsc, dests: c.dests });
			if (got.status !== c.status) errors.push(`${c.name}: status ${got.status} != ${c.status}`);
			if (c.msgid !== (got.message_id !== '')) errors.push(`${c.name}: message_id '${got.message_id}'`);
			if (!same(got.uns, c.uns)) errors.push(`${c.name}: unsuccess ${JSON.stringify(got.uns)} != ${JSON.stringify(c.uns)}`);
		}
		// A window of 20 partly blocked submit_multi in flight at once
		// (many edits per TCP window, answers merged by sequence_number).
		const win = [];
		for (let k = 0; k < 20; k++) {
			const a = `4477009${40000 + k}`, z = `4477009${k % 2 ? 50000 + k : 50666 + k * 1000}`;
			const dests = [a, OPTED, z];
			const uns = (z.endsWith('0666') ? [u(z, 0x0b)] : []).concat([u(OPTED, 0x66)]);
			win.push(new Promise((res) => {
				const pdu = new smpp.PDU('submit_multi', { source_addr_ton: 1, source_addr_npi: 1,
					source_addr: '447700900003', dest_address: dests.map(d), short_message: `window ${k}` });
				s.send(pdu, (resp) => res({ c: { name: `window-${k}`, dests, status: 0, msgid: true, uns,
					smsc: [a, z] }, seq: pdu.sequence_number, resp }));
			}));
		}
		for (const r of await Promise.all(win)) {
			const c = r.c;
			const got = { name: c.name, seq: r.seq, status: r.resp.command_status,
				message_id: r.resp.message_id || '', uns: r.resp.unsuccess_sme || [] };
			cases.push({ ...got, smsc: c.smsc, dests: c.dests });
			if (got.status !== c.status) errors.push(`${c.name}: status ${got.status}`);
			if (got.message_id === '') errors.push(`${c.name}: no message_id`);
			if (!same(got.uns, c.uns)) errors.push(`${c.name}: unsuccess ${JSON.stringify(got.uns)} != ${JSON.stringify(c.uns)}`);
		}
		// The connection keeps working after the edits.
		const sr = await new Promise((res) => s.submit_sm({ source_addr_ton: 1, source_addr_npi: 1,
			source_addr: '447700900003', dest_addr_ton: 1, dest_addr_npi: 1,
			destination_addr: '447700910008', short_message: 'last one' }, res));
		if (sr.command_status !== 0 || !sr.message_id) errors.push(`submit_sm after: status ${sr.command_status}`);
		cases.push({ name: 'submit_sm', seq: sr.sequence_number, status: sr.command_status });
		await new Promise((res) => s.enquire_link({}, res));
		s.unbind(() => { s.close(); finish(0); });
	});
});
