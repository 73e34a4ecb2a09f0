using System;

namespace TcpProxy;

/// <summary>What the proxy was asked to do; produced by the CLI, read by every floor.</summary>
public sealed record ProxyOptions
{
    public const int DefaultBufferSize = 8192;
    public static readonly TimeSpan DefaultStallTimeout = TimeSpan.FromSeconds(10);

    public required string DestinationHost { get; init; }

    public required int DestinationPort { get; init; }

    /// <summary>1–65535 from the command line; 0 (any free port) only for in-process tests.</summary>
    public required int ListenPort { get; init; }

    /// <summary>Address to listen on; null means dual-stack on all interfaces.</summary>
    public string? BindAddress { get; init; }

    /// <summary>Ring buffer capacity per direction: the high-water mark.</summary>
    public int BufferSize { get; init; } = DefaultBufferSize;

    /// <summary>Buffered data that cannot be written for this long aborts the pair.</summary>
    public TimeSpan StallTimeout { get; init; } = DefaultStallTimeout;

    public LogLevel LogLevel { get; init; } = LogLevel.Normal;
}
