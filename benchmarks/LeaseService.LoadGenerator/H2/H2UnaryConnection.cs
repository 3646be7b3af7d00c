using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using static LeaseService.LoadGenerator.H2.Http2Frames;

namespace LeaseService.LoadGenerator.H2;

/// <summary>One gRPC method as the lean transport calls it: its path, each call's request, and the check of each answer.</summary>
/// <param name="Path">The method's path, e.g. /leases.v1.LeaseService/AddLease.</param>
/// <param name="Request">The request of call <c>n</c> made by worker <c>w</c>.</param>
/// <param name="Check">Null when the response message is the right answer to the request; else what is wrong.</param>
internal sealed record H2Method(string Path, Func<int, long, IMessage> Request, Func<IMessage, ReadOnlySpan<byte>, string?> Check);

/// <summary>The call numbers every connection takes from, until the end or the deadline.</summary>
internal sealed class CallNumbers(long next, long end, long deadline)
{
    private long _next = next;

    public bool TryTake(out long n)
    {
        n = Interlocked.Increment(ref _next);
        return n < end && Stopwatch.GetTimestamp() < deadline;
    }
}

/// <summary>Failed calls across the connections: how many, and the first one's reason.</summary>
internal sealed class CallErrors
{
    private long _count;
    private string? _first;

    public long Count => Interlocked.Read(ref _count);

    public string? First => Volatile.Read(ref _first);

    public void Add(string reason)
    {
        Interlocked.Increment(ref _count);
        Interlocked.CompareExchange(ref _first, reason, null);
    }
}

/// <summary>
/// A closed loop of unary gRPC calls on one HTTP/2 connection, driven by one thread with blocking
/// socket reads and no other work per call than encoding the request, framing it, and parsing and
/// checking the response: the client's CPU per call is a few microseconds, against tens for
/// Grpc.Net.Client, so on a machine where the client shares the cores with the server most of the
/// CPU goes to the server being measured. Each of <c>streams</c> slots keeps one call in flight and
/// sends the next as soon as its answer is in; the writes a batch of answers causes go out in one send.
/// A call succeeded when its response message arrived and <see cref="H2Method.Check"/> accepts it: a
/// failed gRPC call carries no message (its status is in trailers, which this client does not decode).
/// Honours the server's SETTINGS (concurrent streams, stream window), the connection's send window,
/// PING and GOAWAY; grants the server the largest windows and tops the connection's up as it reads.
/// </summary>
internal sealed class H2UnaryConnection : IDisposable
{
    private const int MaxFrameSize = 16_384; // SETTINGS_MAX_FRAME_SIZE's default: the largest DATA frame we may send.

    private readonly Socket _socket;
    private readonly H2Method _method;
    private readonly byte[] _headerBlock;
    private readonly Slot[] _slots;
    private readonly Dictionary<int, Slot> _open = [];
    private readonly Queue<Slot> _blocked = new(); // Ready to send, waiting for window or a stream.
    private byte[] _in = new byte[256 * 1024];
    private int _inStart;
    private int _inEnd;
    private byte[] _out = new byte[256 * 1024];
    private int _outLength;
    private int _nextStreamId = 1;
    private long _sendWindow = DefaultWindow;
    private long _streamWindow = DefaultWindow;
    private long _maxStreams = long.MaxValue;
    private long _unacknowledged;
    private bool _settingsSeen;

    // Set by Run for its duration.
    private CallNumbers? _numbers;
    private List<long>? _latencies;
    private CallErrors? _errors;

    private H2UnaryConnection(Socket socket, H2Method method, string authority, int firstWorker, int streams)
    {
        _socket = socket;
        _method = method;
        _headerBlock = RequestHeaderBlock(method.Path, authority);
        _slots = Enumerable.Range(firstWorker, streams).Select(w => new Slot(w)).ToArray();
    }

