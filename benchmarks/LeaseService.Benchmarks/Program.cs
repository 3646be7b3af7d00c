using BenchmarkDotNet.Running;
using LeaseService.Benchmarks;

// `dotnet run -c Release -- memory` checks the heap budget; anything else goes to BenchmarkDotNet
// (e.g. `-- --filter '*'`).
if (args.Length > 0 && args[0] == "memory")
{
    return HeapBudget.Run();
}

BenchmarkSwitcher.FromAssembly(typeof(CoreBenchmarks).Assembly).Run(args);
return 0;
