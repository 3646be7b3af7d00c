using LeaseService.Shared;

namespace LeaseService.Cli.Internal;

/// <summary>
/// A plain left-aligned text table: columns as wide as their widest cell, two spaces apart; control
/// characters in a cell escaped (<see cref="ControlText"/>), so a path with a newline stays one row.
/// </summary>
internal sealed class TableWriter(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(Array.ConvertAll(cells, ControlText.Escape));

    public void Write(TextWriter output)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Count == 0 ? 0 : _rows.Max(r => r[i].Length))).ToArray();
        WriteRow(output, headers, widths);
        foreach (var row in _rows)
        {
            WriteRow(output, row, widths);
        }
    }

    private static void WriteRow(TextWriter output, string[] cells, int[] widths)
    {
        var parts = cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]));
        output.WriteLine(string.Join("  ", parts).TrimEnd());
    }
}
