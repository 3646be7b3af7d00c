using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LeaseService.Core.Tests;

/// <summary>Records every event (all levels enabled) with its id, level, message and structured values.</summary>
internal sealed class CapturingLogger : ILogger<LeaseManager>
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public List<LogEntry> Entries => [.. _entries];

    public List<int> Ids() => [.. _entries.Select(e => e.Id)];

    public void Clear() => _entries.Clear();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = state is IReadOnlyList<KeyValuePair<string, object?>> pairs
            ? pairs.Where(p => p.Key != "{OriginalFormat}").ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal)
            : [];
        _entries.Enqueue(new LogEntry(eventId.Id, logLevel, formatter(state, exception), values));
    }
}

/// <summary>One captured event.</summary>
internal sealed record LogEntry(int Id, LogLevel Level, string Message, Dictionary<string, object?> Values);
