using System;
using System.Globalization;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// Accepts on a listening socket (<see cref="ListeningSocket"/>) until EAGAIN,
/// within a budget per callback, and hands each client to a pooled
/// <see cref="ProxyPair"/>. Accepting pauses while <see cref="Admission"/>
/// holds clients back; pending clients then wait in the kernel's backlog,
/// never reset:
/// - descriptors: it accepts only while it holds a spare descriptor, so
///   every client it accepts gets its server socket too; when they run out
///   it pauses until a connection closes (or, for descriptors freed
///   elsewhere, a retry timer fires), and says so once per episode;
/// - --max-connections: at the limit it pauses until a connection closes
///   (on any loop, with several reactors sharing the limit).
/// </summary>
public sealed class Listener : IDisposable, IFaultOwner, IFdHandler
{
    private const int AcceptBudget = 64;
    private const int DescriptorPauseMs = 100;

    private readonly int _fd;
    private readonly Reactor.Reactor _reactor;
    private readonly Log _log;
    private readonly ProxyCounters _counters;
    private readonly ConnectionTracker _connections;
    private readonly Admission _admission;
    private readonly PairPool _pairs;
    private readonly ProxyProtocolVersion _sendProxy;
    private readonly int _loopIndex;
    private readonly int _loopCount;
    private readonly SharedListeningSocket? _shared;
    private readonly LoopTimer _resumeTimer;
    private readonly Action _onConnectionClosed;
    // Out of descriptors: until a spare can be held again.
    private bool _paused;
    // Accepted, not yet taken over by its connector: a fault meanwhile must close it.
    private int _unclaimedClient = -1;
    // From the first pause until the backlog is drained: one log line per episode.
    private bool _exhausted;
    // Whether the socket is watched now: exactly while MayAccept.
    private bool _accepting;
    private bool _disposed;

    /// <summary>Takes over a listening fd; loop i of n numbers its clients i+1, i+1+n, ... so numbers are unique over every loop.</summary>
    internal Listener(int fd, SocketAddress address, LoopParts loop, PairPool pairs, int loopIndex, int loopCount, SharedListeningSocket? shared = null)
    {
        _fd = fd;
        _shared = shared;
        Address = address;
        _reactor = loop.Reactor;
        _log = loop.Log;
        _counters = loop.Counters;
        _connections = loop.Connections;
        _admission = loop.Admission;
        _pairs = pairs;
        _sendProxy = loop.Settings.SendProxy;
        _loopIndex = loopIndex;
        _loopCount = loopCount;
        _resumeTimer = new LoopTimer(TryResume, owner: this);
        _onConnectionClosed = TryResume;
    }

    /// <summary>The listening descriptor (what a binary upgrade hands to the new process).</summary>
    public int Fd => _fd;

    /// <summary>The address actually bound (the port filled in when 0 was asked for).</summary>
    public SocketAddress Address { get; }

    /// <summary>Accepts that failed for that one connection only (a network error pending on it, a firewall's EPERM) and were retried at once.</summary>
    public long AcceptErrorsRetried { get; private set; }

    /// <summary>Watches the socket and starts accepting; -errno if the reactor cannot take it (the caller disposes).</summary>
    public int Start()
    {
        int rc = _reactor.Add(_fd, this, IoEvents.Readable, owner: this);
        if (rc < 0)
            return rc;
        // Failing here is not fatal: the first accept retries and pauses instead.
        _admission.TryHoldSpare();
        _admission.SpareTaken = PauseAccepting;
        _connections.ConnectionClosed += _onConnectionClosed;
        UpdateAccepting();
        return 0;
    }

    /// <summary>
    /// The one question every pause feeds: descriptors ran out (until a spare
    /// can be held again), or the connection limit is reached.
    /// </summary>
    private bool MayAccept => !_paused && HasRoom;

    private bool HasRoom => _admission.HasRoom;

    /// <summary>Another loop closed a connection at the shared limit: accept again if there is room now.</summary>
    internal void RoomFreed()
    {
        if (!_disposed)
            TryResume();
    }

    /// <summary>Watches the socket for clients exactly while <see cref="MayAccept"/>; cheap to call after every close.</summary>
    private void UpdateAccepting()
    {
        bool accepting = MayAccept && !_disposed;
        if (accepting == _accepting)
            return;
        _accepting = accepting;
        // The edge state is kept while paused: resuming accepts what waited in the backlog at once.
        _reactor.Watch(_fd, IoEvents.Readable, accepting);
        if (!accepting && !_paused)
        {
            _counters.AcceptPauses++;
            if (_log.IsVerbose)
                _log.Verbose("connection limit reached (" + _connections.Count.ToString(CultureInfo.InvariantCulture)
                    + " open): pausing accepts until one closes");
        }
    }

    public void OnWritable(int fd)
    {
    }

