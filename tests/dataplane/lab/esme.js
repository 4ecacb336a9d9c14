// Lab ESMEs (node-smpp): three customers send 2,000 submit_sm with a known
// mix through the dataplane and record, for each, the sequence_number, the
// verdict the dataplane must give, and the SMSC's response.
//   node esme.js ADDR PORT HAM_TSV OUT [SWAP_FILE]
// When SWAP_FILE is given, the ESME creates it half-way through, so that the
// test can swap the ruleset while messages are in flight.
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const fs = require('fs');

const [addr, port, hamTsv, out, swapFile] = process.argv.slice(2);

// Deterministic pseudo-random numbers (fixed seed).
let seed = 20261128;
function rnd() {
	seed = (seed * 1103515245 + 12345) & 0x7fffffff;
	return seed / 0x7fffffff;
}

// Ham from the labelled corpus, free of anything the lab rules match.
const ham = fs.readFileSync(hamTsv, 'utf8').split('\n')
	.filter((l) => l.startsWith('ham\t')).map((l) => l.slice(4))
	.filter((t) => t.length > 0 && t.length <= 150 && /^[\x20-\x7e]*$/.test(t))
	.filter((t) => !/win a free|verify now|paypal|secure-bank/i.test(t));

const PASS = { verdict: 'pass' };
const num = (i) => `4477009${String(10000 + i).padStart(5, '0')}`;
const intl = { source_addr_ton: 1, source_addr_npi: 1, dest_addr_ton: 1, dest_addr_npi: 1 };

function plan() {
	const cust = { alpha: [], bravo: [], charlie: [] };
	let r = 0;
	// alpha: 900 ham + 50 spam, interleaved
	for (let i = 0; i < 950; i++) {
		if (i % 19 === 7)
			cust.alpha.push({ kind: 'spam', pdu: { ...intl, source_addr: '447700900001', destination_addr: num(r++),
				short_message: 'Congratulations! WIN a FREE iPhone today, reply YES to claim' },
			expect: { verdict: 'block', category: 'content', rule: '9002' } });
		else
			cust.alpha.push({ kind: 'ham', pdu: { ...intl, source_addr: '447700900001', destination_addr: num(r++),
				short_message: ham[Math.floor(rnd() * ham.length)] }, expect: PASS });
	}
	// bravo: 600 ham, 40 fraud, 20 two-part messages with the URL split,
	// 20 UCS-2 phishing with look-alikes, 10 spoofed senders
	const b = [];
	for (let i = 0; i < 600; i++)
		b.push([{ kind: 'ham', pdu: { source_addr_ton: 5, source_addr_npi: 0, source_addr: 'BravoShop',
			dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: num(r++),
			short_message: ham[Math.floor(rnd() * ham.length)] }, expect: PASS }]);
	for (let i = 0; i < 40; i++)
		b.push([{ kind: 'fraud', pdu: { ...intl, source_addr: '447700900002', destination_addr: num(r++),
			short_message: `Your account is locked. Verify now at secure-bank.example/login ref ${i}` },
		expect: { verdict: 'block', category: 'content', rule: '9001' } }]);
	for (let i = 0; i < 20; i++) {
		const dst = num(r++);
		const ref = 0x40 + i;
		b.push([
			{ kind: 'concat1', pdu: { ...intl, source_addr: '447700900002', destination_addr: dst,
				short_message: { udh: Buffer.from([5, 0, 3, ref, 2, 1]),
					message: 'Dear customer, your account is locked. Verify now at secure-' } },
			expect: PASS },
			{ kind: 'concat2', pdu: { ...intl, source_addr: '447700900002', destination_addr: dst,
				short_message: { udh: Buffer.from([5, 0, 3, ref, 2, 2]),
					message: 'bank.example/login within 24 hours' } },
			expect: { verdict: 'block', category: 'content', rule: '9001' } }]);
	}
	for (let i = 0; i < 20; i++)
		b.push([{ kind: 'ucs2', pdu: { ...intl, source_addr: '447700900002', destination_addr: num(r++),
			data_coding: 8, short_message: 'Your PаyPаl аccount is lоcked, call us' },
		expect: { verdict: 'block', category: 'content', rule: '9003' } }]);
	for (let i = 0; i < 10; i++)
		b.push([{ kind: 'spoof', pdu: { source_addr_ton: 5, source_addr_npi: 0, source_addr: 'PayPal',
			dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: num(r++), short_message: 'Hello from us' },
		expect: { verdict: 'block', category: 'sender', rule: '9004' } }]);
	// shuffle bravo's groups (parts stay in order inside a group)
	for (let i = b.length - 1; i > 0; i--) {
		const j = Math.floor(rnd() * (i + 1));
		[b[i], b[j]] = [b[j], b[i]];
	}
	cust.bravo = b.flat();
	// charlie: a burst of 300 (rate limit), then 39 paced ham, then one
	// submit to the subscriber who sent STOP
	for (let i = 0; i < 300; i++)
		cust.charlie.push({ kind: 'burst', burst: true, pdu: { ...intl, source_addr: '447700900003',
			destination_addr: num(r++), short_message: ham[Math.floor(rnd() * ham.length)] },
		expect: { verdict: 'pass|throttle' } });
	for (let i = 0; i < 39; i++)
		cust.charlie.push({ kind: 'ham', afterBurst: i === 0, pdu: { ...intl, source_addr: '447700900003', destination_addr: num(r++),
			short_message: ham[Math.floor(rnd() * ham.length)] }, expect: PASS });
	cust.charlie.push({ kind: 'optout', pdu: { ...intl, source_addr: '447700900003',
		destination_addr: '447700900999', short_message: 'We miss you! Come back for 20% off' },
	expect: { verdict: 'block', category: 'optout', rule: 'builtin:optout' } });
	return cust;
}