    /// <summary>
    /// Connects to <paramref name="target"/> (http:// only), exchanges SETTINGS, and checks the
    /// server allows <paramref name="streams"/> concurrent streams. Slots are workers
    /// <paramref name="firstWorker"/> onwards.
    /// </summary>
    public static H2UnaryConnection Open(Uri target, H2Method method, int firstWorker, int streams)
    {
        if (target.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"the h2 transport speaks cleartext HTTP/2 only (http://), not {target.Scheme}://", nameof(target));
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(new DnsEndPoint(target.Host, target.Port));
            var connection = new H2UnaryConnection(socket, method, target.Authority, firstWorker, streams);
            connection.Append(Opening());
            connection.Flush();
            while (!connection._settingsSeen)
            {
                connection.Receive();
                connection.Flush();
            }

            if (streams > connection._maxStreams)
            {
                throw new InvalidOperationException($"the server allows {connection._maxStreams} concurrent streams per connection, not {streams}: use more connections");
            }

            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Keeps every slot busy with the next call number until <paramref name="numbers"/> runs out,
    /// then waits for the calls in flight. Latencies of answered calls go to
    /// <paramref name="latencies"/> (Stopwatch ticks) when given; failures to <paramref name="errors"/>.
    /// </summary>
    public void Run(CallNumbers numbers, List<long>? latencies, CallErrors errors)
    {
        (_numbers, _latencies, _errors) = (numbers, latencies, errors);
        foreach (var slot in _slots)
        {
            if (numbers.TryTake(out var n))
            {
                Start(slot, n);
            }
        }

        Flush();
        while (_open.Count + _blocked.Count > 0)
        {
            Receive();
            Flush();
        }
    }

    public void Dispose() => _socket.Dispose();

    private void Start(Slot slot, long n)
    {
        slot.N = n;
        slot.ResponseLength = 0;
        slot.Request = _method.Request(slot.Worker, n);
        slot.RequestSize = slot.Request.CalculateSize();
        if (5 + slot.RequestSize > Math.Min(MaxFrameSize, _streamWindow))
        {
            throw new InvalidOperationException($"a request of {slot.RequestSize} bytes does not fit one DATA frame within the server's stream window");
        }

        _blocked.Enqueue(slot);
        SendReady();
    }

    /// <summary>Sends the waiting requests in order while the connection window and the server's stream limit allow.</summary>
    private void SendReady()
    {
        while (_blocked.TryPeek(out var slot) && _sendWindow >= 5 + slot.RequestSize && _open.Count < _maxStreams)
        {
            _blocked.Dequeue();
            var id = _nextStreamId;
            _nextStreamId += 2;
            var dataLength = 5 + slot.RequestSize;
            var frame = Reserve(HeaderLength + _headerBlock.Length + HeaderLength + dataLength);
            WriteHeader(frame, _headerBlock.Length, Headers, EndHeaders, id);
            _headerBlock.CopyTo(frame[HeaderLength..]);
            var data = frame[(HeaderLength + _headerBlock.Length)..];
            WriteHeader(data, dataLength, Data, EndStream, id);
            data[HeaderLength] = 0; // Not compressed.
            BinaryPrimitives.WriteInt32BigEndian(data[(HeaderLength + 1)..], slot.RequestSize);
            slot.Request!.WriteTo(data.Slice(HeaderLength + 5, slot.RequestSize));
            _sendWindow -= dataLength;
            _open[id] = slot;
            slot.Started = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Reads what the socket has (blocking until something) and handles every whole frame.</summary>
    private void Receive()
    {
        if (_inStart > 0)
        {
            Buffer.BlockCopy(_in, _inStart, _in, 0, _inEnd - _inStart);
            (_inEnd, _inStart) = (_inEnd - _inStart, 0);
        }

        var read = _socket.Receive(_in, _inEnd, _in.Length - _inEnd, SocketFlags.None);
        if (read == 0)
        {
            throw new IOException("the server closed the connection");
        }

        _inEnd += read;
        while (_inEnd - _inStart >= HeaderLength)
        {
            var frame = _in.AsSpan(_inStart, _inEnd - _inStart);
            var length = (frame[0] << 16) | (frame[1] << 8) | frame[2];
            if (frame.Length < HeaderLength + length)
            {
                if (HeaderLength + length > _in.Length)
                {
                    Array.Resize(ref _in, HeaderLength + length);
                }

                break;
            }

            Handle(frame[3], frame[4], BinaryPrimitives.ReadInt32BigEndian(frame[5..]) & int.MaxValue, frame.Slice(HeaderLength, length));
            _inStart += HeaderLength + length;
        }
    }

    private void Handle(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        Slot? slot;
        switch (type)
        {
            case Data:
                _unacknowledged += payload.Length;
                if (_open.TryGetValue(streamId, out slot))
                {
                    var data = payload;
                    if ((flags & Padded) != 0)
                    {
                        data = data[1..(data.Length - data[0])];
                    }

                    slot.Append(data);
                    if ((flags & EndStream) != 0)
                    {
                        Complete(streamId, slot, null);
                    }
                }

                if (_unacknowledged >= 1 << 30)
                {
                    WindowUpdateFrame(Reserve(HeaderLength + 4), 0, (int)_unacknowledged);
                    _unacknowledged = 0;
                }

                break;
            case Headers:
                // Response headers, or the trailers that end the call (END_STREAM). Their HPACK
                // block is not decoded: the response message is what is checked.
                if ((flags & EndStream) != 0 && _open.TryGetValue(streamId, out slot))
                {
                    Complete(streamId, slot, null);
                }

                break;
            case RstStream:
                if (_open.TryGetValue(streamId, out slot))
                {
                    Complete(streamId, slot, $"the server reset the stream (HTTP/2 error code {BinaryPrimitives.ReadUInt32BigEndian(payload)})");
                }

                break;
            case Settings:
                if ((flags & Ack) == 0)
                {
                    for (var i = 0; i + 6 <= payload.Length; i += 6)
                    {
                        var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
                        switch (BinaryPrimitives.ReadUInt16BigEndian(payload[i..]))
                        {
                            case SettingsMaxConcurrentStreams:
                                _maxStreams = value;
                                break;
                            case SettingsInitialWindowSize:
                                _streamWindow = value;
                                break;
                        }
                    }

                    WriteHeader(Reserve(HeaderLength), 0, Settings, Ack, 0);
                    _settingsSeen = true;
                }

                break;
            case Ping:
                if ((flags & Ack) == 0)
                {
                    var pong = Reserve(HeaderLength + 8);
                    WriteHeader(pong, 8, Ping, Ack, 0);
                    payload[..8].CopyTo(pong[HeaderLength..]);
                }

                break;
            case GoAway:
                throw new IOException($"the server sent GOAWAY (HTTP/2 error code {BinaryPrimitives.ReadUInt32BigEndian(payload[4..])}): {System.Text.Encoding.UTF8.GetString(payload[8..])}");
            case WindowUpdate:
                if (streamId == 0)
                {
                    _sendWindow += BinaryPrimitives.ReadUInt32BigEndian(payload) & int.MaxValue;
                    SendReady();
                }

                break;
        }
    }

    private void Complete(int streamId, Slot slot, string? failure)
    {
        _open.Remove(streamId);
        failure ??= CheckResponse(slot);
        if (failure is null)
        {
            _latencies?.Add(Stopwatch.GetTimestamp() - slot.Started);
        }
        else
        {
            _errors!.Add($"call {slot.N}: {failure}");
        }

        if (_numbers!.TryTake(out var n))
        {
            Start(slot, n);
        }
        else
        {
            SendReady(); // A stream came free for a waiting slot.
        }
    }

    private string? CheckResponse(Slot slot)
    {
        var response = slot.Response.AsSpan(0, slot.ResponseLength);
        if (response.Length < 5)
        {
            return "no response message (the call failed; its status is in the trailers)";
        }

        if (response[0] != 0 || BinaryPrimitives.ReadInt32BigEndian(response[1..]) != response.Length - 5)
        {
            return $"not one uncompressed gRPC message ({response.Length} bytes, flag {response[0]})";
        }

        return _method.Check(slot.Request!, response[5..]);
    }

    private Span<byte> Reserve(int length)
    {
        if (_outLength + length > _out.Length)
        {
            Array.Resize(ref _out, Math.Max(_out.Length * 2, _outLength + length));
        }

        var span = _out.AsSpan(_outLength, length);
        _outLength += length;
        return span;
    }

    private void Append(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    private void Flush()
    {
        for (var sent = 0; sent < _outLength;)
        {
            sent += _socket.Send(_out, sent, _outLength - sent, SocketFlags.None);
        }

        _outLength = 0;
    }

    private sealed class Slot(int worker)
    {
        public int Worker { get; } = worker;

        public long N { get; set; }

        public long Started { get; set; }

        public IMessage? Request { get; set; }

        public int RequestSize { get; set; }

        public byte[] Response { get; private set; } = new byte[512];

        public int ResponseLength { get; set; }

        public void Append(ReadOnlySpan<byte> data)
        {
            if (ResponseLength + data.Length > Response.Length)
            {
                var larger = new byte[Math.Max(Response.Length * 2, ResponseLength + data.Length)];
                Response.AsSpan(0, ResponseLength).CopyTo(larger);
                Response = larger;
            }

            data.CopyTo(Response.AsSpan(ResponseLength));
            ResponseLength += data.Length;
        }
    }
}
