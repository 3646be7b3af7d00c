using System.Buffers;
using System.Globalization;
using System.Text;
using Serilog.Core;
using Serilog.Events;

namespace LeaseService.Server.Logging;

/// <summary>
/// Escapes control characters in the string properties of every event for the text console
/// format: a path is a caller's string and may hold any character but NUL, so
/// <c>"/a\n[07:01:02.345 ERR] ..."</c> printed as it is would write a line of its own, a forged
/// event, and an escape sequence would drive the operator's terminal. C0 and C1 controls, DEL and
/// the Unicode line and paragraph separators become <c>\n</c>, <c>\r</c>, <c>\t</c> or
/// <c>\uXXXX</c>; everything else is left as it is. The JSON format escapes them itself.
/// </summary>
internal sealed class ControlCharacterEscaping : ILogEventEnricher
{
    private static readonly SearchValues<char> Escaped = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Append(0x7F).Concat(Enumerable.Range(0x80, 0x20)).Append(0x2028).Append(0x2029).Select(c => (char)c)));

    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        List<LogEventProperty>? replaced = null;
        foreach (var (name, value) in logEvent.Properties)
        {
            if (value is ScalarValue { Value: string text } && text.AsSpan().ContainsAny(Escaped))
            {
                (replaced ??= []).Add(new LogEventProperty(name, new ScalarValue(Escape(text))));
            }
        }

        replaced?.ForEach(logEvent.AddOrUpdateProperty);
    }

    /// <summary><paramref name="text"/> with every character of <see cref="Escaped"/> written as an escape.</summary>
    public static string Escape(string text)
    {
        var result = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (!Escaped.Contains(c))
            {
                result.Append(c);
                continue;
            }

            result.Append(c switch
            {
                '\n' => @"\n",
                '\r' => @"\r",
                '\t' => @"\t",
                _ => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
            });
        }

        return result.ToString();
    }
}
