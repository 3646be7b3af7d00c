"""What both interop scripts share: message classes from a descriptor set, unary stubs, checks.

Message classes come from a protobuf descriptor set built from protos/ (no generated code, so the
protoc version need not match the installed protobuf runtime).
"""
import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


class Interop:
    def __init__(self, descriptors_path, channel):
        fds = descriptor_pb2.FileDescriptorSet()
        with open(descriptors_path, "rb") as fh:
            fds.ParseFromString(fh.read())
        self._pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            self._pool.Add(f)
        self.channel = channel
        self.failures = []

    def message(self, name):
        desc = self._pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(desc)
        return message_factory.MessageFactory(self._pool).GetPrototype(desc)

    def rpc(self, service, method, request_type, response_type):
        """A unary call: call(timeout=10, token=None, **fields); a token goes as grpcio's per-call credentials."""
        response_cls = self.message(response_type)
        stub = self.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,
        )
        request_cls = self.message(request_type)

        def call(timeout=10, token=None, **fields):
            credentials = grpc.access_token_call_credentials(token) if token else None
            return stub(request_cls(**fields), timeout=timeout, credentials=credentials)

        return call

    def raw_rpc(self, service, method, response_type):
        """A unary call whose request is the given bytes, sent as they are (call(payload, timeout=10)):
        for encodings a protobuf library would refuse to build, such as strings that are not UTF-8."""
        stub = self.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda payload: payload,
            response_deserializer=self.message(response_type).FromString,
        )
        return lambda payload, timeout=10: stub(payload, timeout=timeout)

    def lease_rpc(self, method, request=None, response=None):
        return self.rpc("leases.v1.LeaseService", method, f"leases.v1.{request or method + 'Request'}", f"leases.v1.{response or method + 'Response'}")

    @staticmethod
    def fields(*pairs):
        """A protobuf encoding of length-delimited fields: (field number, bytes) pairs, bytes as given."""
        out = bytearray()
        for number, value in pairs:
            out += _varint(number << 3 | 2) + _varint(len(value)) + value
        return bytes(out)

    def check(self, name, condition, detail=""):
        print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"))
        if not condition:
            self.failures.append(name)

    def expect_error(self, name, code, fn, contains=""):
        codes = code if isinstance(code, tuple) else (code,)
        try:
            fn()
        except grpc.RpcError as e:
            self.check(name, e.code() in codes and contains in (e.details() or ""), f"got {e.code()} {e.details()!r}")
            return
        self.check(name, False, f"expected {codes}, call succeeded")


def _varint(value):
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)
