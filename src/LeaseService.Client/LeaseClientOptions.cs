using Grpc.Net.Client;

namespace LeaseService.Client;

/// <summary>Settings of a <see cref="LeaseClient"/>; immutable once the client is built.</summary>
public sealed record LeaseClientOptions
{
    /// <summary>Deadline of each call unless the caller cancels first. Default 30 s; InfiniteTimeSpan for none.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Clock for deadlines (tests inject a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Channel settings when the client creates its own channel. When null the client uses
    /// <see cref="LeaseClient.CreateChannelOptions"/>: HTTP/2 keep-alive pings and the retry policy.
    /// </summary>
    public GrpcChannelOptions? Channel { get; init; }
}
