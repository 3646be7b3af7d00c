using Google.Protobuf;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using Grpc.Core;
using LeaseService.Testing;


namespace LeaseService.Server.Tests;

/// <summary>The lease server's answers to requests that are not well-formed gRPC, over real HTTP/2.</summary>
public sealed class WireConformanceTests : IAsyncLifetime
{
    private ServerFixture _server = null!;
    private RawGrpc _raw = null!;

    public async Task InitializeAsync()
    {
        _server = await ServerFixture.StartAsync();
        _raw = new RawGrpc(_server.Address);
    }

    public async Task DisposeAsync()
    {
        _raw.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task UnknownMethod_Unimplemented()
    {
        var response = await _raw.SendAsync("/leases.v1.LeaseService/Nope", RawGrpc.Frame(new GetLeaseRequest { Path = "/a" })).DefaultTimeout();

        response.HttpStatus.Should().Be(200);
        response.GrpcStatus.Should().Be("12");
    }

    [Fact]
    public async Task UnknownService_Unimplemented()
    {
        var response = await _raw.SendAsync("/leases.v9.Nope/GetLease", RawGrpc.Frame(new GetLeaseRequest { Path = "/a" })).DefaultTimeout();

        response.GrpcStatus.Should().Be("12");
    }

    [Fact]
    public async Task NonGrpcContentType_415()
    {
        var response = await _raw.SendAsync("/leases.v1.LeaseService/GetLease", [1, 2, 3], contentType: "application/json").DefaultTimeout();

        response.HttpStatus.Should().Be(415);
    }

    [Fact]
    public async Task NonPost_404()
    {
        // Grpc.AspNetCore routes gRPC methods for POST only: any other method matches no endpoint.
        var response = await _raw.SendAsync("/leases.v1.LeaseService/GetLease", [], method: "PUT").DefaultTimeout();

        response.HttpStatus.Should().Be(404);
        response.GrpcStatus.Should().BeNull();
    }

    [Fact]
    public async Task OversizeLength_ResourceExhaustedWithoutTheBody()
    {
        // Declares 5 MiB but sends only the header: the server must answer from the header alone.
        var response = await _raw.SendAsync("/leases.v1.LeaseService/AddLease", RawGrpc.Frame([], 0, 5 * 1024 * 1024)).DefaultTimeout();

        response.GrpcStatus.Should().Be("8");
    }

    [Fact]
    public async Task TruncatedBody_Internal()
    {
        var response = await _raw.SendAsync("/leases.v1.LeaseService/AddLease", RawGrpc.Frame([0x0A, 0x01], 0, 100)).DefaultTimeout();

        response.GrpcStatus.Should().Be("13");
        (await _server.Client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
    }

    [Fact]
    public async Task MalformedProtobuf_ErrorStatus_NothingChanges_ServerStaysUp()
    {
        var response = await _raw.SendAsync("/leases.v1.LeaseService/AddLease", RawGrpc.Frame([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], 0, 6)).DefaultTimeout();

        // Refused by the request check (Utf8CheckingMarshaller) before the parser, with no internals.
        response.GrpcStatus.Should().Be("3");
        response.GrpcMessage.Should().Be("request is not a well-formed leases.v1.AddLeaseRequest");
        (await _server.Client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
        (await _server.Client.AddLeaseAsync("w", "/still-up").DefaultTimeout()).Holder.Should().Be("w");
    }

    [Fact]
    public async Task CompressedFlagWithoutEncoding_Internal()
    {
        var response = await _raw.SendAsync("/leases.v1.LeaseService/GetLease", RawGrpc.Frame(new GetLeaseRequest { Path = "/a" }, flag: 1)).DefaultTimeout();

        response.GrpcStatus.Should().Be("13");
    }

    [Fact]
    public async Task CompressedWithUnsupportedEncoding_Unimplemented()
    {
        var response = await _raw.SendAsync(
            "/leases.v1.LeaseService/GetLease",
            RawGrpc.Frame(new GetLeaseRequest { Path = "/a" }, flag: 1),
            headers: ("grpc-encoding", "snappy")).DefaultTimeout();

        response.GrpcStatus.Should().Be("12");
    }

    [Fact]
    public async Task GzipCompressedRequest_Served()
    {
        await _server.Client.AddLeaseAsync("w", "/gz").DefaultTimeout();
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            new GetLeaseRequest { Path = "/gz" }.WriteTo(gzip);
        }

        var payload = compressed.ToArray();
        var response = await _raw.SendAsync("/leases.v1.LeaseService/GetLease", RawGrpc.Frame(payload, 1, (uint)payload.Length), headers: ("grpc-encoding", "gzip")).DefaultTimeout();

        response.GrpcStatus.Should().Be("0");
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task CorruptCompressedRequest_InternalNamingTheEncoding_NothingChanges(string encoding)
    {
        // Was UNKNOWN "Exception was thrown by handler." (the decoder's InvalidDataException),
        // logged as an Error of ours with its stack trace.
        byte[] payload = [.. "not compressed at all"u8];

        var response = await _raw.SendAsync(
            "/leases.v1.LeaseService/AddLease",
            RawGrpc.Frame(payload, 1, (uint)payload.Length),
            headers: ("grpc-encoding", encoding)).DefaultTimeout();

        response.GrpcStatus.Should().Be("13");
        response.GrpcMessage.Should().Be($"request message is not valid {encoding} data");
        (await _server.Client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
        (await _server.Client.AddLeaseAsync("w", "/still-up").DefaultTimeout()).Holder.Should().Be("w");
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task CompressedRequestCutShort_AtAFieldBoundary_InternalNothingChanges(string encoding)
    {
        // The decoders end quietly where their input ends: cut where client_machine begins, this
        // decoded as AddLease("w", "/cut") without it and was served.
        var whole = Compress(encoding, new AddLeaseRequest { Holder = "w", Path = "/cut", ClientMachine = "host" });
        var prefix = new AddLeaseRequest { Holder = "w", Path = "/cut" }.ToByteArray();
        var cut = Enumerable.Range(1, whole.Length - 1).Select(n => whole[..n]).First(p => Decodes(encoding, p).SequenceEqual(prefix));

        var response = await _raw.SendAsync("/leases.v1.LeaseService/AddLease", RawGrpc.Frame(cut, 1, (uint)cut.Length), headers: ("grpc-encoding", encoding)).DefaultTimeout();

        response.GrpcStatus.Should().Be("13");
        response.GrpcMessage.Should().Be($"request message is not valid {encoding} data");
        (await _server.Client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task CompressedRequest_Whole_Served(string encoding)
    {
        var payload = Compress(encoding, new AddLeaseRequest { Holder = "w", Path = "/whole", ClientMachine = new string('m', 200) });

        var response = await _raw.SendAsync("/leases.v1.LeaseService/AddLease", RawGrpc.Frame(payload, 1, (uint)payload.Length), headers: ("grpc-encoding", encoding)).DefaultTimeout();

        response.GrpcStatus.Should().Be("0");
        (await _server.Client.GetLeaseAsync("/whole").DefaultTimeout()).ClientMachine.Should().Be(new string('m', 200));
    }

    [Fact]
    public async Task GzipRequestOverTheLimitOnceDecompressed_ResourceExhausted()
    {
        // 5 MiB of client_machine compress to a few KiB: the limit applies to the message, not the wire.
        var request = new AddLeaseRequest { Holder = "w", Path = "/bomb", ClientMachine = new string('m', 5 * 1024 * 1024) };
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
        {
            request.WriteTo(gzip);
        }

        var payload = compressed.ToArray();
        var response = await _raw.SendAsync("/leases.v1.LeaseService/AddLease", RawGrpc.Frame(payload, 1, (uint)payload.Length), headers: ("grpc-encoding", "gzip")).DefaultTimeout();

        response.GrpcStatus.Should().Be("8");
        (await _server.Client.ListLeasesAsync().DefaultTimeout()).Leases.Should().BeEmpty();
    }

    /// <summary>gRPC's gzip (RFC 1952) or deflate (zlib, RFC 1950) encoding of <paramref name="message"/>.</summary>
    private static byte[] Compress(string encoding, IMessage message)
    {
        using var compressed = new MemoryStream();
        using (Stream stream = encoding == "gzip"
            ? new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)
            : new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            message.WriteTo(stream);
        }

        return compressed.ToArray();
    }

    /// <summary>What .NET's decoder makes of <paramref name="data"/>, however it ends; empty when it refuses it.</summary>
    private static byte[] Decodes(string encoding, byte[] data)
    {
        try
        {
            using var input = new MemoryStream(data);
            using Stream stream = encoding == "gzip"
                ? new System.IO.Compression.GZipStream(input, System.IO.Compression.CompressionMode.Decompress)
                : new System.IO.Compression.ZLibStream(input, System.IO.Compression.CompressionMode.Decompress);
            using var output = new MemoryStream();
            stream.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException)
        {
            return [];
        }
    }

    [Fact]
    public async Task EmptyBody_ErrorNotCrash()
    {
        var response = await _raw.SendAsync("/leases.v1.LeaseService/GetLease", []).DefaultTimeout();

        response.GrpcStatus.Should().NotBe("0");
    }

    [Fact]
    public async Task ErrorMessage_IsPercentEncodedAndDecoded()
    {
        var act = () => _server.Client.GetLeaseAsync("/ünïcødé 100%");

        (await act.Should().ThrowAsync<LeaseNotFoundException>()).Which.Status.Detail.Should().Contain("/ünïcødé 100%");
    }

    [Fact]
    public async Task ClientDeadlineAlreadyTight_DeadlineExceeded()
    {
        using var client = LeaseClient.Create(_server.Address, new LeaseClientOptions { CallTimeout = TimeSpan.FromTicks(1) });

        var act = () => client.GetLeaseAsync("/a");

        (await act.Should().ThrowAsync<LeaseServiceException>()).Which.StatusCode.Should().Be(StatusCode.DeadlineExceeded);
    }

    [Fact]
    public async Task CallerCancellation_Cancelled()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        var act = () => _server.Client.GetLeaseAsync("/a", cts.Token);

        (await act.Should().ThrowAsync<LeaseServiceException>()).Which.StatusCode.Should().Be(StatusCode.Cancelled);
    }

    [Fact]
    public async Task ServerNotListening_Unavailable()
    {
        using var client = LeaseClient.Create("http://127.0.0.1:1");

        var act = () => client.RenewLeaseAsync("w");

        (await act.Should().ThrowAsync<LeaseUnavailableException>()).Which.StatusCode.Should().Be(StatusCode.Unavailable);
    }
}
