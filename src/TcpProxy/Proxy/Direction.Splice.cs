using System;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// The splice half of a direction: source → pipe → sink with splice(2), the
/// bytes never in user space. The pipe comes from the pool when a chunk is
/// about to be read and goes back the moment it is empty again.
///
/// The high-water mark holds byte for byte: <see cref="_inPipe"/> counts what
/// the pipe holds and no splice asks for more than the buffer size minus that.
///
/// Readiness (edge-triggered): a splice from a socket says EAGAIN both when
/// the socket is empty and when the pipe is full — and a pipe fills by page
/// slots, not bytes, so it can be "full" well under the byte limit when the
/// socket hands over small fragments. An EAGAIN into an empty pipe proves the
/// socket empty (and clears its readiness); into a non-empty one the
/// direction asks the socket (FIONREAD): empty, it waits for the next edge;
/// not empty, the pipe is out of slots, and the rest of the buffer is filled
/// by copying into the ring behind the pipe's bytes. A short splice proves
/// nothing, unlike a short recv: the direction splices again, and the next
/// call tells.
///
/// Order: the pipe's bytes are always older than the ring's (Flush writes
/// the pipe first), so once the ring holds bytes every read goes to the ring
/// until it drains. Together the pipe and the ring never hold more than the
/// buffer size: the high-water mark is exact in both modes.
///
/// Urgent data: splice stops at a TCP urgent mark and never passes it (only
/// recv does), so while urgent data is pending the direction copies. Urgent
/// data that arrives during a callback, after its events were read, is not
/// seen as pending: splice stops at its mark with EAGAIN (the next edge tells),
/// or, once the FIN has arrived too, with 0 — so a 0 is EOF only when a recv
/// confirms it.
///
/// --buffer-memory: a splicing direction with bytes in flight holds a ring
/// block all the same, as its share of the budget, and waits for one like a
/// copying direction — the limit and its back-pressure mean the same in both
/// modes. The block is not written while the bytes are in the pipe, so it
/// adds no resident memory of its own.
///
/// --splice auto: a direction starts copying. After <see cref="BulkChunks"/>
/// reads in a row that each filled all the ring's free space (a bulk stream:
/// the source has more than the buffer holds) it splices, from the next
/// chunk that finds the ring empty; after <see cref="QuietChunks"/> splices in
/// a row that each moved less than the room it had (the source keeps running
/// dry: messages, not a stream) it copies again, from the next chunk that
/// finds the pipe empty. A ping-pong never fills the ring, so it never splices.
/// </summary>
internal sealed unsafe partial class Direction
{
    private const int BulkChunks = 4;
    private const int QuietChunks = 4;

    // Whether the next chunk that finds the ring empty goes through a pipe.
    private bool _spliceWanted;
    private Pipe _pipe = Pipe.None;
    // Bytes spliced into the pipe and not yet out of it: the direction's own count.
    private int _inPipe;
    // The pipe ran out of page slots with bytes still queued in the socket:
    // the next chunks are copied into the ring, behind the pipe's bytes.
    private bool _pipeOutOfSlots;
    // --splice auto: consecutive full reads (copying) or short splices (splicing).
    private int _streak;

    /// <summary>Readies the splice state of a pooled direction for a new connection (its pipe went back when it closed).</summary>
    private void OpenSplice()
    {
        _spliceWanted = _loop.Pipes != null && _loop.Settings.Splice == SpliceMode.On;
        _pipe = Pipe.None;
        _inPipe = 0;
        _pipeOutOfSlots = false;
        _streak = 0;
    }

    /// <summary>
    /// Whether the next chunk is spliced. Bytes in the ring are newer than the
    /// pipe's, so while it holds any the next chunk goes behind them; urgent
    /// data needs recv; a pipe out of slots takes no more until it drains.
    /// </summary>
    private bool SpliceNextChunk()
    {
        if (!_ring.IsEmpty || (_loop.Reactor.ReadyOf(_source) & IoEvents.Urgent) != 0)
            return false;
        if (_inPipe > 0)
            return !_pipeOutOfSlots;
        return _spliceWanted;
    }

    /// <summary>Room below the high-water mark: the pipe and the ring together hold at most the buffer size.</summary>
    private bool HasRoom() => Buffered < _loop.Settings.BufferSize;

