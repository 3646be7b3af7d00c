using Google.Protobuf.WellKnownTypes;
using LeaseService.Contracts.V1;
using LeaseService.Core;
using CoreBlockState = LeaseService.Core.BlockState;
using CoreLeaseState = LeaseService.Core.LeaseState;

namespace LeaseService.Server.Rpc;

/// <summary>Domain views to contract messages.</summary>
internal static class ContractMapping
{
    public static LeaseInfo ToContract(this LeaseView view) => new()
    {
        Path = view.Path,
        Holder = view.Holder,
        ClientMachine = view.ClientMachine,
        State = view.State switch
        {
            CoreLeaseState.Active => Contracts.V1.LeaseState.Active,
            CoreLeaseState.SoftExpired => Contracts.V1.LeaseState.SoftExpired,
            CoreLeaseState.Recovering => Contracts.V1.LeaseState.Recovering,
            _ => Contracts.V1.LeaseState.Unspecified,
        },
        Epoch = (ulong)view.Epoch,
        LastRenewed = Timestamp.FromDateTimeOffset(view.LastRenewed),
        SoftLimitRemaining = Duration.FromTimeSpan(view.SoftLimitRemaining),
        HardLimitRemaining = Duration.FromTimeSpan(view.HardLimitRemaining),
        RecoveryId = (ulong)view.RecoveryId,
    };

    public static Block ToContract(this BlockView view)
    {
        var block = new Block
        {
            BlockId = (ulong)view.BlockId,
            GenerationStamp = (ulong)view.GenerationStamp,
            NumBytes = (ulong)view.NumBytes,
            State = view.State switch
            {
                CoreBlockState.UnderConstruction => Contracts.V1.BlockState.UnderConstruction,
                CoreBlockState.UnderRecovery => Contracts.V1.BlockState.UnderRecovery,
                CoreBlockState.Committed => Contracts.V1.BlockState.Committed,
                CoreBlockState.Complete => Contracts.V1.BlockState.Complete,
                _ => Contracts.V1.BlockState.Unspecified,
            },
        };
        block.Locations.AddRange(view.Locations);
        return block;
    }

    public static Contracts.V1.FileInfo ToContract(this FileView view)
    {
        var file = new Contracts.V1.FileInfo
        {
            Path = view.Path,
            UnderConstruction = view.UnderConstruction,
            Length = (ulong)view.Length,
            Holder = view.Holder,
            Epoch = (ulong)view.Epoch,
        };
        foreach (var block in view.Blocks)
        {
            file.Blocks.Add(block.ToContract());
        }

        return file;
    }
}
