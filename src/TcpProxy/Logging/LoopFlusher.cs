using System;
using TcpProxy.Reactor;

namespace TcpProxy.Logging;

/// <summary>
/// Flushes a pollable destination (a pipe, terminal or socket) from the loop
/// it is attached to, when the fd is writable: lines logged in one loop
/// iteration leave in one write, and a destination nobody reads never makes
/// the loop wait. Only the loop's own thread may touch its reactor. Every
/// member but the writable callback runs under the writer's lock.
/// </summary>
internal sealed class LoopFlusher : IFdHandler
{
    private readonly System.Threading.Lock _gate;
    private readonly LogQueue _queue;
    private readonly LogDestination _destination;
    private Reactor.Reactor? _reactor;
    private int _loopThread;
    private bool _flushRequested;

    public LoopFlusher(System.Threading.Lock gate, LogQueue queue, LogDestination destination)
    {
        _gate = gate;
        _queue = queue;
        _destination = destination;
    }

    public bool IsAttached => _reactor != null;

    /// <summary>Attached, and called from another thread than the loop's: the reactor is not the caller's to touch.</summary>
    public bool IsAttachedToAnotherThread => _reactor != null && Environment.CurrentManagedThreadId != _loopThread;

    /// <summary>
    /// A full queue may be relieved by a write now, unless the loop knows the
    /// fd is not writable (a write would only fail with EAGAIN).
    /// </summary>
    public bool MayWriteNow => _reactor is not Reactor.Reactor reactor || (reactor.ReadyOf(_destination.Fd) & IoEvents.Writable) != 0;

    /// <summary>On the loop's thread: registers the fd; false if the reactor refuses it (epoll: /dev/null).</summary>
    public bool TryAttach(Reactor.Reactor reactor)
    {
        if (reactor.Add(_destination.Fd, this, IoEvents.Writable) < 0)
            return false;
        _reactor = reactor;
        _loopThread = Environment.CurrentManagedThreadId;
        if (!_queue.IsEmpty)
            RequestFlush();
        return true;
    }

    /// <summary>Unregisters the fd, which stays open; returns the reactor it was attached to, null if none.</summary>
    public Reactor.Reactor? Detach()
    {
        if (_reactor is not Reactor.Reactor reactor)
            return null;
        _reactor = null;
        _flushRequested = false;
        // Explicitly: the fd stays open, and a later attach must be able to add it again.
        reactor.Release(_destination.Fd);
        return reactor;
    }

    /// <summary>Has the loop flush once the fd is writable.</summary>
    public void RequestFlush()
    {
        if (_flushRequested)
            return;
        _flushRequested = true;
        _reactor!.Watch(_destination.Fd, IoEvents.Writable, true);
    }

    void IFdHandler.OnReadable(int fd)
    {
    }

    void IFdHandler.OnWritable(int fd)
    {
        lock (_gate)
            WriteQueued();
    }

    /// <summary>
    /// Writes what it can (attached or not) and keeps the writable callback
    /// and the fd's readiness in step with what is left.
    /// </summary>
    public void WriteQueued()
    {
        FlushResult result = _queue.Flush(_destination, reportDrops: false);
        if (_reactor is not Reactor.Reactor reactor)
            return;
        if (result == FlushResult.Blocked)
        {
            reactor.ClearReady(_destination.Fd, IoEvents.Writable);
            RequestFlush();
        }
        else if (_flushRequested)
        {
            // Nothing left: an installed callback on a writable fd would run every iteration.
            _flushRequested = false;
            reactor.Watch(_destination.Fd, IoEvents.Writable, false);
        }
    }
}
