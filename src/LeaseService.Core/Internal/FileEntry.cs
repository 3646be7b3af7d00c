using System.Text;

namespace LeaseService.Core.Internal;

/// <summary>
/// A file in the namespace, open (under construction, with a lease) or closed. Kept small: one
/// million open files must fit in well under 300 MB of RSS (docs/PERFORMANCE.md). Its links serve two path-ordered
/// indexes: all open files, and its holder's files.
/// </summary>
internal sealed class FileEntry(string path)
{
    // The path as UTF-8: a path of n ASCII characters costs 24 + n bytes here, 22 + 2n as a string.
    private readonly byte[] _path = Encoding.UTF8.GetBytes(path);

    /// <summary>The path (decoded on each call: for replies, keys and logs, not for comparisons).</summary>
    public string Path => Encoding.UTF8.GetString(_path);

    /// <summary>The path as UTF-8; its byte order (code point order) is the order of every path index.</summary>
    public ReadOnlySpan<byte> PathBytes => _path;

    public Lease? Lease { get; set; }

    public bool UnderConstruction => Lease is not null;

    public string ClientMachine { get; set; } = string.Empty;

    /// <summary>Fencing token: the generation stamp of the last grant or recovery.</summary>
    public long Epoch { get; set; }

    /// <summary>The file's blocks in order; null until the first block is added.</summary>
    public List<BlockEntry>? Blocks { get; set; }

    /// <summary>Non-null while lease recovery of this file is under way.</summary>
    public RecoveryState? Recovery { get; set; }

    /// <summary>The commit that last wrote this file's record; replies wait until it is durable.</summary>
    public long PendingSequence { get; set; }

    public BlockEntry? LastBlock => Blocks is { Count: > 0 } blocks ? blocks[^1] : null;

    public long Length
    {
        get
        {
            long length = 0;
            if (Blocks is not null)
            {
                foreach (var block in Blocks)
                {
                    length += block.NumBytes;
                }
            }

            return length;
        }
    }

    // Links of the two OpenFileIndex treaps this file is in while open (plain fields, not a
    // struct: a struct of two references and a priority would be padded to 24 bytes).
    internal FileEntry? OpenLeft;
    internal FileEntry? OpenRight;
    internal FileEntry? HolderLeft;
    internal FileEntry? HolderRight;
}
