using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Grpc.Core;
using LeaseService.Contracts.V1;
using LeaseService.Server.Rpc;

namespace LeaseService.Benchmarks;

/// <summary>
/// What the UTF-8 request check adds to deserializing a request: the generated parser alone vs.
/// the checking marshaller (walk + parse), for a RenewLease and a typical AddLease.
/// </summary>
[MemoryDiagnoser]
public class Utf8CheckBenchmarks
{
    private static readonly Marshaller<RenewLeaseRequest> RenewPlain = new Marshaller<RenewLeaseRequest>(static (_, _) => throw new NotSupportedException(), static c => RenewLeaseRequest.Parser.ParseFrom(c.PayloadAsReadOnlySequence()));
    private static readonly Marshaller<AddLeaseRequest> AddPlain = new Marshaller<AddLeaseRequest>(static (_, _) => throw new NotSupportedException(), static c => AddLeaseRequest.Parser.ParseFrom(c.PayloadAsReadOnlySequence()));
    private static readonly Marshaller<RenewLeaseRequest> RenewChecked = Utf8CheckingMarshaller.Wrap(RenewPlain);
    private static readonly Marshaller<AddLeaseRequest> AddChecked = Utf8CheckingMarshaller.Wrap(AddPlain);

    private readonly Payload _renew = new(new RenewLeaseRequest { Holder = "DFSClient_NONMAPREDUCE_-1234567_42" }.ToByteArray());
    private readonly Payload _add = new(new AddLeaseRequest { Holder = "DFSClient_NONMAPREDUCE_-1234567_42", Path = "/user/etl/warehouse/events/dt=2026-12-02/part-00042-ü.parquet", ClientMachine = "worker-17.rack-3.example" }.ToByteArray());

    [Benchmark(Baseline = true)]
    public RenewLeaseRequest RenewLease_ParseOnly() => Check(RenewPlain.ContextualDeserializer(_renew));

    [Benchmark]
    public RenewLeaseRequest RenewLease_CheckedAndParsed() => Check(RenewChecked.ContextualDeserializer(_renew));

    [Benchmark]
    public AddLeaseRequest AddLease_ParseOnly() => Check(AddPlain.ContextualDeserializer(_add));

    [Benchmark]
    public AddLeaseRequest AddLease_CheckedAndParsed() => Check(AddChecked.ContextualDeserializer(_add));

    private static T Check<T>(T request) where T : class
        => request is RenewLeaseRequest { Holder.Length: > 0 } or AddLeaseRequest { Path.Length: > 0 } ? request : throw new InvalidOperationException("wrong parse");

    private sealed class Payload(byte[] bytes) : DeserializationContext
    {
        public override int PayloadLength => bytes.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])bytes.Clone();

        public override System.Buffers.ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(bytes);
    }
}
