using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using LeaseService.Client;
using LeaseService.Contracts.V1;
using LeaseService.Testing;
using Microsoft.Extensions.Logging;

namespace LeaseService.Server.Tests.Security;

/// <summary>The authorization rules over the wire: holder ownership, admin-only force and control services, ListLeases filtering, path rules, denial records.</summary>
public sealed class AuthorizationTests(SecureServer server) : IClassFixture<SecureServer>
{
    private LeaseClient Admin => server.As(SecureServer.Admin);

    [Theory]
    [InlineData("leases.v1.datanodesimulator", "StopDataNode")]
    [InlineData("LEASES.V1.DATANODESIMULATOR", "StopDataNode")]
    [InlineData("leases.v1.datanodesimulator", "StopDataNode/")]
    [InlineData("leases.v1.DataNodeSimulator", "stopdatanode/")]
    public async Task AdminOnlyMethod_NamedInAnotherCaseOrWithATrailingSlash_IsUnimplemented_AndNothingChanges(string service, string name)
    {
        // ASP.NET Core routing ignores case and a trailing slash; gRPC method names do not, and
        // the admin rule reads the method from the path: such a call must not reach the handler.
        var bob = server.As("bob");
        var stop = new Method<DataNodeRequest, DataNodeInfo>(
            MethodType.Unary, service, name,
            Marshallers.Create((DataNodeRequest r) => Google.Protobuf.MessageExtensions.ToByteArray(r), DataNodeRequest.Parser.ParseFrom),
            Marshallers.Create((DataNodeInfo r) => Google.Protobuf.MessageExtensions.ToByteArray(r), DataNodeInfo.Parser.ParseFrom));

        var call = () => bob.CallAsync(o => bob.CallInvoker.AsyncUnaryCall(stop, null, o, new DataNodeRequest { DatanodeId = "dn-1" }));

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.Unimplemented);
        (await Admin.CallAsync(o => Admin.Simulator.ListDataNodesAsync(new ListDataNodesRequest(), o)).DefaultTimeout())
            .Datanodes.Should().OnlyContain(n => n.Running, "no DataNode was stopped");
    }

    [Fact]
    public async Task Unauthenticated_CallsToMadeUpMethods_AddNoMetricLabels()
    {
        // Anyone can send any path: the denial metric's method label must come from the server's
        // own endpoints, or every made-up method name would be a new time series.
        var invented = $"NoSuchMethod{Guid.NewGuid():N}";
        var anonymous = server.Client(token: null);
        var method = new Method<GetLeaseRequest, LeaseInfo>(
            MethodType.Unary, "leases.v1.LeaseService", invented,
            Marshallers.Create((GetLeaseRequest r) => Google.Protobuf.MessageExtensions.ToByteArray(r), GetLeaseRequest.Parser.ParseFrom),
            Marshallers.Create((LeaseInfo r) => Google.Protobuf.MessageExtensions.ToByteArray(r), LeaseInfo.Parser.ParseFrom));

        var call = () => anonymous.CallAsync(o => anonymous.CallInvoker.AsyncUnaryCall(method, null, o, new GetLeaseRequest { Path = "/x" }));

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().BeOneOf(StatusCode.Unauthenticated, StatusCode.Unimplemented);
        server.DenialMethods.Keys.Should().NotContain(k => k.Contains(invented, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddLease_HolderOwnedByAnotherPrincipal_IsPermissionDeniedAndNothingChanges()
    {
        var granted = await server.As("alice").AddLeaseAsync("own-add", "/own/add/1").DefaultTimeout();

        var call = () => server.As("bob").AddLeaseAsync("own-add", "/own/add/2");

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        await Assert.ThrowsAsync<LeaseNotFoundException>(() => Admin.GetFileAsync("/own/add/2"));
        (await Admin.GetLeaseAsync("/own/add/1").DefaultTimeout()).Epoch.Should().Be(granted.Epoch);
    }

    [Fact]
    public async Task RenewRemoveAndAddBlock_HolderOwnedByAnotherPrincipal_ArePermissionDeniedAndNothingChanges()
    {
        var alice = server.As("alice");
        await alice.AddLeaseAsync("own-ops", "/own/ops").DefaultTimeout();
        var bob = server.As("bob");

        var renew = () => bob.RenewLeaseAsync("own-ops");
        var remove = () => bob.RemoveLeaseAsync("own-ops", "/own/ops");
        var addBlock = () => bob.AddBlockAsync("own-ops", "/own/ops");

        (await renew.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        (await remove.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        (await addBlock.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        var file = await alice.GetFileAsync("/own/ops").DefaultTimeout();
        file.UnderConstruction.Should().BeTrue();
        file.Blocks.Should().BeEmpty();
        (await alice.RemoveLeaseAsync("own-ops", "/own/ops").DefaultTimeout()).Should().BeTrue();
    }

    [Fact]
    public async Task RecoverLease_ForceByNonAdmin_IsPermissionDeniedAndNothingChanges()
    {
        var lease = await server.As("alice").AddLeaseAsync("force-target", "/force/denied").DefaultTimeout();

        var call = () => server.As("bob").RecoverLeaseAsync("/force/denied", force: true);

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        var after = await Admin.GetLeaseAsync("/force/denied").DefaultTimeout();
        (after.Holder, after.Epoch, after.State).Should().Be(("force-target", lease.Epoch, LeaseState.Active));
    }

    [Fact]
    public async Task RecoverLease_ForceByNonAdmin_WithAHugePath_IsPermissionDenied_AndLoggedCut()
    {
        var marker = $"/huge-{Guid.NewGuid():N}/";

        var call = () => server.As("bob").RecoverLeaseAsync(marker + new string('x', 1_000_000), force: true);

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        server.DenialLog.Should().ContainSingle(e => e.Message.Contains(marker))
            .Which.Message.Length.Should().BeLessThan(2048, "a log line is not as long as whatever the caller sent");
    }

    [Fact]
    public async Task RecoverLease_ForceByAdmin_Recovers()
    {
        await server.As("alice").AddLeaseAsync("force-admin", "/force/admin").DefaultTimeout();

        var result = await Admin.RecoverLeaseAsync("/force/admin", force: true).DefaultTimeout();

        result.Closed.Should().BeTrue("a file without blocks closes at once");
    }

    [Fact]
    public async Task RecoverLease_WithoutForceByAnyPrincipal_ReachesTheLeaseRules()
    {
        await server.As("alice").AddLeaseAsync("plain-recover", "/force/plain").DefaultTimeout();

        var call = () => server.As("bob").RecoverLeaseAsync("/force/plain");

        (await call.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.FailedPrecondition, "within the soft limit, as for anyone");
    }

    [Fact]
    public async Task ListLeases_NonAdmin_SeesOnlyItsHolders_AdminSeesAll()
    {
        await server.As("lister-a").AddLeaseAsync("la-1", "/list/1").DefaultTimeout();
        await server.As("lister-a").AddLeaseAsync("la-2", "/list/3").DefaultTimeout();
        await server.As("lister-b").AddLeaseAsync("lb-1", "/list/2").DefaultTimeout();

        var mine = await server.As("lister-a").ListLeasesAsync(pathPrefix: "/list/").DefaultTimeout();
        var othersByName = await server.As("lister-a").ListLeasesAsync(holder: "lb-1").DefaultTimeout();
        var all = await Admin.ListLeasesAsync(pathPrefix: "/list/").DefaultTimeout();

        mine.Leases.Select(l => l.Path).Should().Equal("/list/1", "/list/3");
        othersByName.Leases.Should().BeEmpty();
        all.Leases.Select(l => l.Path).Should().Equal("/list/1", "/list/2", "/list/3");
    }

    [Fact]
    public async Task GetLeaseAndGetFile_AnyPrincipal_AreServed()
    {
        await server.As("alice").AddLeaseAsync("readable", "/read/a").DefaultTimeout();
        var bob = server.As("bob");

        (await bob.GetLeaseAsync("/read/a").DefaultTimeout()).Holder.Should().Be("readable");
        (await bob.GetFileAsync("/read/a").DefaultTimeout()).UnderConstruction.Should().BeTrue();
    }

    [Fact]
    public async Task DataNodeSimulator_NonAdmin_IsPermissionDenied_Admin_IsServed()
    {
        var bob = server.As("bob");

        var stop = () => bob.CallAsync(o => bob.Simulator.StopDataNodeAsync(new DataNodeRequest { DatanodeId = "dn-1" }, o));
        var list = () => bob.CallAsync(o => bob.Simulator.ListDataNodesAsync(new ListDataNodesRequest(), o));

        (await stop.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        (await list.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        var nodes = await Admin.CallAsync(o => Admin.Simulator.ListDataNodesAsync(new ListDataNodesRequest(), o)).DefaultTimeout();
        nodes.Datanodes.Should().OnlyContain(n => n.Running, "the refused StopDataNode changed nothing");
    }

    [Fact]
    public async Task WriteBlock_TheOwnerOfTheFilesHolder_Writes_AnotherPrincipal_IsPermissionDenied()
    {
        var alice = server.As("alice");
        await alice.AddLeaseAsync("own-writer", "/own/write").DefaultTimeout();
        var block = await alice.AddBlockAsync("own-writer", "/own/write").DefaultTimeout();
        WriteBlockRequest Write(string text) => new()
        {
            BlockId = block.Block.BlockId,
            GenerationStamp = block.Block.GenerationStamp,
            Epoch = block.Epoch,
            Data = Google.Protobuf.ByteString.CopyFromUtf8(text),
        };
        var bob = server.As("bob");

        var foreign = () => bob.CallAsync(o => bob.Simulator.WriteBlockAsync(Write("bob"), o));
        var written = await alice.CallAsync(o => alice.Simulator.WriteBlockAsync(Write("alice"), o)).DefaultTimeout();

        (await foreign.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        written.Replicas.Should().NotBeEmpty().And.OnlyContain(r => r.NumBytes == 5, "only alice's bytes reached the DataNodes");
    }

    [Fact]
    public async Task TestClock_NonAdmin_IsPermissionDenied_Admin_IsServed()
    {
        var bob = server.As("bob");
        var bobClock = new TestClock.TestClockClient(bob.CallInvoker);
        var adminClock = new TestClock.TestClockClient(Admin.CallInvoker);

        var advance = () => bob.CallAsync(o => bobClock.AdvanceAsync(new AdvanceRequest { By = Duration.FromTimeSpan(TimeSpan.FromHours(2)) }, o));

        (await advance.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        (await Admin.CallAsync(o => adminClock.NowAsync(new NowRequest(), o)).DefaultTimeout()).Elapsed.ToTimeSpan().Should().BeLessThan(TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task PathRules_RestrictWhereTheirPrincipalOpensFiles()
    {
        var restricted = server.As(SecureServer.Restricted);

        var outside = () => restricted.AddLeaseAsync("r-writer", "/elsewhere/a");
        var prefixOnlyByName = () => restricted.AddLeaseAsync("r-writer", "/restricted-not/a");

        (await outside.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        (await prefixOnlyByName.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        await Assert.ThrowsAsync<LeaseNotFoundException>(() => Admin.GetFileAsync("/elsewhere/a"));
        (await restricted.AddLeaseAsync("r-writer", SecureServer.RestrictedPrefix + "a").DefaultTimeout()).Holder.Should().Be("r-writer");
        (await server.As("unrestricted").AddLeaseAsync("u-writer", "/elsewhere/b").DefaultTimeout()).Holder.Should().Be("u-writer", "principals without rules may open anywhere");
    }

    [Fact]
    public async Task PathRules_KeyInAnotherCase_StillRestrictsItsPrincipal()
    {
        // Configuration keys ignore case (AUTHORIZATION__PATHRULES__ALICE__0 is alice's rule): a
        // rule must not be skipped, leaving its principal free to open anywhere, for its case.
        var restricted = server.As(SecureServer.Restricted + "-upper");

        var outside = () => restricted.AddLeaseAsync("ru-writer", "/elsewhere/upper");

        (await outside.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        (await restricted.AddLeaseAsync("ru-writer", SecureServer.RestrictedPrefix + "upper").DefaultTimeout()).Holder.Should().Be("ru-writer");
    }

    public static TheoryData<string, string> InvalidPaths => new()
    {
        { "empty", string.Empty },
        { "relative", "elsewhere/a" },
        { "longer than 4096 bytes", "/elsewhere/" + new string('x', 100_000) },
    };

    [Theory]
    [MemberData(nameof(InvalidPaths))]
    public async Task AddLeaseAndDeleteFile_InvalidPath_ByAPrincipalWithPathRules_IsInvalidArgument(string why, string path)
    {
        // The path is checked before the rules: a path that is no path gets the same answer for
        // everyone, and never a message (or a log line) as long as the request.
        var restricted = server.As(SecureServer.Restricted);
        var before = server.DenialCounts.GetValueOrDefault("path_rule");

        var add = () => restricted.AddLeaseAsync("r-invalid", path);
        var delete = () => restricted.DeleteFileAsync(path);

        var added = (await add.Should().ThrowAsync<RpcException>(why)).Which;
        added.StatusCode.Should().Be(StatusCode.InvalidArgument, why);
        added.Status.Detail.Length.Should().BeLessThan(1024, why);
        var deleted = (await delete.Should().ThrowAsync<RpcException>(why)).Which;
        deleted.StatusCode.Should().Be(StatusCode.InvalidArgument, why);
        deleted.Status.Detail.Length.Should().BeLessThan(1024, why);
        server.DenialCounts.GetValueOrDefault("path_rule").Should().Be(before, "bad input is not a denial");
    }

    [Fact]
    public async Task DeleteFile_OpenByAnotherPrincipalsHolder_IsPermissionDenied_TheOwnerAndAdminsMay_ClosedFilesAnyone()
    {
        var alice = server.As("alice");
        await alice.AddLeaseAsync("del-owner", "/del/own/1").DefaultTimeout();
        await alice.AddLeaseAsync("del-owner", "/del/own/2").DefaultTimeout();
        await alice.AddLeaseAsync("del-owner", "/del/own/3").DefaultTimeout();
        (await alice.RemoveLeaseAsync("del-owner", "/del/own/3").DefaultTimeout()).Should().BeTrue();
        var bob = server.As("bob");

        var denied = () => bob.DeleteFileAsync("/del/own/1");

        (await denied.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        (await Admin.GetFileAsync("/del/own/1").DefaultTimeout()).UnderConstruction.Should().BeTrue("a refusal changes nothing");
        (await alice.DeleteFileAsync("/del/own/1").DefaultTimeout()).Holder.Should().Be("del-owner");
        (await Admin.DeleteFileAsync("/del/own/2").DefaultTimeout()).Holder.Should().Be("del-owner", "admins may delete any file");
        (await bob.DeleteFileAsync("/del/own/3").DefaultTimeout()).Holder.Should().BeEmpty("a closed file is anyone's to delete (path rules permitting)");
    }

    [Fact]
    public async Task Denial_OfAHugePathOrHolder_EchoesAndLogsThemCut()
    {
        // A path-rule refusal checks a valid path (up to 4096 bytes) but comes before the core
        // validates the holder, and a forced recovery's refusal before the path is validated: both
        // are whatever the caller sent (up to Grpc:MaxReceiveMessageSize, 4 MiB).
        var longPath = "/elsewhere/" + new string('p', 4000);
        var huge = "/elsewhere/" + new string('p', 100_000);
        var hugeHolder = new string('h', 100_000);
        var restricted = server.As(SecureServer.Restricted);
        var logged = server.DenialLog.Count;

        var open = () => restricted.AddLeaseAsync(hugeHolder, longPath);
        var force = () => server.As("eve").RecoverLeaseAsync(huge, force: true);

        var refused = (await open.Should().ThrowAsync<RpcException>()).Which;
        refused.StatusCode.Should().Be(StatusCode.PermissionDenied, refused.Status.Detail);
        refused.Status.Detail.Length.Should().BeLessThan(512, "a grpc-message repeats at most 128 characters of the caller's input");
        (await force.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        var denials = server.DenialLog.Skip(logged).Where(e => e.EventId == 6001).ToList();
        denials.Should().HaveCount(2);
        denials.Should().OnlyContain(e => e.Message.Length < 1024 && e.Message.Contains("/elsewhere/ppp", StringComparison.Ordinal) && e.Message.Contains('…'),
            "the log repeats a caller's path and holder cut like a status message, not 100 KB a call");
    }

    [Fact]
    public async Task DeleteFile_PathRules_ApplyAsToOpeningAFile()
    {
        await Admin.AddLeaseAsync("del-admin", "/del/rules/a").DefaultTimeout();
        (await Admin.RemoveLeaseAsync("del-admin", "/del/rules/a").DefaultTimeout()).Should().BeTrue();
        var restricted = server.As(SecureServer.Restricted);
        await restricted.AddLeaseAsync("r-del", SecureServer.RestrictedPrefix + "del").DefaultTimeout();

        var outside = () => restricted.DeleteFileAsync("/del/rules/a");

        (await outside.Should().ThrowAsync<RpcException>()).Which.StatusCode.Should().Be(StatusCode.PermissionDenied);
        (await Admin.GetFileAsync("/del/rules/a").DefaultTimeout()).Path.Should().Be("/del/rules/a");
        (await restricted.DeleteFileAsync(SecureServer.RestrictedPrefix + "del").DefaultTimeout()).Holder.Should().Be("r-del");
    }

    [Fact]
    public async Task Denial_IsLoggedAtWarningWithPrincipalMethodAndPath_AndCountedByReason()
    {
        await server.As("alice").AddLeaseAsync("audited", "/audit/a").DefaultTimeout();
        var before = server.DenialCounts.GetValueOrDefault("holder_owned_by_another");
        var forcedBefore = server.DenialCounts.GetValueOrDefault("force_requires_admin");

        await Assert.ThrowsAnyAsync<RpcException>(() => server.As("eve").RemoveLeaseAsync("audited", "/audit/a"));
        await Assert.ThrowsAnyAsync<RpcException>(() => server.As("eve").RecoverLeaseAsync("/audit/a", force: true));

        server.DenialLog.Should().Contain(e => e.Level == LogLevel.Warning && e.EventId == 6001
            && e.Message.Contains("eve") && e.Message.Contains("/leases.v1.LeaseService/RemoveLease") && e.Message.Contains("/audit/a") && e.Message.Contains("holder_owned_by_another"));
        server.DenialLog.Should().Contain(e => e.Level == LogLevel.Warning && e.EventId == 6001
            && e.Message.Contains("eve") && e.Message.Contains("RecoverLease") && e.Message.Contains("force_requires_admin"));
        server.DenialCounts["holder_owned_by_another"].Should().Be(before + 1);
        server.DenialCounts["force_requires_admin"].Should().Be(forcedBefore + 1);
    }

    [Fact]
    public async Task Unauthenticated_IsLoggedAndCounted()
    {
        var before = server.DenialCounts.GetValueOrDefault("unauthenticated");

        await Assert.ThrowsAnyAsync<RpcException>(() => server.Client(token: null).ListLeasesAsync());

        server.DenialLog.Should().Contain(e => e.EventId == 6002 && e.Message.Contains("ListLeases"));
        server.DenialCounts["unauthenticated"].Should().BeGreaterThan(before);
    }
}
