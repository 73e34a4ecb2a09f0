using System;
using System.Globalization;
using TcpProxy.Interop;

namespace TcpProxy.Logging;

/// <summary>How a flush ended: everything written, the destination full for now, or a write failed.</summary>
internal enum FlushResult { Drained, Blocked, Failed }

/// <summary>
/// The lines a log writer has queued, and the account of those it lost: a
/// full buffer drops the line and counts it, a failed write (ENOSPC, EIO,
/// EPIPE...) drops what was queued and counts it, and once the destination
/// takes data again one line (the dropped-lines notice) says how many were
/// lost. Not thread-safe: the writer's lock guards it.
/// </summary>
internal sealed class LogQueue
{
    private readonly LineBuffer _buffer;
    private readonly string _droppedNotice;
    private long _unreportedDrops;
    // The dropped-lines notice in the stream, until it is fully written: if a
    // write error discards it, the drops it reported are unreported again.
    private long _noticeEnd = -1;
    private long _noticeReports;

    /// <param name="droppedNotice">The notice's format; {0} is the count.</param>
    /// <param name="stamp">What goes before each line (the notice included).</param>
    public LogQueue(int capacityBytes, string droppedNotice, LineStamp stamp)
    {
        _buffer = new LineBuffer(capacityBytes);
        _droppedNotice = droppedNotice;
        Stamp = stamp;
    }

    public LineStamp Stamp { get; }

    /// <summary>Lines lost since start: buffer full, or a write failed.</summary>
    public long DroppedLines { get; private set; }

    /// <summary>Writes that failed with an error (ENOSPC, EIO, EPIPE...).</summary>
    public long WriteErrors { get; private set; }

    /// <summary>The errno of the last failed write, 0 if none failed.</summary>
    public int LastWriteError { get; private set; }

    public bool IsEmpty => _buffer.IsEmpty;

    public int QueuedBytes => _buffer.Queued.Length;

    /// <summary>Lines queued, a line partly written counting as one.</summary>
    public int QueuedLines => _buffer.QueuedLines;

    /// <summary>
    /// Queues the stamp, prefix, line and '\n'; false, with nothing queued, if
    /// it does not fit. A record (an access-log line) carries its own time, so
    /// it gets no second one; under the journal it gets its priority all the same.
    /// </summary>
    public bool TryAppend(LogPriority priority, bool record, ReadOnlySpan<char> prefix, ReadOnlySpan<char> line) =>
        _buffer.TryAppend(new LineHead(record && Stamp == LineStamp.UtcTime ? LineStamp.None : Stamp, priority), prefix, line);

    public void CountDropped(int lines)
    {
        DroppedLines += lines;
        _unreportedDrops += lines;
    }

    /// <summary>
    /// Writes until the queue is empty or the destination is full. Once a
    /// write emptied it (the destination works again), or when told to,
    /// queues the dropped-lines notice if lines were lost since the last one.
    /// </summary>
    public FlushResult Flush(LogDestination destination, bool reportDrops)
    {
        bool wrote = false;
        while (true)
        {
            while (!_buffer.IsEmpty)
            {
                if (AccountWrite(destination.Write(_buffer.Queued), ref wrote) is FlushResult stopped)
                    return stopped;
            }
            if (!QueueNoticeIfOwed(wrote || reportDrops))
                return FlushResult.Drained;
            reportDrops = false;
        }
    }

    /// <summary>
    /// The queued bytes for a write outside the lock: they stay where they
    /// are (a line that would move them is not queued) until <see cref="LetMove"/>.
    /// </summary>
    public IntPtr HoldInPlace(out int length)
    {
        _buffer.HeldInPlace = true;
        length = _buffer.Queued.Length;
        return _buffer.QueuedAddress;
    }

    public void LetMove() => _buffer.HeldInPlace = false;

    /// <summary>What one write's result means: null to write on, else why to stop. Consumes what it took, drops all on an error.</summary>
    public FlushResult? AccountWrite(long rc, ref bool wrote)
    {
        if (rc > 0)
        {
            _buffer.Consume((int)rc);
            wrote = true;
            return null;
        }
        if (rc == -Errno.EINTR)
            return null;
        if (rc == -Errno.EAGAIN || rc == 0)
            return FlushResult.Blocked;
        LastWriteError = (int)-rc;
        WriteErrors++;
        DiscardQueued();
        return FlushResult.Failed;
    }

    /// <summary>Everything queued is written: queues the dropped-lines notice if lines were lost and it is due; true if it did.</summary>
    public bool QueueNoticeIfOwed(bool due)
    {
        if (_noticeEnd >= 0)
            _noticeEnd = -1; // written
        return _unreportedDrops != 0 && due && QueueDroppedNotice();
    }

    /// <summary>Drops everything queued and counts it; a notice among it is owed again.</summary>
    public void DiscardQueued()
    {
        bool noticeLost = _noticeEnd > _buffer.ConsumedTotal;
        int lines = _buffer.DiscardAll();
        if (noticeLost)
        {
            // The notice is no log line of its own; what it would have said is owed again.
            lines--;
            _unreportedDrops += _noticeReports;
            _noticeEnd = -1;
        }
        CountDropped(lines);
    }

    private bool QueueDroppedNotice()
    {
        string notice = string.Format(CultureInfo.InvariantCulture, _droppedNotice, _unreportedDrops);
        if (!_buffer.TryAppend(new LineHead(Stamp, LogPriority.Warning), default, notice))
            return false;
        _noticeEnd = _buffer.AppendedTotal;
        _noticeReports = _unreportedDrops;
        _unreportedDrops = 0;
        return true;
    }
}
