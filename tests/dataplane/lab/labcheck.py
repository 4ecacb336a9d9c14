"""What the lab checkers (check_lab.py, check_inline.py) share: reading a
run's outputs, indexing the dataplane's verdict events, the dataplane's
final counters line, and the report. Each function appends what it finds
wrong to the caller's list of failures."""
import json
import subprocess

SUBMITS = 2000


def load_run(esme_path, smsc_path, events_path, log_path, fails):
    """The ESME and SMSC reports, the event lines and the dataplane log;
    fails on peer errors or a submit count other than SUBMITS."""
    esme = json.load(open(esme_path))
    smsc = json.load(open(smsc_path))
    events = [json.loads(l) for l in open(events_path) if l.strip()]
    log = open(log_path).read()
    if esme["errors"]:
        fails.append(f"ESME errors: {esme['errors'][:5]}")
    if smsc["errors"]:
        fails.append(f"SMSC errors: {smsc['errors'][:5]}")
    if len(esme["results"]) != SUBMITS:
        fails.append(f"ESMEs sent {len(esme['results'])} submits, not {SUBMITS}")
    return esme, smsc, events, log


def submit_verdicts(events, fails):
    """Verdict events of submit_sm keyed by (system_id, sequence); a second
    event for the same submit is a failure."""
    verdicts = {}
    for e in events:
        if e["type"] != "verdict" or e.get("command") != "submit_sm":
            continue
        key = (e["system_id"], e["sequence"])
        if key in verdicts:
            fails.append(f"two verdict events for {key}")
        verdicts[key] = e
    return verdicts


def final_counters(log, zero_keys, fails):
    """The last "smsfw-dataplane final:" line and its counters as a dict of
    strings; each of zero_keys must be "0"."""
    final = [l for l in log.splitlines() if "smsfw-dataplane final:" in l]
    if not final:
        fails.append("the dataplane printed no final counters")
        return None, {}
    fields = final[-1].split()
    counters = dict(zip(fields[2::2], fields[3::2]))
    for k in zero_keys:
        if counters.get(k) != "0":
            fails.append(f"final counter {k} = {counters.get(k)}")
    return final[-1], counters


def report(summary, final_line, fails):
    """Print the summary, the final counters and the first failures; the
    exit status."""
    print(summary)
    if final_line:
        print(final_line)
    for f in fails[:30]:
        print("FAIL:", f)
    return 1 if fails else 0


# TCP trouble tshark sees in a capture (RSTs are judged apart: resets()).
PROBLEMS = ("tcp.analysis.retransmission || tcp.analysis.fast_retransmission || "
            "tcp.analysis.duplicate_ack || tcp.analysis.lost_segment || "
            "tcp.analysis.out_of_order || tcp.analysis.ack_lost_segment || "
            "tcp.analysis.spurious_retransmission")


def tshark_count(pcap, flt):
    """Frames of a capture that match a display filter."""
    out = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", flt, "-T", "fields", "-e", "frame.number"],
                         capture_output=True, text=True, check=False)
    return len([l for l in out.stdout.splitlines() if l.strip()])


def resets(pcap, smpp_port=2775):
    """The RSTs of a capture: (from the SMSC side, from the ESME side) that
    came after the connection had closed, and a list of the others.

    A RST counts as after the close when both ends had sent their FIN and the
    RST's sequence number is its sender's FIN + 1: the host answering a stray
    segment (the duplicate of the last ACK, say) for a connection it has
    already forgotten. Duplication impairments make these; a RST anywhere
    else is a broken connection."""
    out = subprocess.run(
        ["tshark", "-n", "-r", pcap, "-Y", "tcp.flags.fin == 1 || tcp.flags.reset == 1",
         "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.srcport",
         "-e", "tcp.seq_raw", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset"],
        capture_output=True, text=True, check=False)
    fins = {}  # (stream, from_smsc) -> FIN sequence numbers
    late = {True: 0, False: 0}
    other = []
    for line in out.stdout.splitlines():
        f = line.split("\t")
        if len(f) < 6:
            continue
        stream, from_smsc, seq = f[1], f[2] == str(smpp_port), int(f[3])
        if f[4] in ("1", "True"):
            fins.setdefault((stream, from_smsc), set()).add(seq)
        if f[5] in ("1", "True"):
            if (stream, not from_smsc) in fins and \
                    (seq - 1) % (1 << 32) in fins.get((stream, from_smsc), ()):
                late[from_smsc] += 1
            else:
                other.append(f"frame {f[0]} from {'SMSC' if from_smsc else 'ESME'}")
    return late[True], late[False], other


def check_resets(pcaps, smpp_rst, fails):
    """No RST in the captures but those sent after a completed close
    (resets()); the dataplane's smpp_rst counter at most their number."""
    late = 0
    for side, pcap in pcaps.items():
        from_smsc, from_esme, other = resets(pcap)
        # each RST is counted where it was sent (the other capture has the
        # forwarded copy)
        late += from_smsc if side == "smsc" else from_esme
        if other:
            fails.append(f"RST in the {side} capture: {other[:3]}")
    if smpp_rst > late:
        fails.append(f"smpp_rst {smpp_rst}, but {late} RSTs after a close in the captures")
    return late
