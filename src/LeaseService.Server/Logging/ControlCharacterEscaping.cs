using LeaseService.Shared;
using Serilog.Core;
using Serilog.Events;

namespace LeaseService.Server.Logging;

/// <summary>
/// Escapes control characters in the string properties of every event for the text console
/// format (<see cref="ControlText"/>): a path is a caller's string and may hold any character
/// but NUL, so <c>"/a\n[07:01:02.345 ERR] ..."</c> printed as it is would write a line of its
/// own, a forged event, and an escape sequence would drive the operator's terminal. The JSON
/// format escapes them itself.
/// </summary>
internal sealed class ControlCharacterEscaping : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        List<LogEventProperty>? replaced = null;
        foreach (var (name, value) in logEvent.Properties)
        {
            if (value is ScalarValue { Value: string text } && ControlText.NeedsEscaping(text))
            {
                (replaced ??= []).Add(new LogEventProperty(name, new ScalarValue(ControlText.Escape(text))));
            }
        }

        replaced?.ForEach(logEvent.AddOrUpdateProperty);
    }
}
