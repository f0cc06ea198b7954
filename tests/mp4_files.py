"""MP4 files as they arrive from the field: index at the front (as phones and web uploads write
them), and cut short (a recording interrupted, a copy that did not finish)."""

from __future__ import annotations

import struct
from pathlib import Path

# Boxes that hold other boxes on the way to the chunk offset tables.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each box in `data` (32-bit sizes only: enough for test files)."""
    out, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size < 8:
            raise ValueError(f"unsupported box size {size} at {at}")
        out.append((kind, at, at + size))
        at += size
    return out


def _shift_chunk_offsets(box: bytearray, by: int) -> None:
    """Add `by` to every entry of the stco tables inside `box` (a moov box), in place."""

    def walk(start: int, end: int) -> None:
        for kind, b_start, b_end in _boxes(bytes(box[start:end])):
            b_start, b_end = b_start + start, b_end + start
            if kind in _CONTAINERS:
                walk(b_start + 8, b_end)
            elif kind == b"stco":
                (count,) = struct.unpack(">I", box[b_start + 12 : b_start + 16])
                for k in range(count):
                    at = b_start + 16 + 4 * k
                    (offset,) = struct.unpack(">I", box[at : at + 4])
                    box[at : at + 4] = struct.pack(">I", offset + by)
            elif kind == b"co64":
                raise ValueError("64-bit chunk offsets are not supported here")

    walk(8, len(box))


def faststart_copy(src: Path, dst: Path) -> Path:
    """A copy of `src` with its index (moov) moved in front of the media data (mdat)."""
    data = src.read_bytes()
    boxes = _boxes(data)
    kinds = [kind for kind, _, _ in boxes]
    if kinds.index(b"moov") < kinds.index(b"mdat"):
        dst.write_bytes(data)
        return dst
    _, m_start, m_end = boxes[kinds.index(b"moov")]
    moov = bytearray(data[m_start:m_end])
    _shift_chunk_offsets(moov, len(moov))
    head = b"".join(data[s:e] for kind, s, e in boxes if kind not in (b"moov", b"mdat"))
    _, d_start, d_end = boxes[kinds.index(b"mdat")]
    dst.write_bytes(head + bytes(moov) + data[d_start:d_end])
    return dst


def truncated_copy(src: Path, dst: Path, keep_fraction: float) -> Path:
    """The first `keep_fraction` of `src`'s bytes: with the index in front, the file still opens."""
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep_fraction)])
    return dst
