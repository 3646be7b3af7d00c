using System.Text.Unicode;
using Google.Protobuf.Reflection;

namespace LeaseService.Server.Rpc;

/// <summary>What <see cref="Utf8FieldValidator.Check"/> found in a serialized message.</summary>
internal enum Utf8Check
{
    /// <summary>Well-formed, and every string field it declares holds valid UTF-8.</summary>
    Valid,

    /// <summary>A string field holds bytes that are not valid UTF-8; the field is named.</summary>
    InvalidUtf8,

    /// <summary>Not a well-formed protobuf encoding (truncated, a bad wire type, unbalanced groups, too deep).</summary>
    Malformed,
}

/// <summary>
/// Checks the raw protobuf encoding of a message against its descriptor before it is parsed:
/// every occurrence of a <c>string</c> field, in nested messages, repeated fields and map
/// entries too, must be valid UTF-8 (<see cref="Utf8.IsValid(ReadOnlySpan{byte})"/>: no overlong
/// forms, no surrogates, nothing truncated or above U+10FFFF). Google.Protobuf's C# parser
/// would otherwise decode invalid bytes with U+FFFD replacement, so two different byte strings
/// would become the same holder or path. Walks the wire format once, allocating nothing.
/// </summary>
/// <remarks>
/// Only fields the descriptor declares are checked, with the wire type their type gives them, as
/// the parser reads them: unknown fields, and declared fields sent with another wire type (which
/// the parser keeps as unknown fields), are skipped untouched. <c>bytes</c> fields are never
/// checked. Nesting deeper than Google.Protobuf's default recursion limit (100) is malformed.
/// </remarks>
internal static class Utf8FieldValidator
{
    /// <summary>Google.Protobuf's default recursion limit for nested messages and groups.</summary>
    public const int MaxDepth = 100;

    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireStartGroup = 3;
    private const int WireEndGroup = 4;
    private const int WireFixed32 = 5;

    /// <summary>
    /// Checks <paramref name="message"/>, the encoding of a <paramref name="descriptor"/> message.
    /// On <see cref="Utf8Check.InvalidUtf8"/>, <paramref name="field"/> is the field's proto name,
    /// dotted through nested messages (e.g. <c>holder</c>, <c>lease.path</c>); otherwise null.
    /// </summary>
    public static Utf8Check Check(ReadOnlySpan<byte> message, MessageDescriptor descriptor, out string? field)
    {
        var position = 0;
        return CheckFields(message, ref position, descriptor, endGroup: 0, depth: 0, out field);
    }

    /// <summary>
    /// Reads fields from <paramref name="position"/> up to the end of <paramref name="data"/> or,
    /// inside a group, up to the end-group tag of field <paramref name="endGroup"/>.
    /// <paramref name="message"/> is null for content no descriptor declares (unknown groups).
    /// </summary>
    private static Utf8Check CheckFields(ReadOnlySpan<byte> data, ref int position, MessageDescriptor? message, int endGroup, int depth, out string? field)
    {
        field = null;
        while (position < data.Length)
        {
            if (!TryReadVarint(data, ref position, out var tag) || tag > uint.MaxValue || tag >> 3 == 0)
            {
                return Utf8Check.Malformed;
            }

            var number = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case WireVarint:
                    if (!TryReadVarint(data, ref position, out _))
                    {
                        return Utf8Check.Malformed;
                    }

                    break;
                case WireFixed64:
                    if (!TrySkip(data, ref position, 8))
                    {
                        return Utf8Check.Malformed;
                    }

                    break;
                case WireFixed32:
                    if (!TrySkip(data, ref position, 4))
                    {
                        return Utf8Check.Malformed;
                    }

                    break;
                case WireLengthDelimited:
                    if (!TryReadVarint(data, ref position, out var length) || length > (ulong)(data.Length - position))
                    {
                        return Utf8Check.Malformed;
                    }

                    var value = data.Slice(position, (int)length);
                    position += (int)length;
                    var declared = message?.FindFieldByNumber(number);
                    if (declared?.FieldType == FieldType.String)
                    {
                        if (!Utf8.IsValid(value))
                        {
                            field = declared.Name;
                            return Utf8Check.InvalidUtf8;
                        }
                    }
                    else if (declared?.FieldType == FieldType.Message)
                    {
                        var inner = 0;
                        var result = CheckNested(value, ref inner, declared, endGroup: 0, depth, out field);
                        if (result != Utf8Check.Valid)
                        {
                            return result;
                        }
                    }

                    break;
                case WireStartGroup:
                    {
                        // Proto2 groups; in proto3 messages always unknown, but their bounds still count.
                        var group = message?.FindFieldByNumber(number) is { FieldType: FieldType.Group } declaredGroup ? declaredGroup : null;
                        var result = CheckNested(data, ref position, group, endGroup: number, depth, out field);
                        if (result != Utf8Check.Valid)
                        {
                            return result;
                        }

                        break;
                    }

                case WireEndGroup:
                    return number == endGroup ? Utf8Check.Valid : Utf8Check.Malformed;
                default:
                    return Utf8Check.Malformed;
            }
        }

        // The end of the data closes a message, never a group.
        return endGroup == 0 ? Utf8Check.Valid : Utf8Check.Malformed;
    }

    /// <summary>
    /// The fields of a nested message or group (<paramref name="declared"/>; null when no
    /// descriptor declares it, whose content is then only walked), one level below
    /// <paramref name="depth"/>; an invalid field is named through <paramref name="declared"/>.
    /// </summary>
    private static Utf8Check CheckNested(ReadOnlySpan<byte> data, ref int position, FieldDescriptor? declared, int endGroup, int depth, out string? field)
    {
        field = null;
        if (depth + 1 > MaxDepth)
        {
            return Utf8Check.Malformed;
        }

        var result = CheckFields(data, ref position, declared?.MessageType, endGroup, depth + 1, out var innerField);
        if (result == Utf8Check.InvalidUtf8)
        {
            field = declared!.Name + "." + innerField;
        }

        return result;
    }

    /// <summary>A base-128 varint of at most 10 bytes (64 bits), as the protobuf wire format defines it.</summary>
    private static bool TryReadVarint(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
            {
                return false;
            }

            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    private static bool TrySkip(ReadOnlySpan<byte> data, ref int position, int count)
    {
        if (data.Length - position < count)
        {
            return false;
        }

        position += count;
        return true;
    }
}
