using System;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>What every connection of one listener shares: the loop, the log, the destination, the limits, the counters.</summary>
public sealed class ProxyContext
{
    public ProxyContext(Reactor.Reactor reactor, Log log, SocketAddress[] destinations, string destinationName, int bufferSize, long stallTimeoutMs)
    {
        Reactor = reactor;
        Log = log;
        Destinations = destinations;
        DestinationName = destinationName;
        BufferSize = bufferSize;
        StallTimeoutMs = stallTimeoutMs;
    }

    public Reactor.Reactor Reactor { get; }

    public Log Log { get; }

    public SocketAddress[] Destinations { get; }

    public string DestinationName { get; }

    public int BufferSize { get; }

    public long StallTimeoutMs { get; }

    /// <summary>
    /// Called when a connector cannot get a descriptor (EMFILE/ENFILE) and
    /// takes the listener's spare: the listener pauses accepting, so clients
    /// wait in the backlog rather than being accepted only to be reset.
    /// </summary>
    public Action<int>? DescriptorsExhausted { get; set; }

    /// <summary>Called when a connection closed and gave its descriptors back: a paused listener resumes.</summary>
    public Action? DescriptorsFreed { get; set; }

    /// <summary>The listener's spare descriptor; see <see cref="Proxy.DescriptorReserve"/>.</summary>
    internal DescriptorReserve DescriptorReserve { get; } = new();

    /// <summary>Clients reset because their ring buffers could not be allocated, and the log of such episodes.</summary>
    public RingShortage RingShortage { get; } = new();

    /// <summary>Clients accepted and not yet closed, connecting ones included.</summary>
    public int OpenConnections { get; set; }

    /// <summary>A client and whatever server socket it had are closed.</summary>
    private readonly GarbageBudget _garbage = new();

    internal void ConnectionClosed()
    {
        OpenConnections--;
        _garbage.ConnectionClosed();
        DescriptorsFreed?.Invoke();
    }

    /// <summary>How log lines name a connection: "#12 [::ffff:127.0.0.1]:5000" (the peer only at --verbose).</summary>
    public static string DescribeConnection(long number, string? peerName) =>
        "#" + number.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " + (peerName ?? "client");

    /// <summary>Accepts that failed for that one connection only (a network error pending on it, a firewall's EPERM) and were retried at once.</summary>
    public long AcceptErrorsRetried { get; set; }

    /// <summary>How log lines name a callback's fault: "InvalidOperationException: message" (never a stack trace).</summary>
    public static string DescribeFault(Exception exception) => exception.GetType().Name + ": " + exception.Message;

    /// <summary>Clients accepted since start; numbers connections in the log.</summary>
    public long AcceptedConnections { get; set; }
}
