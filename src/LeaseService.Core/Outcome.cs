using System.Diagnostics.CodeAnalysis;

namespace LeaseService.Core;

/// <summary>
/// Expected outcomes of lease operations. The transport maps each to one status code, in one place.
/// </summary>
public enum OutcomeKind
{
    /// <summary>It happened (OK).</summary>
    Ok,

    /// <summary>The request is malformed whatever the state (INVALID_ARGUMENT).</summary>
    InvalidArgument,

    /// <summary>No such path, holder or block (NOT_FOUND).</summary>
    NotFound,

    /// <summary>The state forbids it until something changes: held by another, not the holder (FAILED_PRECONDITION).</summary>
    FailedPrecondition,

    /// <summary>Transient: recovery in progress, too few DataNodes; retry later (UNAVAILABLE).</summary>
    Unavailable,

    /// <summary>A fencing or generation-stamp conflict (ABORTED).</summary>
    Aborted,

    /// <summary>The caller's principal may not do this: the holder name belongs to another principal (PERMISSION_DENIED).</summary>
    PermissionDenied,
}

/// <summary>A result value or an expected failure with a message for people.</summary>
public readonly struct Outcome<T>
{
    private Outcome(OutcomeKind kind, T? value, string message)
    {
        Kind = kind;
        Value = value;
        Message = message;
    }

    /// <summary>What happened.</summary>
    public OutcomeKind Kind { get; }

    /// <summary>The result when <see cref="IsOk"/>.</summary>
    public T? Value { get; }

    /// <summary>Why it failed, for people; empty when <see cref="IsOk"/>.</summary>
    public string Message { get; }

    /// <summary>True when there is a <see cref="Value"/>.</summary>
    [MemberNotNullWhen(true, nameof(Value))]
    public bool IsOk => Kind == OutcomeKind.Ok;

    /// <summary>A result.</summary>
    public static Outcome<T> Ok(T value) => new(OutcomeKind.Ok, value, string.Empty);

    /// <summary>An expected failure of <paramref name="kind"/>, with <paramref name="message"/> for people.</summary>
    public static Outcome<T> Fail(OutcomeKind kind, string message) => new(kind, default, message);

    /// <summary>Carries a failure over to another result type.</summary>
    public Outcome<TOther> As<TOther>() => Outcome<TOther>.Fail(Kind, Message);

    /// <inheritdoc />
    public override string ToString() => IsOk ? $"Ok({Value})" : $"{Kind}: {Message}";
}
