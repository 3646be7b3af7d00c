#!/usr/bin/env python3
"""Writes a gRPC length-prefixed protobuf request body for h2load -d, with no dependencies.

Usage: grpc_body.py OUT FIELD=VALUE...  (string fields by number, e.g. 1=holder 2=/path)
"""
import struct
import sys


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def main() -> None:
    out, fields = sys.argv[1], sys.argv[2:]
    msg = bytearray()
    for f in fields:
        number, value = f.split("=", 1)
        data = value.encode()
        msg += varint((int(number) << 3) | 2) + varint(len(data)) + data
    with open(out, "wb") as fh:
        fh.write(b"\x00" + struct.pack(">I", len(msg)) + bytes(msg))


if __name__ == "__main__":
    main()
