#!/usr/bin/env python3
"""Authentication and authorization through Python grpcio over TLS with bearer tokens.

The server authenticates JWTs and trusts a test CA; the test that runs this mints the tokens.
Tokens go as grpcio's own per-call credentials (access_token_call_credentials, composed with the
channel's TLS credentials), so the `authorization: Bearer` header is grpcio's, not ours.

Usage: /usr/bin/python3 lease_interop_auth.py HOST:PORT DESCRIPTOR_SET CA_PEM ALICE BOB ADMIN EXPIRED
(the last four are tokens: alice, bob, an admin, and an expired one). Prints one line per check
and exits non-zero if any check failed.
"""
import sys
import uuid

import grpc

from interop_common import Interop

TARGET, DESCRIPTORS, CA = sys.argv[1], sys.argv[2], sys.argv[3]
ALICE, BOB, ADMIN, EXPIRED = sys.argv[4:8]

with open(CA, "rb") as fh:
    tls = grpc.ssl_channel_credentials(root_certificates=fh.read())
# The server certificate names localhost (and 127.0.0.1); the target is 127.0.0.1:port.
channel = grpc.secure_channel(TARGET, tls, options=(("grpc.ssl_target_name_override", "localhost"),))
io = Interop(DESCRIPTORS, channel)
AddLease = io.lease_rpc("AddLease")
RenewLease = io.lease_rpc("RenewLease")
RemoveLease = io.lease_rpc("RemoveLease")
RecoverLease = io.lease_rpc("RecoverLease")
ListLeases = io.lease_rpc("ListLeases")
ListDataNodes = io.rpc("leases.v1.DataNodeSimulator", "ListDataNodes", "leases.v1.ListDataNodesRequest", "leases.v1.ListDataNodesResponse")
HealthCheck = io.rpc("grpc.health.v1.Health", "Check", "grpc.health.v1.HealthCheckRequest", "grpc.health.v1.HealthCheckResponse")

check, expect_error = io.check, io.expect_error


run = uuid.uuid4().hex[:8]
holder, path = f"py-alice-{run}", f"/interop-auth/{run}/a"

check("Health without a token -> SERVING", HealthCheck().status == 1)
expect_error("AddLease without a token -> UNAUTHENTICATED", grpc.StatusCode.UNAUTHENTICATED,
             lambda: AddLease(holder=holder, path=path))
expect_error("AddLease with an expired token -> UNAUTHENTICATED", grpc.StatusCode.UNAUTHENTICATED,
             lambda: AddLease(token=EXPIRED, holder=holder, path=path))
lease = AddLease(token=ALICE, holder=holder, path=path).lease
check("AddLease with a token grants", lease.holder == holder and lease.epoch > 0, str(lease))
check("RenewLease by the owner", RenewLease(token=ALICE, holder=holder).leases_renewed == 1)
expect_error("RenewLease of another principal's holder -> PERMISSION_DENIED", grpc.StatusCode.PERMISSION_DENIED,
             lambda: RenewLease(token=BOB, holder=holder))
expect_error("RemoveLease of another principal's holder -> PERMISSION_DENIED", grpc.StatusCode.PERMISSION_DENIED,
             lambda: RemoveLease(token=BOB, holder=holder, path=path))
check("ListLeases: bob sees none of alice's", len(ListLeases(token=BOB, path_prefix=f"/interop-auth/{run}/").leases) == 0)
check("ListLeases: alice sees hers", [l.path for l in ListLeases(token=ALICE, path_prefix=f"/interop-auth/{run}/").leases] == [path])
expect_error("RecoverLease force by a non-admin -> PERMISSION_DENIED", grpc.StatusCode.PERMISSION_DENIED,
             lambda: RecoverLease(token=BOB, path=path, force=True))
expect_error("DataNodeSimulator by a non-admin -> PERMISSION_DENIED", grpc.StatusCode.PERMISSION_DENIED,
             lambda: ListDataNodes(token=BOB))
check("DataNodeSimulator by an admin", len(ListDataNodes(token=ADMIN).datanodes) >= 1)
check("RecoverLease force by an admin closes the file", RecoverLease(token=ADMIN, path=path, force=True).closed)

print(f"interop-auth: {len(io.failures)} failed")
sys.exit(1 if io.failures else 0)
