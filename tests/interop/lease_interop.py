#!/usr/bin/env python3
"""Drives a running LeaseService with Python grpcio (a gRPC client no one here wrote).

Message classes come from a protobuf descriptor set built from protos/ (no generated code, so the
protoc version need not match the installed protobuf runtime).

Usage: /usr/bin/python3 lease_interop.py HOST:PORT DESCRIPTOR_SET
Prints one line per check and exits non-zero if any check failed.
"""
import sys
import time
import uuid

import grpc

from interop_common import Interop

TARGET, DESCRIPTORS = sys.argv[1], sys.argv[2]

io = Interop(DESCRIPTORS, grpc.insecure_channel(TARGET))
AddLease = io.lease_rpc("AddLease")
RenewLease = io.lease_rpc("RenewLease")
RemoveLease = io.lease_rpc("RemoveLease")
RecoverLease = io.lease_rpc("RecoverLease")
GetLease = io.lease_rpc("GetLease")
ListLeases = io.lease_rpc("ListLeases")
AddBlock = io.lease_rpc("AddBlock")
GetFile = io.lease_rpc("GetFile", "GetFileRequest", "FileInfo")
DeleteFile = io.lease_rpc("DeleteFile")
ListDataNodes = io.rpc("leases.v1.DataNodeSimulator", "ListDataNodes", "leases.v1.ListDataNodesRequest", "leases.v1.ListDataNodesResponse")
PauseDataNode = io.rpc("leases.v1.DataNodeSimulator", "PauseDataNode", "leases.v1.DataNodeRequest", "leases.v1.DataNodeInfo")
ResumeDataNode = io.rpc("leases.v1.DataNodeSimulator", "ResumeDataNode", "leases.v1.DataNodeRequest", "leases.v1.DataNodeInfo")
HealthCheck = io.rpc("grpc.health.v1.Health", "Check", "grpc.health.v1.HealthCheckRequest", "grpc.health.v1.HealthCheckResponse")
Unknown = io.rpc("leases.v1.LeaseService", "NoSuchMethod", "leases.v1.GetLeaseRequest", "leases.v1.GetLeaseResponse")

check, expect_error = io.check, io.expect_error


run = uuid.uuid4().hex[:8]
holder, other = f"py-writer-{run}", f"py-other-{run}"
path = f"/interop/{run}/file"

lease = AddLease(holder=holder, path=path, client_machine="py-host").lease
check("AddLease grants", lease.holder == holder and lease.epoch > 0 and lease.state == 1, str(lease))
check("AddLease again is idempotent", AddLease(holder=holder, path=path).lease.epoch == lease.epoch)
expect_error("AddLease by another holder -> FAILED_PRECONDITION", grpc.StatusCode.FAILED_PRECONDITION,
             lambda: AddLease(holder=other, path=path), holder)
expect_error("AddLease relative path -> INVALID_ARGUMENT", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: AddLease(holder=holder, path="relative"))
renewed = RenewLease(holder=holder)
check("RenewLease renews", renewed.leases_renewed == 1 and renewed.soft_limit.seconds > 0, str(renewed))
expect_error("RenewLease unknown holder -> NOT_FOUND", grpc.StatusCode.NOT_FOUND, lambda: RenewLease(holder=f"nobody-{run}"))
got = GetLease(path=path).lease
check("GetLease", got.holder == holder and got.client_machine == "py-host" and got.hard_limit_remaining.seconds > 0, str(got))
listed = ListLeases(path_prefix=f"/interop/{run}/")
check("ListLeases by prefix", [l.path for l in listed.leases] == [path], str(listed))
nodes = ListDataNodes().datanodes
check("DataNodeSimulator.ListDataNodes", len(nodes) >= 1, str(nodes))
block = AddBlock(holder=holder, path=path)
check("AddBlock", block.block.block_id > 0 and len(block.block.locations) >= 1, str(block))
info = GetFile(path=path)
check("GetFile", info.under_construction and len(info.blocks) == 1, str(info))
expect_error("RecoverLease within soft limit -> FAILED_PRECONDITION", grpc.StatusCode.FAILED_PRECONDITION,
             lambda: RecoverLease(path=path))
recovered = RecoverLease(path=path, requester=f"py-ops-{run}", force=True)
check("RecoverLease force starts recovery", recovered.closed or (recovered.lease.state == 3 and recovered.lease.recovery_id > 0), str(recovered))
expect_error("RemoveLease by the old holder after recovery -> FAILED_PRECONDITION or NOT_FOUND",
             (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND),
             lambda: RemoveLease(holder=holder, path=path))
for _ in range(200):
    if recovered.closed:
        break
    time.sleep(0.02)
    recovered = RecoverLease(path=path, requester=f"py-ops-{run}", force=True)
