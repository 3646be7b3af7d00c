using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace LeaseService.Server.Rpc;

/// <summary>A request marshaller that checks the raw message with <see cref="Utf8FieldValidator"/> before the generated parser runs.</summary>
internal static class Utf8CheckingMarshaller
{
    /// <summary>
    /// <paramref name="inner"/> with a deserializer that throws <see cref="RpcException"/>
    /// INVALID_ARGUMENT naming the first string field that is not valid UTF-8, or saying the
    /// message is not well-formed; the serializer is unchanged.
    /// </summary>
    public static Marshaller<T> Wrap<T>(Marshaller<T> inner) where T : class
    {
        var descriptor = Activator.CreateInstance<T>() is IMessage message
            ? message.Descriptor
            : throw new InvalidOperationException($"{typeof(T)} is not a protobuf message: its strings cannot be checked.");
        var parse = inner.ContextualDeserializer;
        return new Marshaller<T>(inner.ContextualSerializer, context => Deserialize(context, parse, descriptor));
    }

    private static T Deserialize<T>(DeserializationContext context, Func<DeserializationContext, T> parse, MessageDescriptor descriptor)
    {
        var payload = context.PayloadAsReadOnlySequence();
        var check = payload.IsSingleSegment ? Utf8FieldValidator.Check(payload.FirstSpan, descriptor, out var field) : CheckCopy(payload, descriptor, out field);
        switch (check)
        {
            case Utf8Check.InvalidUtf8:
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} is not valid UTF-8"));
            case Utf8Check.Malformed:
                throw NotWellFormed(descriptor);
        }

        try
        {
            return parse(context);
        }
        catch (InvalidProtocolBufferException)
        {
            throw NotWellFormed(descriptor);
        }
    }

    /// <summary>A message Kestrel received in several buffers, checked in one pooled copy.</summary>
    private static Utf8Check CheckCopy(in ReadOnlySequence<byte> payload, MessageDescriptor descriptor, out string? field)
    {
        var length = checked((int)payload.Length);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            payload.CopyTo(copy);
            return Utf8FieldValidator.Check(copy.AsSpan(0, length), descriptor, out field);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private static RpcException NotWellFormed(MessageDescriptor descriptor)
        => new(new Status(StatusCode.InvalidArgument, $"request is not a well-formed {descriptor.FullName}"));
}
