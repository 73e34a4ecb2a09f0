using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// One way of a pair: read from the source into the ring while it has room,
/// write from the ring to the sink at once, pass the source's EOF on as
/// shutdown(SHUT_WR) once the ring is drained, and abort the pair when
/// buffered data could not be written for the stall timeout.
///
/// The ring borrows a block from the loop's <see cref="BufferMemory"/>
/// only while it holds data and gives it back the moment it drains, so an
/// idle direction holds no buffer. The direction is its own stall timer (an
/// intrusive <see cref="LoopTimer"/>) and is reused with its pooled pair.
///
/// In splice mode a chunk goes source → pipe → sink with splice(2) instead,
/// never through user space (Direction.Splice.cs). The buffer is then the
/// pipe, with the same high-water mark counted in bytes by the direction; the
/// ring and the pipe are never both non-empty, so no byte overtakes another.
/// </summary>
internal sealed unsafe partial class Direction : LoopTimer
{
    // Reads per callback before yielding to other fds (libuv uses 32 for the same reason).
    private const int ReadBudget = 16;

    private readonly ProxyPair _pair;
    private readonly Reactor.Reactor _reactor;
    private readonly PairSettings _settings;
    private readonly ProxyCounters _counters;
    private readonly BufferMemory _memory;
    private readonly PipePool? _pipes;
    private readonly bool _isUpstream;
    private readonly RingBuffer _ring;
    private int _source;
    private int _sink;
    private long _lastProgressMs;
    private bool _reading;
    private bool _waitingForSink;
    // The last read filled all the free space, so the source very likely has
    // more: writes carry MSG_MORE and the kernel sends full segments instead
    // of one per 8 KiB chunk (TCP_NODELAY is on for interactive traffic).
    private bool _moreExpected;
    // A MSG_MORE write may have left a partial segment held back in the sink.
    private bool _sinkCorked;
    // Bytes at the front of the ring that the proxy wrote itself (a PROXY
    // protocol header): not counted as forwarded.
    private int _uncounted;
    // A PROXY protocol header to send before anything else, once a buffer is granted.
    private byte[]? _preload;

    // The loop's list of directions waiting for a buffer (intrusive).
    internal Direction? NextWaiting;
    internal Direction? PreviousWaiting;
    internal bool IsWaitingForBuffer;

    /// <summary><paramref name="pipes"/>: null unless splicing (--splice on or auto).</summary>
    public Direction(ProxyPair pair, bool isUpstream, Reactor.Reactor reactor, PairSettings settings, ProxyCounters counters, BufferMemory memory, PipePool? pipes)
        : base(owner: pair)
    {
        _pair = pair;
        _isUpstream = isUpstream;
        _reactor = reactor;
        _settings = settings;
        _counters = counters;
        _memory = memory;
        _pipes = pipes;
        _ring = new RingBuffer(settings.BufferSize);
    }

    /// <summary>"up" (client to server) or "down"; for logs.</summary>
    public string Name => _isUpstream ? "up" : "down";

    /// <summary>The ring that borrows its block from <see cref="BufferMemory"/> (which alone touches it from outside).</summary>
    internal RingBuffer Ring => _ring;

    /// <summary>Bytes read and not yet written, in the ring or the pipe.</summary>
    public int Buffered => _ring.Count + _inPipe;

    /// <summary>Whether the direction holds a buffer block now.</summary>
    public bool HoldsBuffer => _ring.HasMemory;

    public long BytesForwarded { get; private set; }

    public bool SourceEnded { get; private set; }

    public bool SinkShutDown { get; private set; }

    /// <summary>The read error that ended the source, 0 for a clean EOF.</summary>
    public int SourceError { get; private set; }

    public bool IsFinished => SinkShutDown;

    /// <summary>Readies a pooled direction for a new connection's fds.</summary>
    public void Open(int source, int sink)
    {
        _source = source;
        _sink = sink;
        _reading = _waitingForSink = _moreExpected = _sinkCorked = false;
        SourceEnded = SinkShutDown = false;
        SourceError = 0;
        BytesForwarded = 0;
        _uncounted = 0;
        _preload = null;
        OpenSplice();
    }

    /// <summary>
    /// Puts bytes of the proxy's own ahead of everything the source sends (the
    /// PROXY protocol header); before <see cref="Start"/>. The buffer must be
    /// at least that large (the command line sees to it).
    /// </summary>
    public void Preload(byte[] bytes)
    {
        if (bytes.Length > _ring.Capacity)
            throw new InvalidOperationException("a preload needs a ring of at least " + bytes.Length + " bytes");
        _preload = bytes;
    }

    public void Start()
    {
        if (_preload != null && !_ring.HasMemory && !_memory.TryAttach(this))
            return; // BufferGranted starts it
        StartWithBuffer();
    }

    /// <summary>The buffer this direction waited for is attached: carry on where it stopped.</summary>
    public void BufferGranted()
    {
        if (_preload != null)
        {
            StartWithBuffer();
            return;
        }
        ResumeReading();
    }

    private void StartWithBuffer()
    {
        if (_preload != null)
        {
            _ring.GetFreeSegments(out byte* first, out int firstLength, out _, out _);
            _preload.CopyTo(new Span<byte>(first, firstLength));
            _ring.Commit(_preload.Length);
            _counters.BufferedBytes += _preload.Length;
            _uncounted = _preload.Length;
            _preload = null;
            // The header goes first, as soon as the sink is writable (the loop calls back).
            StartStallClock();
            _waitingForSink = true;
            _reactor.Watch(_sink, IoEvents.Writable, true);
        }
        ResumeReading();
    }

