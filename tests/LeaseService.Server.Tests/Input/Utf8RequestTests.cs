using System.IO.Compression;
using System.Reflection;
using Grpc.Core;
using LeaseService.Contracts.V1;
using LeaseService.Server.Rpc;
using LeaseService.Testing;
using static LeaseService.Testing.WireFields;

namespace LeaseService.Server.Tests.Input;

/// <summary>
/// Requests whose string fields are not valid UTF-8, sent as raw bytes over real HTTP/2 to the
/// real server: INVALID_ARGUMENT naming the field, before any service code runs, and nothing changes.
/// </summary>
public sealed class Utf8RequestTests : IAsyncLifetime
{
    private const string InvalidArgument = "3";

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

    /// <summary>Every string field of every request of leases.v1.LeaseService and leases.v1.DataNodeSimulator.</summary>
    public static TheoryData<string, int, string> StringFields => new()
    {
        { "/leases.v1.LeaseService/AddLease", 1, "holder" },
        { "/leases.v1.LeaseService/AddLease", 2, "path" },
        { "/leases.v1.LeaseService/AddLease", 3, "client_machine" },
        { "/leases.v1.LeaseService/RenewLease", 1, "holder" },
        { "/leases.v1.LeaseService/RemoveLease", 1, "holder" },
        { "/leases.v1.LeaseService/RemoveLease", 2, "path" },
        { "/leases.v1.LeaseService/RecoverLease", 1, "path" },
        { "/leases.v1.LeaseService/RecoverLease", 2, "requester" },
        { "/leases.v1.LeaseService/GetLease", 1, "path" },
        { "/leases.v1.LeaseService/ListLeases", 1, "holder" },
        { "/leases.v1.LeaseService/ListLeases", 2, "path_prefix" },
        { "/leases.v1.LeaseService/ListLeases", 4, "page_token" },
        { "/leases.v1.LeaseService/AddBlock", 1, "holder" },
        { "/leases.v1.LeaseService/AddBlock", 2, "path" },
        { "/leases.v1.LeaseService/GetFile", 1, "path" },
        { "/leases.v1.DataNodeSimulator/StopDataNode", 1, "datanode_id" },
        { "/leases.v1.DataNodeSimulator/RestartDataNode", 1, "datanode_id" },
        { "/leases.v1.DataNodeSimulator/PauseDataNode", 1, "datanode_id" },
        { "/leases.v1.DataNodeSimulator/ResumeDataNode", 1, "datanode_id" },
        { "/leases.v1.DataNodeSimulator/InjectFailure", 1, "datanode_id" },
    };

    [Theory]
    [MemberData(nameof(StringFields))]
    public async Task InvalidUtf8Field_InvalidArgumentNamingIt(string method, int number, string name)
    {
        var response = await _raw.SendAsync(method, RawGrpc.Frame(Message((number, Bytes("/x", 0xFF))))).DefaultTimeout();

        response.GrpcStatus.Should().Be(InvalidArgument, response.GrpcMessage);
        response.GrpcMessage.Should().Be($"{name} is not valid UTF-8");
    }

    [Fact]
    public async Task HolderBytesThatWouldDecodeAlike_CannotTouchTheLease_NothingChanges()
    {
        // Before the check, w\xFF and w\xFE both decoded to "w\uFFFD": one holder could renew,
        // release or take over the other's lease. Now neither reaches the service.
        const string path = "/utf8/a";
        var lease = await _server.Client.AddLeaseAsync("w\uFFFD", path, "host").DefaultTimeout();

        await ExpectInvalid("/leases.v1.LeaseService/RenewLease", "holder", (1, Bytes("w", 0xFF)));
        await ExpectInvalid("/leases.v1.LeaseService/RemoveLease", "holder", (1, Bytes("w", 0xFE)), (2, Utf8(path)));
        await ExpectInvalid("/leases.v1.LeaseService/AddLease", "holder", (1, Bytes("w", 0xFE)), (2, Utf8(path)));
        await ExpectInvalid("/leases.v1.LeaseService/AddBlock", "holder", (1, Bytes("w", 0xFF)), (2, Utf8(path)));
        await ExpectInvalid("/leases.v1.LeaseService/AddLease", "path", (1, Utf8("w2")), (2, Bytes("/utf8/b", 0xFF)));
        await ExpectInvalid("/leases.v1.LeaseService/RecoverLease", "requester", (1, Utf8(path)), (2, Bytes("ops", 0xC0, 0xAF)));

        var after = await _server.Client.GetLeaseAsync(path).DefaultTimeout();
        after.Holder.Should().Be("w\uFFFD");
        after.Epoch.Should().Be(lease.Epoch);
        after.State.Should().Be(LeaseState.Active);
        (await _server.Client.ListLeasesAsync().DefaultTimeout()).Leases.Select(l => l.Path).Should().Equal(path);
        (await _server.Client.GetFileAsync(path).DefaultTimeout()).Blocks.Should().BeEmpty("AddBlock never ran");
        (await _server.Client.RenewLeaseAsync("w\uFFFD").DefaultTimeout()).LeasesRenewed.Should().Be(1);
    }

