using System.Text;

namespace LeaseService.Core;

/// <summary>Input rules. A failure names the field and why; nothing has changed when it is returned.</summary>
public static class LeaseValidation
{
    /// <summary>Longest holder, requester or client machine, in UTF-8 bytes.</summary>
    public const int MaxHolderBytes = 256;

    /// <summary>Longest path, in UTF-8 bytes.</summary>
    public const int MaxPathBytes = 4096;

    /// <summary>Largest ListLeases page; larger requests are served this many.</summary>
    public const int MaxPageSize = 1000;

    /// <summary>ListLeases page size when the request gives none.</summary>
    public const int DefaultPageSize = 100;

    /// <summary>Holder names starting with this are the service's own recovery holders.</summary>
    public const string RecoveryHolderPrefix = "LeaseService-recovery-";

    /// <summary>Null when <paramref name="holder"/> is a valid client holder name, else why not.</summary>
    public static string? CheckHolder(string? holder, string field = "holder") => CheckName(holder, field, allowReserved: false);

    /// <summary>
    /// Null when <paramref name="holder"/> is usable as a listing filter, else why not: the
    /// holder rules without the reserved-prefix rule, so operators can list what the service's
    /// recovery holders hold.
    /// </summary>
    public static string? CheckHolderFilter(string? holder) => CheckName(holder, "holder", allowReserved: true);

    private static string? CheckName(string? holder, string field, bool allowReserved)
    {
        if (string.IsNullOrEmpty(holder))
        {
            return $"{field} must not be empty";
        }

        if (holder.Length > MaxHolderBytes || Encoding.UTF8.GetByteCount(holder) > MaxHolderBytes)
        {
            return $"{field} is longer than {MaxHolderBytes} bytes";
        }

        if (HasControlCharacter(holder))
        {
            return $"{field} must not contain control characters";
        }

        if (HasUnpairedSurrogate(holder))
        {
            // Stored as UTF-8, it would come back from a restart as another name (U+FFFD).
            return $"{field} is not valid Unicode (it has an unpaired surrogate)";
        }

        if (!allowReserved && holder.StartsWith(RecoveryHolderPrefix, StringComparison.Ordinal))
        {
            return $"{field} must not start with the reserved prefix '{RecoveryHolderPrefix}'";
        }

        return null;
    }

    /// <summary>Null when <paramref name="machine"/> (optional) is valid, else why not.</summary>
    public static string? CheckClientMachine(string? machine)
    {
        if (string.IsNullOrEmpty(machine))
        {
            return null;
        }

        if (machine.Length > MaxHolderBytes || Encoding.UTF8.GetByteCount(machine) > MaxHolderBytes)
        {
            return $"client_machine is longer than {MaxHolderBytes} bytes";
        }

        if (HasControlCharacter(machine))
        {
            return "client_machine must not contain control characters";
        }

        return HasUnpairedSurrogate(machine) ? "client_machine is not valid Unicode (it has an unpaired surrogate)" : null;
    }

    /// <summary>Null when <paramref name="path"/> is an absolute, normalized file path, else why not.</summary>
    public static string? CheckPath(string? path, string field = "path")
    {
        if (string.IsNullOrEmpty(path))
        {
            return $"{field} must not be empty";
        }

        if (path[0] != '/')
        {
            return $"{field} must be absolute (start with '/'): '{Shorten(path)}'";
        }

        if (path.Length == 1)
        {
            return $"{field} '/' is the root directory, not a file";
        }

        if (path.Length > MaxPathBytes || Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
        {
            return $"{field} is longer than {MaxPathBytes} bytes";
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            return $"{field} must not contain NUL";
        }

        if (HasUnpairedSurrogate(path))
        {
            return $"{field} is not valid Unicode (it has an unpaired surrogate)";
        }

        var segmentStart = 1;
        for (var i = 1; i <= path.Length; i++)
        {
            if (i < path.Length && path[i] != '/')
            {
                continue;
            }

            var segment = path.AsSpan(segmentStart, i - segmentStart);
            if (segment.IsEmpty)
            {
                return $"{field} must not contain empty segments: '{Shorten(path)}'";
            }

            if (segment is "." or "..")
            {
                return $"{field} must not contain '.' or '..' segments: '{Shorten(path)}'";
            }

            segmentStart = i + 1;
        }

        return null;
    }

    /// <summary>Null when <paramref name="prefix"/> (optional) can start a path, else why not.</summary>
    public static string? CheckPathPrefix(string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            return null;
        }

        if (prefix[0] != '/')
        {
            return "path_prefix must start with '/'";
        }

        if (prefix.Length > MaxPathBytes || Encoding.UTF8.GetByteCount(prefix) > MaxPathBytes)
        {
            return $"path_prefix is longer than {MaxPathBytes} bytes";
        }

        return prefix.Contains('\0', StringComparison.Ordinal) ? "path_prefix must not contain NUL" : null;
    }

    private static bool HasControlCharacter(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The most characters of a caller's input a status message repeats.</summary>
    public const int MaxEchoedChars = 128;

    /// <summary>
    /// A caller's input as a status message repeats it: at most <see cref="MaxEchoedChars"/>
    /// characters, cut with "…", so a grpc-message stays well under 1 KiB after percent-encoding
    /// (a default client refuses larger trailers).
    /// </summary>
    public static string Echo(string value)
    {
        if (value.Length <= MaxEchoedChars)
        {
            return value;
        }

        // Never split a surrogate pair.
        var cut = char.IsHighSurrogate(value[MaxEchoedChars - 1]) ? MaxEchoedChars - 1 : MaxEchoedChars;
        return string.Concat(value.AsSpan(0, cut), "…");
    }

    private static string Shorten(string value) => Echo(value);

    /// <summary>True when <paramref name="value"/> is not valid UTF-16 (it could not be stored as UTF-8 unchanged).</summary>
    private static bool HasUnpairedSurrogate(string value)
    {
        var rest = value.AsSpan();
        var first = rest.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0)
        {
            return false;
        }

        rest = rest[first..];
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out _, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                return true;
            }

            rest = rest[consumed..];
        }

        return false;
    }
}