    /// <summary>Cancels the timer and gives the buffer back, dropping what it held; the pair closes the fds.</summary>
    public void Release()
    {
        _reactor.Timers.Cancel(this);
        _counters.BufferedBytes -= Buffered;
        _memory.Forget(this);
        if (_ring.HasMemory)
            _memory.Return(this, discardData: true);
        _preload = null;
        // A pipe that still holds bytes is closed by the pool, not lent again.
        ReleasePipe();
    }

    public void OnSourceReadable()
    {
        for (int i = 0; i < ReadBudget; i++)
        {
            // In splice mode too the direction holds a block while bytes are in
            // flight: its share of --buffer-memory (see Direction.Splice.cs).
            if (!_ring.HasMemory && !_memory.TryAttach(this))
            {
                // No buffer free: back-pressure; BufferGranted resumes reading.
                PauseReading();
                return;
            }
            bool more = SpliceNextChunk() ? SpliceIn() : CopyIn();
            if (!more)
                return;
        }
    }

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
            if (_settings.AutoSplice)
                CountCopiedChunk(_moreExpected);
            // A short read emptied the socket: the next edge will say when there
            // is more — unless the peer's FIN came with this data, which raises none,
            // or the read stopped at an urgent mark with more queued behind it.
            bool drained = n < firstLength + secondLength && (_reactor.ReadyOf(_source) & (IoEvents.HangUp | IoEvents.Urgent)) == 0;
            if (drained)
                _reactor.ClearReady(_source, IoEvents.Readable);
            return Flush() && !drained;
        }
        if (n == 0)
        {
            EndSource(0);
            return false;
        }
        int errno = (int)-n;
        if (errno == Errno.EINTR)
            return true;
        if (errno == Errno.EAGAIN)
            return SourceDrained();
        // A read error ends this direction like EOF; the other one carries on.
        EndSource(errno);
        return false;
    }

    public void OnSinkWritable()
    {
        _waitingForSink = false;
        _reactor.Watch(_sink, IoEvents.Writable, false);
        Flush();
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
            _pair.Abort(CloseReason.WriteError, errno, "write to " + _pair.SideName(_sink) + " failed");
            return false;
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
        _counters.BufferedBytes += n;
        _pair.LastActivityMs = _reactor.NowMs;
        _moreExpected = filledRoom;
    }

    /// <summary>Accounts for n bytes written to the sink (from the ring or the pipe): counters, progress, activity.</summary>
    private void Written(long n)
    {
        _sinkCorked = _moreExpected;
        _counters.BufferedBytes -= n;
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
            _counters.BytesUp += forwarded;
        else
            _counters.BytesDown += forwarded;
        _lastProgressMs = _reactor.NowMs;
        _pair.LastActivityMs = _lastProgressMs;
    }

    /// <summary>The source is empty (EAGAIN): wait for its next edge, push what a MSG_MORE write held back, give an empty buffer back.</summary>
    private bool SourceDrained()
    {
        _reactor.ClearReady(_source, IoEvents.Readable | IoEvents.Urgent);
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
            _memory.Return(this, discardData: false);
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
        _reactor.ClearReady(_sink, IoEvents.Writable);
        _waitingForSink = true;
        _reactor.Watch(_sink, IoEvents.Writable, true);
    }

    private void PauseReading()
    {
        _reading = false;
        _reactor.Watch(_source, IoEvents.Readable, false);
    }

    private void ResumeReading()
    {
        if (SourceEnded)
            return;
        _reading = true;
        _reactor.Watch(_source, IoEvents.Readable, true);
    }

    private void EndSource(int errno)
    {
        SourceEnded = true;
        _moreExpected = false;
        SourceError = errno;
        PauseReading();
        if (Buffered == 0)
        {
            ReturnPipe();
            ReturnBufferIfEmpty();
            ShutdownSink();
        }
    }

    /// <summary>Passes the source's EOF on; returns false when that finished the pair.</summary>
    private bool ShutdownSink()
    {
        if (SinkShutDown)
            return true;
        SinkShutDown = true;
        _reactor.Timers.Cancel(this);
        int rc = Sys.ShutdownWrite(_sink);
        // ENOTCONN: the peer reset already; the other direction will see it on its read.
        if (rc < 0 && _pair.Log.IsVerbose)
            _pair.Log.Verbose("shutdown of " + _pair.SideName(_sink) + " failed: " + Errno.Name(-rc));
        return _pair.CloseIfFinished();
    }

    private void StartStallClock()
    {
        _lastProgressMs = _reactor.NowMs;
        if (!IsArmed)
            _reactor.Timers.Arm(this, _lastProgressMs + _settings.StallTimeoutMs);
    }

    protected internal override void Fire()
    {
        if (Buffered == 0)
            return;
        long stalledMs = _reactor.NowMs - _lastProgressMs;
        if (stalledMs >= _settings.StallTimeoutMs)
            _pair.Abort(CloseReason.Stall, 0, "stalled: " + Buffered.ToString(CultureInfo.InvariantCulture) + " B buffered " + Name + " unwritten for " + (stalledMs / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " s");
        else
            _reactor.Timers.Arm(this, _lastProgressMs + _settings.StallTimeoutMs);
    }
}