    [Fact]
    public async Task InvalidDataNodeId_DataNodeUntouched()
    {
        var dataNode = (await _server.Client.CallAsync(o => _server.Client.Simulator.ListDataNodesAsync(new ListDataNodesRequest(), o)).DefaultTimeout()).Datanodes[0].DatanodeId;

        await ExpectInvalid("/leases.v1.DataNodeSimulator/StopDataNode", "datanode_id", (1, Bytes(dataNode, 0xFF)));

        var nodes = await _server.Client.CallAsync(o => _server.Client.Simulator.ListDataNodesAsync(new ListDataNodesRequest(), o)).DefaultTimeout();
        nodes.Datanodes.Should().OnlyContain(n => n.Running && !n.Paused);
    }

    [Fact]
    public async Task ValidMultiByteStrings_Served()
    {
        var response = await _raw.SendAsync("/leases.v1.LeaseService/AddLease", RawGrpc.Frame(Message((1, Utf8("wrïter-😀")), (2, Utf8("/中文/ü")), (3, Utf8("hôst"))))).DefaultTimeout();

        response.GrpcStatus.Should().Be("0", response.GrpcMessage);
        (await _server.Client.GetLeaseAsync("/中文/ü").DefaultTimeout()).Holder.Should().Be("wrïter-😀");
    }

    [Fact]
    public async Task UnknownFieldWithInvalidBytes_Ignored()
    {
        var response = await _raw.SendAsync("/leases.v1.LeaseService/AddLease", RawGrpc.Frame(Message((1, Utf8("w")), (2, Utf8("/unknown-field")), (99, Bytes("x", 0xFF))))).DefaultTimeout();

        response.GrpcStatus.Should().Be("0", response.GrpcMessage);
    }

    [Fact]
    public async Task LargeRequest_InvalidByteAtTheEnd_Caught()
    {
        // Large enough to arrive in several buffers (checked in one copy).
        var path = Bytes("/" + new string('a', 100_000), 0xFF);

        await ExpectInvalid("/leases.v1.LeaseService/GetLease", "path", (1, path));

        // As large, valid: a 4,000-byte multi-byte path after 100 kB of an unknown field.
        var valid = await _raw.SendAsync("/leases.v1.LeaseService/GetLease", Frame((99, new byte[100_000]), (1, Utf8("/" + new string('é', 1999))))).DefaultTimeout();
        valid.GrpcStatus.Should().Be(((int)StatusCode.NotFound).ToString(), valid.GrpcMessage);
    }

    [Fact]
    public async Task GzipCompressedInvalidRequest_Caught()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Message((1, Bytes("w", 0xFF))));
        }

        var payload = compressed.ToArray();
        var response = await _raw.SendAsync("/leases.v1.LeaseService/RenewLease", RawGrpc.Frame(payload, 1, (uint)payload.Length), headers: ("grpc-encoding", "gzip")).DefaultTimeout();

        response.GrpcStatus.Should().Be(InvalidArgument);
        response.GrpcMessage.Should().Be("holder is not valid UTF-8");
    }

    [Fact]
    public void EveryServiceOfTheContract_BoundThroughTheUtf8Check()
    {
        // A new service on a generated base must opt in too (one attribute): this fails until it does.
        var contract = typeof(AddLeaseRequest).Assembly;
        var services = typeof(Utf8ValidatedBinding<>).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && t.BaseType?.GetCustomAttribute<Grpc.Core.BindServiceMethodAttribute>(inherit: false) is { } bind && bind.BindType.Assembly == contract)
            .ToList();

        services.Should().HaveCount(3);
        services.Should().OnlyContain(
            t => t.GetCustomAttribute<Grpc.Core.BindServiceMethodAttribute>(false)!.BindType == typeof(Utf8ValidatedBinding<>).MakeGenericType(t.BaseType!),
            "every service must be bound through Utf8ValidatedBinding");
    }

    private static byte[] Frame(params (int Number, byte[] Value)[] fields) => RawGrpc.Frame(Message(fields));

    private async Task ExpectInvalid(string method, string field, params (int Number, byte[] Value)[] fields)
    {
        var response = await _raw.SendAsync(method, Frame(fields)).DefaultTimeout();

        response.GrpcStatus.Should().Be(InvalidArgument, $"{method}: {response.GrpcMessage}");
        response.GrpcMessage.Should().Be($"{field} is not valid UTF-8");
    }
}
