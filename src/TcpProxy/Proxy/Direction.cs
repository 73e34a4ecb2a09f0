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
internal sealed unsafe partial class Direction : TimerNode, IListNode<Direction>
{
    // Reads per callback before yielding to other fds (libuv uses 32 for the same reason).
    private const int ReadBudget = 16;

    private readonly ProxyPair _pair;
    // One reference to the loop's parts (reactor, settings, counters, memory, pipes), not one each.
    private readonly LoopParts _loop;
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

    private ListLinks<Direction> _waitingLinks;

    /// <summary>Its place among the directions waiting for a buffer (<see cref="BufferMemory"/>).</summary>
    public ref ListLinks<Direction> Links => ref _waitingLinks;

    public bool IsWaitingForBuffer => _waitingLinks.IsListed;

    /// <summary>The loop's pipes are null unless splicing (--splice on or auto).</summary>
    public Direction(ProxyPair pair, bool isUpstream, LoopParts loop)
    {
        _pair = pair;
        _isUpstream = isUpstream;
        _loop = loop;
        _ring = new RingBuffer(loop.Settings.BufferSize);
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
        if (_preload != null && !_ring.HasMemory && !_loop.Memory.TryAttach(this))
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
            _loop.Counters.BufferedBytes += _preload.Length;
            _uncounted = _preload.Length;
            _preload = null;
            // The header goes first, as soon as the sink is writable (the loop calls back).
            StartStallClock();
            _waitingForSink = true;
            _loop.Reactor.Watch(_sink, IoEvents.Writable, true);
        }
        ResumeReading();
    }

    /// <summary>Cancels the timer and gives the buffer back, dropping what it held; the pair closes the fds.</summary>
    public void Release()
    {
        _loop.Reactor.Timers.Cancel(this);
        _loop.Counters.BufferedBytes -= Buffered;
        _loop.Memory.Forget(this);
        if (_ring.HasMemory)
            _loop.Memory.Return(this, discardData: true);
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
            if (!_ring.HasMemory && !_loop.Memory.TryAttach(this))
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

    public void OnSinkWritable()
    {
        _waitingForSink = false;
        _loop.Reactor.Watch(_sink, IoEvents.Writable, false);
        Flush();
    }

    private void PauseReading()
    {
        _reading = false;
        _loop.Reactor.Watch(_source, IoEvents.Readable, false);
    }

    private void ResumeReading()
    {
        if (SourceEnded)
            return;
        _reading = true;
        _loop.Reactor.Watch(_source, IoEvents.Readable, true);
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

    private void StartStallClock()
    {
        _lastProgressMs = _loop.Reactor.NowMs;
        if (!IsArmed)
            _loop.Reactor.Timers.Arm(this, _lastProgressMs + _loop.Settings.StallTimeoutMs);
    }

    /// <summary>A stall timer's faults are its pair's.</summary>
    public override IFaultOwner Owner => _pair;

    protected internal override void Fire()
    {
        if (Buffered == 0)
            return;
        long stalledMs = _loop.Reactor.NowMs - _lastProgressMs;
        if (stalledMs >= _loop.Settings.StallTimeoutMs)
            _pair.Abort(CloseReason.Stall, 0, "stalled: " + Buffered.ToString(CultureInfo.InvariantCulture) + " B buffered " + Name + " unwritten for " + (stalledMs / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " s");
        else
            _loop.Reactor.Timers.Arm(this, _lastProgressMs + _loop.Settings.StallTimeoutMs);
    }
}
