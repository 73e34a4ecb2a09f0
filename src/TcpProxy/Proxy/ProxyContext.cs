using System;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>What every connection of one listener shares: the loop, the log, the destination, the limits, the counters.</summary>
public sealed class ProxyContext
{
    public ProxyContext(Reactor.Reactor reactor, Log log, SocketAddress[] destinations, string destinationName, ProxyOptions options)
    {
        Reactor = reactor;
        Log = log;
        Destinations = destinations;
        DestinationName = destinationName;
        DestinationAddressNames = new string[destinations.Length];
        for (int i = 0; i < destinations.Length; i++)
            DestinationAddressNames[i] = destinations[i].ToString();
        BufferSize = options.BufferSize;
        StallTimeoutMs = (long)options.StallTimeout.TotalMilliseconds;
        ConnectTimeoutMs = (long)options.ConnectTimeout.TotalMilliseconds;
        IdleTimeoutMs = (long)options.IdleTimeout.TotalMilliseconds;
        MaxConnections = options.MaxConnections;
        SendProxy = options.SendProxy;
        BufferMemory = new BufferMemory(options.BufferSize, options.BufferMemory, reactor, log);
        Pairs = new PairPool(this);
        // auto means off where there is no splice(2); on was refused there already.
        Splice = Sys.SpliceAvailable ? options.Splice : SpliceMode.Off;
        if (Splice != SpliceMode.Off)
        {
            Pipes = new PipePool(options.BufferSize);
            _pipeReaper = new LoopTimer(ReapIdlePipes);
        }
        // Read on every chunk a direction copies or splices: decided once.
        AutoSplice = Splice == SpliceMode.Auto && Pipes != null;
    }

    // Idle pipes not taken for this long are closed: descriptors come back once bulk traffic stops.
    private const long PipeIdleMs = 1_000;
    private readonly LoopTimer? _pipeReaper;

    /// <summary>A direction gave its pipe back: make sure pipes left idle get closed.</summary>
    internal void PipeReturned()
    {
        if (_pipeReaper != null && !_pipeReaper.IsArmed && Pipes!.Idle > 0)
            Reactor.Timers.Arm(_pipeReaper, Reactor.NowMs + PipeIdleMs);
    }

    private void ReapIdlePipes()
    {
        Pipes!.CloseUnused();
        if (Pipes.Idle > 0)
            Reactor.Timers.Arm(_pipeReaper!, Reactor.NowMs + PipeIdleMs);
    }

    public Reactor.Reactor Reactor { get; }

    public Log Log { get; }

    public SocketAddress[] Destinations { get; }

    public string DestinationName { get; }

    /// <summary>Destinations[i] as "127.0.0.1:80", made once so a closing pair names its server without allocating.</summary>
    public string[] DestinationAddressNames { get; }

    public int BufferSize { get; }

    public long StallTimeoutMs { get; }

    /// <summary>How long one destination address may take to complete the handshake.</summary>
    public long ConnectTimeoutMs { get; }

    /// <summary>A pair that moved nothing for this long is closed; 0: never.</summary>
    public long IdleTimeoutMs { get; }

    /// <summary>Open connections at which accepting pauses; 0: no limit but descriptors.</summary>
    public int MaxConnections { get; }

    /// <summary>Which PROXY protocol header precedes each client's bytes to the destination, if any.</summary>
    public ProxyProtocolVersion SendProxy { get; }

    /// <summary>How directions move bytes: copying, splicing, or each choosing by its traffic (auto).</summary>
    public SpliceMode Splice { get; }

    /// <summary>Empty pipes lent to splicing directions while they have bytes in flight; null in copy mode.</summary>
    internal PipePool? Pipes { get; }

    /// <summary>--splice auto where splice(2) exists: directions switch between copying and splicing.</summary>
    internal bool AutoSplice { get; }

    public ProxyCounters Counters { get; } = new();

    /// <summary>Which reactor this context belongs to (0..ReactorCount-1): every loop has a context of its own.</summary>
    public int ReactorIndex { get; init; }

    /// <summary>How many reactors the process runs (--reactors).</summary>
    public int ReactorCount { get; init; } = 1;

    /// <summary>--max-connections counted over every loop; null with one reactor (the loop's own list counts).</summary>
    public SharedConnectionLimit? SharedLimit { get; init; }

    /// <summary>Clients accepted and not yet closed, connecting ones included.</summary>
    public ConnectionList Connections { get; } = new();

    /// <summary>Shorthand for Connections.Count.</summary>
    public int OpenConnections => Connections.Count;

    /// <summary>One line per closed connection, when --access-log is on.</summary>
    public AccessLog? AccessLog { get; set; }

    /// <summary>Whether a log that names each connection's peer is enabled (so the peer name is worth formatting).</summary>
    public bool NamesPeers => Log.IsVerbose || AccessLog != null;

    /// <summary>
    /// Called when a connector cannot get a descriptor (EMFILE/ENFILE) and
    /// takes the listener's spare: the listener pauses accepting, so clients
    /// wait in the backlog rather than being accepted only to be reset.
    /// </summary>
    public Action<int>? DescriptorsExhausted { get; set; }

    /// <summary>Closes the pipes idle in the pool (splice mode) so a client may have their descriptors; true if any were.</summary>
    internal bool CloseIdlePipes() => Pipes != null && Pipes.CloseIdle() > 0;

    /// <summary>The listener's spare descriptor; see <see cref="Proxy.DescriptorReserve"/>.</summary>
    internal DescriptorReserve DescriptorReserve { get; } = new();

    /// <summary>Lends ring buffers to directions while they hold data; makes directions wait when none is free.</summary>
    internal BufferMemory BufferMemory { get; }

    /// <summary>The buffer blocks: in use, carved, the limit.</summary>
    public BufferPool BufferPool => BufferMemory.Pool;

    /// <summary>Times a direction waited for a buffer (the --buffer-memory limit or out of memory).</summary>
    public long BufferWaits => BufferMemory.Waits;

    /// <summary>Closed pairs kept for the next clients.</summary>
    internal PairPool Pairs { get; }

    /// <summary>
    /// After every close, once the connection is off the list and its
    /// descriptors are given back: a paused listener may resume, a drain may end.
    /// </summary>
    public event Action? ConnectionClosed;

    /// <summary>How log lines name a connection: "#12 127.0.0.1:5000" (the peer only at --verbose).</summary>
    public static string DescribeConnection(long number, string? peerName) =>
        "#" + number.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " + (peerName ?? "client");

    /// <summary>Accepts that failed for that one connection only (a network error pending on it, a firewall's EPERM) and were retried at once.</summary>
    public long AcceptErrorsRetried { get; set; }

    /// <summary>How log lines name a callback's fault: "InvalidOperationException: message" (never a stack trace).</summary>
    public static string DescribeFault(Exception exception) => exception.GetType().Name + ": " + exception.Message;

    /// <summary>
    /// The one place a closing connection is accounted for, whatever stage it
    /// reached: off the list, counted by reason, its access-log line, then the
    /// listeners told. serverIndex is -1 when it never connected.
    /// </summary>
    internal void Closed(ClientConnection connection, CloseReason reason, int errno, int serverIndex, long bytesUp, long bytesDown)
    {
        Connections.Remove(connection);
        SharedLimit?.Release(ReactorIndex);
        Counters.CountClose(reason);
        AccessLog?.Write(connection.PeerName, serverIndex >= 0 ? DestinationAddressNames[serverIndex] : null,
            bytesUp, bytesDown, Reactor.NowMs - connection.AcceptedMs, reason, errno);
        ConnectionClosed?.Invoke();
    }
}
