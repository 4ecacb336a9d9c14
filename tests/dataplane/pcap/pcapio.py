"""pcap io shared by the pcap tests: write a little-endian pcap of Ethernet
frames, read the frames of a pcap (either byte order) or pcapng file."""
import struct


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    data = open(path, "rb").read()
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(data)
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(end + "IIII", data[off:off + 16])
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def read_pcapng(data):
    """Enhanced packet blocks of a little-endian pcapng file."""
    off, out = 0, []
    while off + 12 <= len(data):
        btype, blen = struct.unpack("<II", data[off:off + 8])
        if blen < 12:
            break
        if btype == 6:
            caplen = struct.unpack("<I", data[off + 20:off + 24])[0]
            out.append(data[off + 28:off + 28 + caplen])
        off += blen
    return out
