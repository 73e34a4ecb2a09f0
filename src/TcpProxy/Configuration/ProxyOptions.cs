using System;

namespace TcpProxy.Configuration;

/// <summary>What the proxy was asked to do; produced by the CLI, read by every floor.</summary>
public sealed record ProxyOptions
{
    public const int DefaultBufferSize = 8192;
    public static readonly TimeSpan DefaultStallTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultUpgradeTimeout = TimeSpan.FromSeconds(30);
    // As short as cloud load balancers' and Kubernetes services' record TTLs (30-60 s), for one lookup a loop never waits on.
    public static readonly TimeSpan DefaultResolveInterval = TimeSpan.FromSeconds(30);
    public const int MaxReactors = 256;

    public required string DestinationHost { get; init; }

    public required int DestinationPort { get; init; }

    /// <summary>1–65535 from the command line; 0 (any free port) only for in-process tests.</summary>
    public required int ListenPort { get; init; }

    /// <summary>Address to listen on; null means dual-stack on all interfaces.</summary>
    public string? BindAddress { get; init; }

    /// <summary>Ring buffer capacity per direction: the high-water mark.</summary>
    public int BufferSize { get; init; } = DefaultBufferSize;

    /// <summary>Most bytes all ring buffers together may take; 0: no limit but memory. A direction that needs one beyond it waits.</summary>
    public long BufferMemory { get; init; }

    /// <summary>Buffered data that cannot be written for this long aborts the pair.</summary>
    public TimeSpan StallTimeout { get; init; } = DefaultStallTimeout;

    /// <summary>A destination address that has not completed the handshake by then is abandoned for the next.</summary>
    public TimeSpan ConnectTimeout { get; init; } = DefaultConnectTimeout;

    /// <summary>A pair that moved no byte either way for this long is closed; zero: never.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.Zero;

    /// <summary>How often a resolver thread looks the destination's name up again; zero: once, at start-up.</summary>
    public TimeSpan ResolveInterval { get; init; } = DefaultResolveInterval;

    /// <summary>After SIGTERM/SIGINT, pairs still open this long are aborted.</summary>
    public TimeSpan DrainTimeout { get; init; } = DefaultDrainTimeout;

    /// <summary>After SIGUSR2, how long the new binary may take to accept before the upgrade is given up.</summary>
    public TimeSpan UpgradeTimeout { get; init; } = DefaultUpgradeTimeout;

    /// <summary>Clients open at once (connecting ones included) before accepting pauses; zero: only the fd limit.</summary>
    public int MaxConnections { get; init; }

    /// <summary>Where one line per closed pair goes: a file path, "-" for stderr, or null for none.</summary>
    public string? AccessLogPath { get; init; }

    public AccessLogFormat AccessLogFormat { get; init; } = AccessLogFormat.Text;

    /// <summary>Host (name or address) the Prometheus endpoint listens on; null: no endpoint.</summary>
    public string? MetricsHost { get; init; }

    public int MetricsPort { get; init; }

    public ProxyProtocolVersion SendProxy { get; init; } = ProxyProtocolVersion.None;

    public LogLevel LogLevel { get; init; } = LogLevel.Normal;

    /// <summary>Independent event loops, each on its own thread with its own listening socket (SO_REUSEPORT when more than one).</summary>
    public int Reactors { get; init; } = 1;

    /// <summary>
    /// Whether more than one reactor makes sense here: Linux spreads the
    /// clients of SO_REUSEPORT sockets over them; macOS would hand them all to one.
    /// </summary>
    public static bool SeveralReactorsSupported => OperatingSystem.IsLinux();

    /// <summary>
    /// --reactors auto: the CPUs this process may run on. .NET's ProcessorCount
    /// already honours sched_getaffinity (taskset, cpusets) and a cgroup CPU
    /// quota; 1 where several reactors are not supported.
    /// </summary>
    public static int AutoReactors => SeveralReactorsSupported ? Math.Clamp(Environment.ProcessorCount, 1, MaxReactors) : 1;

    /// <summary>The readiness backend; Auto is the operating system's own (epoll, kqueue).</summary>
    public PollerKind Poller { get; init; } = PollerKind.Auto;

    /// <summary>Copy through rings, splice(2) through pipes, or each direction choosing by its traffic (the default; off where there is no splice).</summary>
    public SpliceMode Splice { get; init; } = SpliceMode.Auto;
}
