using System.Buffers;
using System.Globalization;
using System.Text;

namespace LeaseService.Shared;

/// <summary>
/// Callers' strings made safe to print on a line of text: a path may hold any character but NUL,
/// and a newline in one would start a line of its own, an escape sequence drive the terminal.
/// C0 and C1 controls, DEL and the Unicode line and paragraph separators become <c>\n</c>,
/// <c>\r</c>, <c>\t</c> or <c>\uXXXX</c>; everything else is left as it is. Linked into the
/// server (its text log) and the CLI (its tables).
/// </summary>
internal static class ControlText
{
    private static readonly SearchValues<char> Escaped = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Append(0x7F).Concat(Enumerable.Range(0x80, 0x20)).Append(0x2028).Append(0x2029).Select(c => (char)c)));

    /// <summary>Whether <paramref name="text"/> has a character <see cref="Escape"/> would rewrite.</summary>
    public static bool NeedsEscaping(string text) => text.AsSpan().ContainsAny(Escaped);

    /// <summary><paramref name="text"/> with every control character written as an escape; the same string when it has none.</summary>
    public static string Escape(string text)
    {
        if (!NeedsEscaping(text))
        {
            return text;
        }

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
