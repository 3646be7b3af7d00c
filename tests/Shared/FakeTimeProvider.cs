using LeaseService.Core.Time;

namespace LeaseService.Testing;

/// <summary>
/// The tests' clock: time moves only when <see cref="ManualTimeProvider.Advance"/> is called, and
/// due timers fire synchronously inside that call, in due order. Starts at 2026-01-01 UTC.
/// </summary>
public sealed class FakeTimeProvider : ManualTimeProvider
{
    public FakeTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public FakeTimeProvider(DateTimeOffset start)
        : base(start)
    {
    }
}
