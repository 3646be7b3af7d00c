using BenchmarkDotNet.Running;
using LeaseService.Benchmarks;

// `dotnet run -c Release -- memory` checks the heap budget; `-- durable [concurrency] [seconds]` (ALLOC_SAMPLES=1: allocations by type)
// and `-- restart [files] [holders]` measure the RocksDB-backed core (DurableThroughput);
// `-- backlog [files] [holders] [rocksdb|inmemory] [batch]` where a monitor pass's time goes under
// a backlog (MonitorBacklog); anything else goes to BenchmarkDotNet (e.g. `-- --filter '*'`).
if (args.Length > 0 && args[0] == "memory")
{
    return HeapBudget.Run();
}

if (args.Length > 0 && args[0] == "durable")
{
    return await DurableThroughput.RunAddsAsync(Arg(1, 64), Arg(2, 5));
}

if (args.Length > 0 && args[0] == "restart")
{
    return await DurableThroughput.RunRestartAsync(Arg(1, 1_000_000), Arg(2, 100_000));
}

if (args.Length > 0 && args[0] == "backlog")
{
    return await MonitorBacklog.RunAsync(Arg(1, 1_000_000), Arg(2, 100_000), args.Length > 3 ? args[3] : "rocksdb", Arg(4, 128));
}

BenchmarkSwitcher.FromAssembly(typeof(CoreBenchmarks).Assembly).Run(args);
return 0;

int Arg(int index, int fallback) => args.Length > index && int.TryParse(args[index], out var value) ? value : fallback;
