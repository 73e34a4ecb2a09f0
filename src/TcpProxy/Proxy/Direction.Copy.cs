using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// The copy path of a direction: recv into the ring while it has room, send
/// from the ring at once (splice mode shares the write side: the pipe's bytes
/// go first), and pass the source's EOF on once everything is written.
/// </summary>
internal sealed unsafe partial class Direction
{
    /// <summary>Reads one chunk into the ring; false when reading stops for now (or the pair closed).</summary>
    private bool CopyIn()
    {
        // The pipe's bytes (splice mode) count against the same high-water mark.
        int room = _ring.Free - _inPipe;
        if (room <= 0)
        {
            // High-water mark: stop reading until the sink drains some of it.
            PauseReading();
            return false;
        }
        _ring.GetFreeSegments(out byte* first, out int firstLength, out byte* second, out int secondLength);
        if (firstLength >= room)
        {
            firstLength = room;
            secondLength = 0;
        }
        else if (firstLength + secondLength > room)
        {
            secondLength = room - firstLength;
        }
        long n = Sys.Receive(_source, first, firstLength, second, secondLength);
        if (n > 0)
        {
            Received(n, filledRoom: n == firstLength + secondLength);
            _ring.Commit((int)n);
            if (_loop.Settings.AutoSplice)
                CountCopiedChunk(_moreExpected);
            // A short read emptied the socket: the next edge will say when there
            // is more — unless the peer's FIN came with this data, which raises none,
            // or the read stopped at an urgent mark with more queued behind it.
            bool drained = n < firstLength + secondLength && (_loop.Reactor.ReadyOf(_source) & (IoEvents.HangUp | IoEvents.Urgent)) == 0;
            if (drained)
                _loop.Reactor.ClearReady(_source, IoEvents.Readable);
            return Flush() && !drained;
        }
        if (n == 0)
        {
            EndSource(0);
            return false;
        }
        int errno = (int)-n;
        return errno == Errno.EAGAIN ? SourceDrained() : ReadFailed(errno);
    }

    /// <summary>
    /// Writes what the ring holds; then passes EOF on or resumes reading.
    /// Returns false when the pair was closed, so callers stop touching it.
    /// </summary>
    private bool Flush()
    {
        while (_inPipe > 0 && !_waitingForSink)
        {
            if (!SpliceOut())
                return false;
        }
        while (!_ring.IsEmpty && !_waitingForSink)
        {
            _ring.GetDataSegments(out byte* first, out int firstLength, out byte* second, out int secondLength);
            long n = Sys.Send(_sink, first, firstLength, second, secondLength, _moreExpected);
            if (n > 0)
            {
                _ring.Consume((int)n);
                Written(n);
                // A short write filled the socket buffer: an edge will come when it has room.
                if (n < firstLength + secondLength)
                    WaitForSink();
                continue;
            }
            int errno = (int)-n;
            if (errno == Errno.EINTR)
                continue;
            if (errno == Errno.EAGAIN)
            {
                WaitForSink();
                break;
            }
            return WriteFailed(errno);
        }
        if (Buffered == 0)
        {
            // Drained: an idle direction holds no buffer (and no pipe).
            ReturnBufferIfEmpty();
            if (SourceEnded)
                return ShutdownSink();
        }
        if (!_reading && !SourceEnded && !IsWaitingForBuffer && HasRoom())
            ResumeReading();
        return true;
    }

    /// <summary>
    /// Accounts for n bytes just read from the source, before they join the
    /// ring or the pipe: the stall clock starts with the first buffered byte.
    /// A read that filled all the room means the source very likely has more.
    /// </summary>
    private void Received(long n, bool filledRoom)
    {
        if (Buffered == 0)
            StartStallClock();
        _loop.Counters.BufferedBytes += n;
        _pair.LastActivityMs = _loop.Reactor.NowMs;
        _moreExpected = filledRoom;
    }

    /// <summary>Accounts for n bytes written to the sink (from the ring or the pipe): counters, progress, activity.</summary>
    private void Written(long n)
    {
        _sinkCorked = _moreExpected;
        _loop.Counters.BufferedBytes -= n;
        long forwarded = n;
        if (_uncounted > 0)
        {
            // The PROXY protocol header is the proxy's own, not forwarded bytes.
            int own = (int)Math.Min(_uncounted, n);
            _uncounted -= own;
            forwarded -= own;
        }
        BytesForwarded += forwarded;
        if (_isUpstream)
            _loop.Counters.BytesUp += forwarded;
        else
            _loop.Counters.BytesDown += forwarded;
        _lastProgressMs = _loop.Reactor.NowMs;
        _pair.LastActivityMs = _lastProgressMs;
    }

    /// <summary>The source is empty (EAGAIN): wait for its next edge, push what a MSG_MORE write held back, give an empty buffer back.</summary>
    private bool SourceDrained()
    {
        _loop.Reactor.ClearReady(_source, IoEvents.Readable | IoEvents.Urgent);
        _moreExpected = false;
        if (_sinkCorked && Buffered == 0)
            Uncork();
        ReturnBufferIfEmpty();
        return false;
    }

    /// <summary>A drained direction holds no buffer: give the block back (to a waiting direction first).</summary>
    private void ReturnBufferIfEmpty()
    {
        if (Buffered == 0 && _ring.HasMemory)
            _loop.Memory.Return(this, discardData: false);
    }

    /// <summary>The source ran dry after a MSG_MORE write: push what the kernel held back.</summary>
    private void Uncork()
    {
        _sinkCorked = false;
        // Setting TCP_NODELAY (already on) makes Linux push pending frames now.
        Sys.SetNoDelay(_sink);
    }

    private void WaitForSink()
    {
        _loop.Reactor.ClearReady(_sink, IoEvents.Writable);
        _waitingForSink = true;
        _loop.Reactor.Watch(_sink, IoEvents.Writable, true);
    }

    /// <summary>Passes the source's EOF on; returns false when that finished the pair.</summary>
    private bool ShutdownSink()
    {
        if (SinkShutDown)
            return true;
        SinkShutDown = true;
        _loop.Reactor.Timers.Cancel(this);
        int rc = Sys.ShutdownWrite(_sink);
        // ENOTCONN: the peer reset already; the other direction will see it on its read.
        if (rc < 0 && _pair.Log.IsVerbose)
            _pair.Log.Verbose("shutdown of " + _pair.SideName(_sink) + " failed: " + Errno.Name(-rc));
        return _pair.CloseIfFinished();
    }

    /// <summary>A read failed with -errno other than EAGAIN: EINTR retries; any other error ends this direction like EOF (the other one carries on).</summary>
    private bool ReadFailed(int errno)
    {
        if (errno == Errno.EINTR)
            return true;
        EndSource(errno);
        return false;
    }

    /// <summary>A write failed with -errno other than EINTR and EAGAIN: the pair closes at once.</summary>
    private bool WriteFailed(int errno)
    {
        _pair.Abort(CloseReason.WriteError, errno, "write to " + _pair.SideName(_sink) + " failed");
        return false;
    }
}