    public void OnReadable(int listening)
    {
        if (!_admission.TryHoldSpare())
        {
            PauseAccepting(Errno.EMFILE);
            return;
        }
        for (int i = 0; i < AcceptBudget; i++)
        {
            // At the connection limit, or its connector took the spare descriptor:
            // the next client could not be served.
            if (!MayAccept)
            {
                UpdateAccepting();
                return;
            }
            if (!_admission.TryReservePlace())
            {
                // Another loop took the last place since MayAccept: pause (or, if one freed meanwhile, run again).
                UpdateAccepting();
                return;
            }
            SocketAddress peer = default;
            int fd = Sys.Accept(_fd, ref peer);
            if (fd >= 0)
            {
                Accepted(fd, peer);
                continue;
            }
            _admission.ReleasePlace();
            int errno = -fd;
            switch (AcceptErrors.Classify(errno))
            {
                case AcceptErrorAction.Drained:
                    _reactor.ClearReady(_fd, IoEvents.Readable);
                    EndEpisode();
                    return;
                case AcceptErrorAction.Retry:
                    AcceptErrorsRetried++;
                    continue;
                case AcceptErrorAction.Pause:
                    // Idle pipes (splice mode) give way to a client.
                    if ((errno == Errno.EMFILE || errno == Errno.ENFILE) && _admission.CloseIdlePipes())
                        continue;
                    PauseAccepting(errno);
                    return;
                default:
                    _log.Error("accept failed: " + Errno.Name(errno));
                    PauseAccepting(errno);
                    return;
            }
        }
    }

    private void Accepted(int fd, in SocketAddress peer)
    {
        _unclaimedClient = fd;
        Sys.SetNoDelay(fd);
        long accepted = ++_counters.Accepted;
        // Unique over every loop without sharing a counter: loop i numbers i+1, i+1+N, i+1+2N...
        long number = (accepted - 1) * _loopCount + _loopIndex + 1;
        string? peerName = _connections.NamesPeers ? peer.ToString() : null;
        byte[]? proxyHeader = null;
        if (_sendProxy != ProxyProtocolVersion.None)
        {
            // The address this client connected to: the listener may be bound to several.
            SocketAddress local = default;
            Sys.GetSocketName(fd, ref local);
            proxyHeader = ProxyProtocolHeader.Build(_sendProxy, peer, local);
        }
        ProxyPair pair = _pairs.Rent();
        _unclaimedClient = -1;
        pair.Connect(fd, number, peerName, proxyHeader);
    }

    /// <summary>A callback of the listener threw: the client in hand, if any, is reset; accepting goes on.</summary>
    public void OnFault(Exception exception)
    {
        bool hadClient = _unclaimedClient >= 0;
        if (hadClient)
        {
            Sys.SetAbortOnClose(_unclaimedClient);
            Sys.Close(_unclaimedClient);
            _unclaimedClient = -1;
            // Its place at the shared limit: no connector listed it, so no close will give it back.
            _admission.ReleasePlace();
        }
        _log.Fault("listener: internal error (" + LogText.Fault(exception) + ")" + (hadClient ? "; client reset" : ""));
    }

    // Pending clients stay in the backlog. A connection closing resumes
    // accepting; the timer retries for descriptors freed elsewhere. The edge
    // state is kept, so resuming accepts without waiting for a new client.
    private void PauseAccepting(int errno)
    {
        if (!_exhausted)
        {
            _exhausted = true;
            _counters.AcceptPauses++;
            // errno is accept's own, or that of a connector's socket() which took the spare descriptor.
            _log.Warning(Errno.Name(errno) + " with " + _connections.Count.ToString(CultureInfo.InvariantCulture)
                + " connections open: pausing accepts until a connection closes (new clients wait in the backlog)");
        }
        _paused = true;
        UpdateAccepting();
        if (!_resumeTimer.IsArmed)
            _reactor.Timers.Arm(_resumeTimer, _reactor.NowMs + DescriptorPauseMs);
    }

    /// <summary>After a close or the retry timer: holds a spare descriptor again if paused for want of one, then re-asks <see cref="MayAccept"/>.</summary>
    private void TryResume()
    {
        if (_paused)
        {
            if (!_admission.TryHoldSpare())
            {
                if (!_resumeTimer.IsArmed)
                    _reactor.Timers.Arm(_resumeTimer, _reactor.NowMs + DescriptorPauseMs);
                return;
            }
            _paused = false;
            _reactor.Timers.Cancel(_resumeTimer);
        }
        UpdateAccepting();
    }

    /// <summary>The backlog is drained: an episode of exhaustion, if any, is over.</summary>
    private void EndEpisode()
    {
        if (!_exhausted)
            return;
        _exhausted = false;
        _log.Info("accepting again: every waiting client accepted (" + _connections.Count.ToString(CultureInfo.InvariantCulture) + " connections open)");
    }

    /// <summary>Closes the listening socket: new clients are refused by the kernel from now on.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _connections.ConnectionClosed -= _onConnectionClosed;
        _admission.SpareTaken = null;
        _admission.ReleaseSpare();
        _reactor.Timers.Cancel(_resumeTimer);
        // The poller is told, not left to close(): after a binary upgrade the new process holds
        // the same socket, and another loop may share it. The last of this process's users closes it.
        _reactor.Release(_fd);
        if (_shared is null || _shared.Leave())
            Sys.Close(_fd);
    }
}
