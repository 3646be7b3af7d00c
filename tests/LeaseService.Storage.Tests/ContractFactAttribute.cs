using Xunit.Abstractions;
using Xunit.Sdk;

namespace LeaseService.Storage.Tests;

/// <summary>
/// A contract test (declared once on <see cref="LeaseStoreContractTests"/>, run per engine
/// subclass): skipped with the reason when the subclass's engine cannot run here
/// (<see cref="IEngineAvailability"/> on the subclass, e.g. no etcd outside CI).
/// </summary>
[XunitTestCaseDiscoverer("LeaseService.Storage.Tests.ContractFactDiscoverer", "LeaseService.Storage.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ContractFactAttribute : FactAttribute;

/// <summary>Implemented by an engine's contract subclass whose engine may be missing on a machine.</summary>
public interface IEngineAvailability
{
    /// <summary>Why the engine cannot run here, or null. Static: read at discovery, before any instance exists.</summary>
    static abstract string? SkipReason { get; }
}

public sealed class ContractFactDiscoverer(IMessageSink diagnosticMessageSink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var display = discoveryOptions.MethodDisplayOrDefault();
        var displayOptions = discoveryOptions.MethodDisplayOptionsOrDefault();
        var type = testMethod.TestClass.Class.ToRuntimeType();
        var availability = type.GetInterfaces().Any(i => i == typeof(IEngineAvailability))
            ? type.GetProperty(nameof(IEngineAvailability.SkipReason), System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
            : null;
        if (availability?.GetValue(null) is string reason)
        {
            return [new XunitSkippedDataRowTestCase(diagnosticMessageSink, display, displayOptions, testMethod, reason)];
        }

        return [new XunitTestCase(diagnosticMessageSink, display, displayOptions, testMethod)];
    }
}
