using System;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>
/// Whether a loop may take one more client, and the descriptors that serve
/// it: the connection limit (the loop's own count, or with several reactors
/// the process's <see cref="SharedConnectionLimit"/>), and the listener's
/// spare descriptor (<see cref="DescriptorReserve"/>) with idle splice pipes
/// given up before it. Clients are held back in the kernel's backlog rather
/// than accepted only to be reset.
/// </summary>
internal sealed class Admission
{
    private readonly int _maxConnections;
    private readonly SharedConnectionLimit? _shared;
    private readonly int _loopIndex;
    private readonly ConnectionTracker _connections;
    private readonly PipePool? _pipes;
    private readonly DescriptorReserve _reserve = new();

    /// <summary><paramref name="maxConnections"/> 0: no limit but descriptors; <paramref name="shared"/> with several reactors.</summary>
    public Admission(int maxConnections, SharedConnectionLimit? shared, int loopIndex, ConnectionTracker connections, PipePool? pipes)
    {
        _maxConnections = maxConnections;
        _shared = maxConnections > 0 ? shared : null;
        _loopIndex = loopIndex;
        _connections = connections;
        _pipes = pipes;
        // First to hear of a close: the place is free before a paused listener asks again.
        connections.ConnectionClosed += ReleasePlace;
    }

    /// <summary>Below the connection limit (always, without one).</summary>
    public bool HasRoom => _maxConnections == 0 || (_shared?.HasRoom ?? _connections.Count < _maxConnections);

    /// <summary>
    /// Called when a connector took the spare descriptor (EMFILE/ENFILE): the
    /// listener pauses, so clients wait in the backlog.
    /// </summary>
    public Action<int>? SpareTaken { get; set; }

    /// <summary>Before an accept: reserves a place at the shared limit (true at once without one).</summary>
    public bool TryReservePlace() => _shared?.TryReserve() ?? true;

    /// <summary>A place reserved for a client that was not accepted, or that closed.</summary>
    public void ReleasePlace() => _shared?.Release(_loopIndex);

    /// <summary>Holds a spare descriptor, closing idle pipes for one if need be; true when one is held.</summary>
    public bool TryHoldSpare() => _reserve.TryAcquire() || (CloseIdlePipes() && _reserve.TryAcquire());

    /// <summary>Gives the spare back for good (the listener closes).</summary>
    public void ReleaseSpare() => _reserve.Release();

    /// <summary>Closes the pipes idle in the pool (splice mode) so a client may have their descriptors; true if any were.</summary>
    public bool CloseIdlePipes() => _pipes != null && _pipes.CloseIdle() > 0;

    /// <summary>
    /// A socket for a connector, or -errno. Out of descriptors, idle pipes go
    /// first, the listener's spare last (the listener then accepts no more
    /// until it holds one again).
    /// </summary>
    public int OpenSocket(int family)
    {
        int fd = Sys.StreamSocket(family);
        if (IsOutOfDescriptors(fd) && CloseIdlePipes())
            fd = Sys.StreamSocket(family);
        if (IsOutOfDescriptors(fd) && _reserve.Release())
        {
            SpareTaken?.Invoke(-fd);
            fd = Sys.StreamSocket(family);
        }
        return fd;
    }

    private static bool IsOutOfDescriptors(int rc) => rc == -Errno.EMFILE || rc == -Errno.ENFILE;
}