const results = [];
const respCount = {};
const enquireOk = {};
const unbindOk = {};
const errors = [];
let sent = 0;
const total = 2000;

function run(sid, msgs) {
	return new Promise((resolve) => {
		const session = smpp.connect({ url: `smpp://${addr}:${port}`, auto_enquire_link_period: 5000 });
		let i = 0, outstanding = 0, closing = false;
		const window = process.env.ESME_WINDOW ? Number(process.env.ESME_WINDOW) : sid === 'charlie' ? 50 : 10;
		session.on('error', (e) => { errors.push(`${sid}: ${e.code || e.message}`); resolve(); });
		session.on('close', () => { if (!closing) errors.push(`${sid}: connection closed early`); resolve(); });
		session.on('deliver_sm', (pdu) => session.send(pdu.response()));
		session.on('pdu', (pdu) => {
			if (pdu.command === 'submit_sm_resp')
				respCount[sid] = (respCount[sid] || 0) + 1;
		});
		session.bind_transceiver({ system_id: sid, password: 'secret1' }, (pdu) => {
			if (pdu.command_status !== 0) {
				errors.push(`${sid}: bind status ${pdu.command_status}`);
				closing = true;
				session.close();
				return;
			}
			let waiting = false;
			const pump = () => {
				if (waiting)
					return;
				while (i < msgs.length && outstanding < window) {
					const m = msgs[i];
					// Paced customers send about 60 submits/s (under the lab's
					// rate); the opt-out submit waits for the STOP to cross
					// the dataplane; after the burst the bucket refills.
					const delay = m.burst ? 0 : m.kind === 'optout' ? 1500 : m.afterBurst ? 2000 : 16;
					if (delay && !m.delayed) {
						m.delayed = true;
						waiting = true;
						setTimeout(() => { waiting = false; pump(); }, delay);
						return;
					}
					i++;
					const pdu = new smpp.PDU('submit_sm', m.pdu);
					outstanding++;
					session.send(pdu, (resp) => {
						outstanding--;
						m.status = resp.command_status;
						if (++sent === total / 2 && swapFile)
							fs.writeFileSync(swapFile, 'swap\n');
						if (i >= msgs.length && outstanding === 0) {
							closing = true;
							// enquire_link and unbind must cross the firewall too.
							session.enquire_link({}, (el) => {
								if (el.command_status === 0)
									enquireOk[sid] = true;
								session.unbind((ub) => {
									if (ub.command_status === 0)
										unbindOk[sid] = true;
									session.close();
									resolve();
								});
							});
						} else {
							pump();
						}
					});
					results.push({ sid, seq: pdu.sequence_number, kind: m.kind, expect: m.expect, msg: m });
				}
			};
			pump();
		});
	});
}

const p = plan();
const n = p.alpha.length + p.bravo.length + p.charlie.length;
if (n !== total) {
	console.error(`plan has ${n} messages, not ${total}`);
	process.exit(2);
}
const timer = setTimeout(() => { errors.push('timeout'); finish(); }, 120000);
function finish() {
	clearTimeout(timer);
	fs.writeFileSync(out, JSON.stringify({
		errors, respCount, enquireOk, unbindOk,
		results: results.map((r) => ({ sid: r.sid, seq: r.seq, kind: r.kind, expect: r.expect,
			status: r.msg.status, dst: r.msg.pdu.destination_addr,
			message: typeof r.msg.pdu.short_message === 'string' ? r.msg.pdu.short_message
				: r.msg.pdu.short_message.message })),
	}));
	process.exit(0);
}
Promise.all([run('alpha', p.alpha), run('bravo', p.bravo), run('charlie', p.charlie)]).then(finish);