    /// <summary>Splices one chunk from the source into the pipe; false when reading stops for now (or the pair closed).</summary>
    private bool SpliceIn()
    {
        if (!_pipe.IsOpen && !_loop.Pipes!.TryTake(out _pipe, out _))
            return CopyIn(); // no descriptor or memory for a pipe: this chunk is copied
        int room = _loop.Settings.BufferSize - _inPipe;
        if (room == 0)
        {
            PauseReading();
            return false;
        }
        long n = Sys.Splice(_source, _pipe.WriteFd, room, more: false);
        if (n > 0)
        {
            Received(n, filledRoom: n == room);
            _inPipe += (int)n;
            if (_loop.Settings.AutoSplice)
                CountSplicedChunk(_moreExpected);
            return Flush();
        }
        if (n == 0)
            return ConfirmEnd();
        int errno = (int)-n;
        if (errno == Errno.EAGAIN)
        {
            _moreExpected = false;
            if (_inPipe > 0)
            {
                // Empty socket or full pipe? The socket's queue tells (an error reads as empty).
                if (Sys.ReadableBytes(_source) > 0)
                {
                    _pipeOutOfSlots = true;
                    return true; // the next chunk is copied into the ring
                }
                return SourceDrained();
            }
            ReturnPipe();
            return SourceDrained();
        }
        return ReadFailed(errno);
    }

    /// <summary>
    /// splice returned 0: EOF, or the socket stands at an urgent mark with the
    /// FIN behind it (tcp_splice_read stops at the mark and, once the FIN is in,
    /// says 0 rather than EAGAIN). Only recv reads past the mark, so recv
    /// decides: bytes go into the ring behind the pipe's, 0 is the EOF. One
    /// recv per EOF, none per chunk.
    /// </summary>
    private bool ConfirmEnd()
    {
        if (_inPipe == 0)
            ReturnPipe(); // the bytes, if any, go through the ring
        return CopyIn();
    }

    /// <summary>Splices what the pipe holds into the sink; false when the pair was closed.</summary>
    private bool SpliceOut()
    {
        long n = Sys.Splice(_pipe.ReadFd, _sink, _inPipe, _moreExpected);
        if (n > 0)
        {
            _inPipe -= (int)n;
            _pipeOutOfSlots = false; // the pipe freed slots
            Written(n);
            if (_inPipe == 0)
                ReturnPipe();
            else
                WaitForSink(); // a short write filled the socket buffer: an edge will come when it has room
            return true;
        }
        int errno = n == 0 ? Errno.EIO : (int)-n;
        if (errno == Errno.EINTR)
            return true;
        if (errno == Errno.EAGAIN)
        {
            WaitForSink();
            return true;
        }
        // n == 0 cannot happen with bytes in the pipe and its write end open: a broken count; abort rather than spin.
        return WriteFailed(errno);
    }

    /// <summary>Gives the pipe back: pooled if the count says it is empty, closed otherwise.</summary>
    private void ReturnPipe()
    {
        if (!_pipe.IsOpen)
            return;
        _loop.Pipes!.Return(_pipe, _inPipe);
        _pipe = Pipe.None;
    }

    /// <summary>The pair is closing: the pipe goes back whatever it holds (the pool closes it if not empty).</summary>
    private void ReleasePipe()
    {
        ReturnPipe();
        _inPipe = 0;
        _pipeOutOfSlots = false;
    }

    // --splice auto, copying: full reads in a row mean a bulk stream.
    private void CountCopiedChunk(bool filledRing)
    {
        if (_spliceWanted)
            return; // switched already; the ring is still draining
        _streak = filledRing ? _streak + 1 : 0;
        if (_streak < BulkChunks)
            return;
        _streak = 0;
        _spliceWanted = true;
        _loop.Counters.SwitchesToSplice++;
    }

    // --splice auto, splicing: short splices in a row mean the stream went quiet.
    private void CountSplicedChunk(bool filledRoom)
    {
        if (!_spliceWanted)
            return;
        _streak = filledRoom ? 0 : _streak + 1;
        if (_streak < QuietChunks)
            return;
        _streak = 0;
        _spliceWanted = false;
        _loop.Counters.SwitchesToCopy++;
    }
}
