using LeaseService.IntegrationTests.Infrastructure;
using LeaseService.Testing;
using Xunit.Abstractions;
using static LeaseService.Testing.WireFields;

namespace LeaseService.IntegrationTests;

/// <summary>Requests a well-behaved client never sends, as raw bytes to the server process: refused, and nothing changes.</summary>
public sealed class InputTests(SharedServer server, ITestOutputHelper output) : SharedServerTests(server, output)
{
    [Fact]
    public async Task InvalidUtf8Holder_InvalidArgument_CannotRenewReleaseOrTakeOverAnothersLease()
    {
        // w\xFF and w\xFE would both decode to "w\uFFFD" with replacement: the same holder.
        var holder = ServerTarget.Unique("w") + "\uFFFD";
        var path = $"/it/{ServerTarget.Unique("utf8")}/log";
        var lease = await Client.AddLeaseAsync(holder, path, "it-host").DefaultTimeout();
        using var raw = new RawGrpc(Server.Address);
        var lookalike = Utf8(holder)[..^3];

        foreach (var (method, fields) in new (string, (int, byte[])[])[]
        {
            ("RenewLease", [(1, [.. lookalike, 0xFF])]),
            ("RemoveLease", [(1, [.. lookalike, 0xFE]), (2, Utf8(path))]),
            ("AddLease", [(1, [.. lookalike, 0xFF]), (2, Utf8(path)), (3, Utf8("elsewhere"))]),
            ("AddBlock", [(1, [.. lookalike, 0xFE]), (2, Utf8(path))]),
        })
        {
            var response = await raw.SendAsync($"/leases.v1.LeaseService/{method}", RawGrpc.Frame(Message(fields))).DefaultTimeout();
            response.GrpcStatus.Should().Be("3", $"{method}: {response.GrpcMessage}");
            response.GrpcMessage.Should().Be("holder is not valid UTF-8", method);
        }

        var after = await Client.GetLeaseAsync(path).DefaultTimeout();
        after.Holder.Should().Be(holder);
        after.ClientMachine.Should().Be("it-host");
        after.Epoch.Should().Be(lease.Epoch);
        (await Client.GetFileAsync(path).DefaultTimeout()).Blocks.Should().BeEmpty();
        (await Client.RemoveLeaseAsync(holder, path).DefaultTimeout()).Should().BeTrue("the real holder still holds it");
    }
}
