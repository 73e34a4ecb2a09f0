using System;
using System.Threading;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>One resolution of the destination: its addresses and their names for the logs, never changed once made.</summary>
public sealed class DestinationSet
{
    public DestinationSet(SocketAddress[] addresses)
    {
        Addresses = addresses;
        Names = new string[addresses.Length];
        for (int i = 0; i < addresses.Length; i++)
            Names[i] = addresses[i].ToString();
    }

    public SocketAddress[] Addresses { get; }

    /// <summary>Addresses[i] as "127.0.0.1:80", made once so a closing pair names its server without allocating.</summary>
    public string[] Names { get; }

    /// <summary>Whether <paramref name="other"/> holds the same addresses in the same order.</summary>
    public bool SameAs(DestinationSet other) => Names.AsSpan().SequenceEqual(other.Names);

    public override string ToString() => string.Join(", ", Names);
}

/// <summary>
/// The destination's addresses in use, shared by every loop: resolved at
/// start-up, replaced whole by the resolver thread when the name's records
/// change. A loop reads the current set once per client, as it connects
/// (one volatile read), so a client keeps the set it started with and open
/// pairs are untouched. Clients for whom every address failed, one after
/// another, ask the resolver to look again at once.
/// </summary>
public sealed class Destinations
{
    /// <summary>Consecutive clients every address failed for, before the resolver is asked early.</summary>
    public const int FailedClientsBeforeEarlyResolve = 3;

    private DestinationSet _current;
    private int _failedClients;
    private long _resolutions;
    private long _failures;

    public Destinations(string name, DestinationSet initial)
    {
        Name = name;
        _current = initial;
    }

    /// <summary>"host:port" as given on the command line.</summary>
    public string Name { get; }

    public DestinationSet Current => Volatile.Read(ref _current);

    /// <summary>Re-resolutions made since start (the start-up one not counted), and those that failed.</summary>
    public long Resolutions => Interlocked.Read(ref _resolutions);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Told (on a loop thread) when clients keep failing on every address: the set may be stale.</summary>
    public Action? LooksStale { get; set; }

    /// <summary>From the resolver thread: a resolution happened; the new set if it succeeded, null if it failed (the last good set stays).</summary>
    public void Resolved(DestinationSet? set)
    {
        Interlocked.Increment(ref _resolutions);
        if (set is null)
        {
            Interlocked.Increment(ref _failures);
            return;
        }
        Volatile.Write(ref _current, set);
        Volatile.Write(ref _failedClients, 0);
    }

    /// <summary>A client could connect to none of the addresses.</summary>
    public void ClientFailed()
    {
        if (Interlocked.Increment(ref _failedClients) == FailedClientsBeforeEarlyResolve)
            LooksStale?.Invoke();
    }

    /// <summary>A client connected: the set works.</summary>
    public void ClientConnected()
    {
        if (Volatile.Read(ref _failedClients) != 0)
            Volatile.Write(ref _failedClients, 0);
    }
}
