// N ESME sessions (node-smpp), each: bind, K submits, unbind. Exit 0 when
// every submit got submit_sm_resp status 0 and no connection failed.
//   node esme_many.js ADDR PORT N K
'use strict';
const smpp = require(process.env.SMPP_MODULE || 'smpp');
const [addr, port, n, k] = process.argv.slice(2);
let failures = 0;

function one(i) {
	return new Promise((resolve) => {
		const s = smpp.connect({ url: `smpp://${addr}:${port}` });
		let done = false;
		s.on('error', (e) => { failures++; console.error(`esme${i}: ${e.code || e.message}`); resolve(); });
		s.on('close', () => { if (!done) { failures++; console.error(`esme${i}: closed early`); } resolve(); });
		s.bind_transceiver({ system_id: `esme${i}`, password: 'pw' }, (b) => {
			if (b.command_status !== 0) { failures++; done = true; s.close(); return; }
			let left = Number(k);
			for (let j = 0; j < Number(k); j++) {
				s.submit_sm({ source_addr: '447700900001', source_addr_ton: 1, source_addr_npi: 1,
					destination_addr: `44770090${String(i * 100 + j).padStart(4, '0')}`,
					dest_addr_ton: 1, dest_addr_npi: 1, short_message: `message ${j} from esme${i}` },
				(r) => {
					if (r.command_status !== 0)
						failures++;
					if (--left === 0) {
						done = true;
						s.unbind(() => { s.close(); });
					}
				});
			}
		});
	});
}

const all = [];
for (let i = 0; i < Number(n); i++)
	all.push(one(i));
const t = setTimeout(() => { console.error('timeout'); process.exit(1); }, 60000);
Promise.all(all).then(() => { clearTimeout(t); process.exit(failures ? 1 : 0); });
