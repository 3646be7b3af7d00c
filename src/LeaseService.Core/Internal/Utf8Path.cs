using System.Buffers;
using System.Text;

namespace LeaseService.Core.Internal;

/// <summary>
/// Compares a path given as a string with one stored as UTF-8 (<see cref="FileEntry.PathBytes"/>)
/// without allocating: the string is encoded into a stack (or pooled) buffer. Paths are valid
/// Unicode (LeaseValidation), so their UTF-8 form is exact.
/// </summary>
internal static class Utf8Path
{
    private const int StackLimit = 512;

    /// <summary>The UTF-8 bytes of <paramref name="path"/> (for bounds used many times in one call).</summary>
    public static byte[] Encode(string path) => Encoding.UTF8.GetBytes(path);

    public static bool Equals(string path, ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length < path.Length || utf8.Length > path.Length * 3)
        {
            return false; // Each UTF-16 unit is 1–3 UTF-8 bytes.
        }

        byte[]? rented = null;
        var buffer = path.Length * 3 <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(path.Length * 3));
        try
        {
            var written = Encoding.UTF8.GetBytes(path, buffer);
            return buffer[..written].SequenceEqual(utf8);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The hash of the UTF-8 form of <paramref name="path"/>: equal to <see cref="Hash(ReadOnlySpan{byte})"/> of its bytes.</summary>
    public static int Hash(string path)
    {
        byte[]? rented = null;
        var buffer = path.Length * 3 <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(path.Length * 3));
        try
        {
            var written = Encoding.UTF8.GetBytes(path, buffer);
            return Hash(buffer[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    public static int Hash(ReadOnlySpan<byte> utf8)
    {
        var hash = new HashCode();
        hash.AddBytes(utf8);
        return hash.ToHashCode();
    }
}