check("RecoverLease polled until closed (empty block removed)", recovered.closed and GetFile(path=path).length == 0, str(recovered))
path2 = f"/interop/{run}/closed"
AddLease(holder=holder, path=path2)
check("RemoveLease closes", RemoveLease(holder=holder, path=path2).closed)
check("RecoverLease on a closed file -> closed", RecoverLease(path=path2).closed)
expect_error("RecoverLease unknown path -> NOT_FOUND", grpc.StatusCode.NOT_FOUND, lambda: RecoverLease(path=f"/interop/{run}/missing"))
expect_error("GetLease closed file -> NOT_FOUND", grpc.StatusCode.NOT_FOUND, lambda: GetLease(path=path2))
check("DeleteFile closed file", DeleteFile(path=path2).holder == "")
expect_error("GetFile deleted file -> NOT_FOUND", grpc.StatusCode.NOT_FOUND, lambda: GetFile(path=path2))
expect_error("DeleteFile again -> NOT_FOUND", grpc.StatusCode.NOT_FOUND, lambda: DeleteFile(path=path2))
path4 = f"/interop/{run}/deleted-while-open"
AddLease(holder=other, path=path4)
check("DeleteFile open file names its holder", DeleteFile(path=path4).holder == other)
expect_error("Former holder's RemoveLease -> NOT_FOUND", grpc.StatusCode.NOT_FOUND, lambda: RemoveLease(holder=other, path=path4))
expect_error("Former holder's RenewLease (nothing left) -> NOT_FOUND", grpc.StatusCode.NOT_FOUND, lambda: RenewLease(holder=other))
expect_error("DeleteFile relative path -> INVALID_ARGUMENT", grpc.StatusCode.INVALID_ARGUMENT, lambda: DeleteFile(path="relative"))
check("Health Check", HealthCheck(service="").status == 1)
check("Health Check service", HealthCheck(service="leases.v1.LeaseService").status == 1)
expect_error("Health Check unknown service -> NOT_FOUND", grpc.StatusCode.NOT_FOUND, lambda: HealthCheck(service="nope"))
expect_error("Unknown method -> UNIMPLEMENTED", grpc.StatusCode.UNIMPLEMENTED, lambda: Unknown(path=path))
# A deadline the server must honour: closing a file whose block lives on partitioned DataNodes
# waits for their replica reports, so a 300 ms deadline expires first.
path3 = f"/interop/{run}/slow"
AddLease(holder=holder, path=path3)
slow_block = AddBlock(holder=holder, path=path3).block
for dn in slow_block.locations:
    PauseDataNode(datanode_id=dn)
started = time.monotonic()
expect_error("Deadline -> DEADLINE_EXCEEDED", grpc.StatusCode.DEADLINE_EXCEEDED, lambda: RemoveLease(holder=holder, path=path3, timeout=0.3))
check("Deadline honoured promptly", time.monotonic() - started < 5, f"took {time.monotonic() - started:.1f}s")
for dn in slow_block.locations:
    check(f"ResumeDataNode {dn}", not ResumeDataNode(datanode_id=dn).paused)
check("Server still serves after the deadline", RenewLease(holder=holder).leases_renewed >= 1)
expect_error("GetFile of an unknown 4,000-byte non-ASCII path -> NOT_FOUND (the message stays small)", grpc.StatusCode.NOT_FOUND,
             lambda: GetFile(path="/" + "\u00e9" * 1999))
expect_error("Message over 4 MiB -> RESOURCE_EXHAUSTED", grpc.StatusCode.RESOURCE_EXHAUSTED,
             lambda: GetLease(path="/" + "x" * (5 * 1024 * 1024)))

# Strings that are not UTF-8, sent as raw bytes (grpcio's protobuf refuses to build them):
# INVALID_ARGUMENT naming the field, and nothing changes. With U+FFFD replacement, holder bytes
# w\xff and w\xfe would be one holder; they are refused, so they cannot touch "w\ufffd"'s lease.
RawRenew = io.raw_rpc("leases.v1.LeaseService", "RenewLease", "leases.v1.RenewLeaseResponse")
RawRemove = io.raw_rpc("leases.v1.LeaseService", "RemoveLease", "leases.v1.RemoveLeaseResponse")
RawAdd = io.raw_rpc("leases.v1.LeaseService", "AddLease", "leases.v1.AddLeaseResponse")
RawPause = io.raw_rpc("leases.v1.DataNodeSimulator", "PauseDataNode", "leases.v1.DataNodeInfo")
fffd_holder, utf8_path = f"py-w-{run}\ufffd", f"/interop/{run}/utf8"
fffd_lease = AddLease(holder=fffd_holder, path=utf8_path).lease
node_paused = lambda: next(n.paused for n in ListDataNodes().datanodes if n.datanode_id == nodes[0].datanode_id)
paused_before = node_paused()
lookalike = f"py-w-{run}".encode()
fields = io.fields
expect_error("RenewLease holder w\\xff -> INVALID_ARGUMENT naming holder", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: RawRenew(fields((1, lookalike + b"\xff"))), "holder is not valid UTF-8")
expect_error("RemoveLease holder w\\xfe -> INVALID_ARGUMENT naming holder", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: RawRemove(fields((1, lookalike + b"\xfe"), (2, utf8_path.encode()))), "holder is not valid UTF-8")
expect_error("AddLease overlong '/' in path -> INVALID_ARGUMENT naming path", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: RawAdd(fields((1, b"py"), (2, b"/interop/\xc0\xaf"))), "path is not valid UTF-8")
expect_error("AddLease lone surrogate in client_machine -> INVALID_ARGUMENT naming client_machine", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: RawAdd(fields((1, b"py"), (2, b"/interop/x"), (3, b"host\xed\xa0\x80"))), "client_machine is not valid UTF-8")
expect_error("PauseDataNode truncated datanode_id -> INVALID_ARGUMENT naming datanode_id", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: RawPause(fields((1, nodes[0].datanode_id.encode() + b"\xe4\xb8"))), "datanode_id is not valid UTF-8")
expect_error("Malformed protobuf -> INVALID_ARGUMENT", grpc.StatusCode.INVALID_ARGUMENT,
             lambda: RawRenew(b"\x0a\x05ab"), "not a well-formed leases.v1.RenewLeaseRequest")
after = GetLease(path=utf8_path).lease
check("The w\\ufffd holder's lease is untouched", after.holder == fffd_holder and after.epoch == fffd_lease.epoch, str(after))
check("DataNode untouched", node_paused() == paused_before)
check("Valid multi-byte strings served as raw bytes", RawRenew(fields((1, fffd_holder.encode()))).leases_renewed == 1)

print(f"interop: {len(io.failures)} failed")
sys.exit(1 if io.failures else 0)
