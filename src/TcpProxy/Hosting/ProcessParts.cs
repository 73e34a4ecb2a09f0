using System;
using TcpProxy.Configuration;
using TcpProxy.Logging;
using TcpProxy.Proxy;

namespace TcpProxy.Hosting;

/// <summary>What every loop of the process shares, made once from the options before any loop is assembled.</summary>
internal sealed class ProcessParts
{
    public ProcessParts(ProxyOptions options, Log log, PairSettings settings, Destinations destinations, LogWriter? accessLogWriter)
    {
        Options = options;
        Log = log;
        Settings = settings;
        Destinations = destinations;
        AccessLogWriter = accessLogWriter;
        int loops = options.Reactors;
        SharedLimit = loops > 1 && options.MaxConnections > 0
            ? new SharedConnectionLimit(options.MaxConnections) { Loops = loops }
            : null;
        // --buffer-memory bounds the process: each loop gets an even share (at least one buffer).
        LoopBufferMemory = loops > 1 && options.BufferMemory > 0
            ? Math.Max(options.BufferSize, options.BufferMemory / loops)
            : options.BufferMemory;
    }

    public ProxyOptions Options { get; }

    public Log Log { get; }

    public PairSettings Settings { get; }

    /// <summary>The destination's addresses in use, which the resolver thread may replace.</summary>
    public Destinations Destinations { get; }

    /// <summary>Whether a resolver thread follows the destination's records (--resolve-interval, a host name).</summary>
    public bool Resolving { get; init; }

    /// <summary>Stderr's writer or a file's, when --access-log is on; the loops format into it under its lock.</summary>
    public LogWriter? AccessLogWriter { get; }

    /// <summary>--max-connections counted over every loop; null with one loop (its own count decides).</summary>
    public SharedConnectionLimit? SharedLimit { get; }

    /// <summary>
    /// Listening sockets passed by systemd or an upgraded process: one, which every loop
    /// serves, or one per loop. Null: each loop binds its own.
    /// </summary>
    public SharedListeningSocket[]? PassedListeners { get; init; }

    /// <summary>Each loop's share of --buffer-memory (0: no limit).</summary>
    public long LoopBufferMemory { get; }
}
