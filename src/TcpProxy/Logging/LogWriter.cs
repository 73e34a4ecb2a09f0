using System;
using System.Diagnostics;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Logging;

/// <summary>
/// Log lines to one destination (stderr, an access-log file) that never block
/// the loop and never throw. Lines queue in a bounded buffer; a full buffer
/// drops the line and counts it, a failed write (ENOSPC, EIO, EPIPE...) drops
/// what was queued and counts it, and once the destination takes data again
/// the writer adds one line saying how many were lost.
///
/// How each kind of descriptor is written without blocking (Linux):
/// - a pipe, FIFO or terminal is reopened through /proc/self/fd/N with
///   O_NONBLOCK: a private open file description of the same pipe or tty.
///   Setting O_NONBLOCK on fd 2 itself would change the description the
///   parent shell or terminal shares, and break it for them.
/// - a socket (systemd's journal stream) cannot be reopened (ENXIO), so it is
///   written with send(MSG_DONTWAIT | MSG_NOSIGNAL): non-blocking per call.
/// - a regular file (or /dev/null, /dev/full) is written directly: such writes
///   never wait for a reader, and epoll refuses these fds anyway (EPERM). A
///   regular file must not be reopened: fd 2 shares its offset with the shell.
/// Attached to a reactor, a pollable destination is flushed by the loop when
/// it is writable, so lines logged in one loop iteration leave in one write.
/// A destination epoll refuses (a regular file, /dev/null) cannot say when it
/// is writable, and a write to it may wait (a slow disk, a stuck NFS mount):
/// once attached, such a writer is flushed by a dedicated thread of its own
/// ("tcpproxy log", never the pool's), so the loop only queues the line; while
/// that thread is stuck, lines fill the buffer and are then dropped and
/// counted, as for a pipe nobody reads. Unattached (start-up, tests), lines
/// are written as each comes.
///
/// With several reactors (--reactors N) every loop logs through the same
/// writer: each call takes a lock (the log path only, never the data path),
/// so lines are whole and in one order, and drops are counted once. Only the
/// loop it is attached to touches its reactor: a line from another loop is
/// queued, and that loop is asked once (<see cref="CrossThreadFlush"/>) to
/// flush it with the rest.
/// </summary>
public sealed unsafe class LogWriter : IDisposable, IFdHandler
{
    /// <summary>The line a standard-error writer adds after losing lines; {0} is the count.</summary>
    public const string StandardErrorDroppedNotice = "tcpproxy: {0} log lines dropped";

    private const int StandardErrorFd = 2;

    private enum Method { Write, Send, Discard }

    private enum FlushResult { Drained, Blocked, Failed }

    private readonly LineBuffer _buffer;
    private readonly string _droppedNotice;
    private readonly string? _path;
    private readonly bool _ownsFd;
    private readonly System.Threading.Lock _gate = new();
    private int _ownerThread;
    private bool _crossThreadFlushPosted;
    private int _fd;
    private Method _method;
    private Reactor.Reactor? _reactor;
    private bool _flushRequested;
    // The flushing thread of a destination the loop cannot poll (see above).
    private System.Threading.Thread? _fileThread;
    private readonly System.Threading.ManualResetEventSlim _fileWork = new(false, spinCount: 1);
    private bool _fileThreadStopping;
    private bool _fileThreadEnded;
    // Fds let go of while the thread may be writing to them: it closes them between writes.
    private readonly RetiredDescriptors _retired = new();
    private long _unreportedDrops;
    // The dropped-lines notice in the stream, until it is fully written: if a
    // write error discards it, the drops it reported are unreported again.
    private long _noticeEnd = -1;
    private long _noticeReports;

    private LogWriter(int fd, Method method, bool ownsFd, string? path, int capacityBytes, string droppedNotice)
    {
        _fd = fd;
        _method = method;
        _ownsFd = ownsFd;
        _path = path;
        _buffer = new LineBuffer(capacityBytes);
        _droppedNotice = droppedNotice;
    }

    /// <summary>Lines lost since start: buffer full, or a write failed.</summary>
    public long DroppedLines { get; private set; }

    /// <summary>Writes that failed with an error (ENOSPC, EIO, EPIPE...).</summary>
    public long WriteErrors { get; private set; }

    /// <summary>The errno of the last failed write, 0 if none failed.</summary>
    public int LastWriteError { get; private set; }

    /// <summary>Lines waiting in the buffer are this many bytes.</summary>
    public int QueuedBytes => _buffer.Queued.Length;

    /// <summary>How many lines wait in the buffer (one begun but unfinished counts).</summary>
    public int QueuedLines
    {
        get
        {
            lock (_gate)
                return _buffer.QueuedLines;
        }
    }

    /// <summary>
    /// Asks the attached loop, from another thread, to run <see cref="FlushPosted"/>
    /// (its mailbox); null while one loop is all there is.
    /// </summary>
    public Action? CrossThreadFlush { get; set; }

    /// <summary>Whether the loop flushes this writer on writable events (a pipe, terminal or socket once attached).</summary>
    public bool IsWatched => _reactor != null;

    /// <summary>stderr (fd 2), made safe: never blocks the loop, never throws.</summary>
    public static LogWriter ForStandardError(int capacityBytes = 256 * 1024) =>
        ForDescriptor(StandardErrorFd, capacityBytes, StandardErrorDroppedNotice);

    /// <summary>
    /// A writer for an fd the caller keeps open (and closes after disposing
    /// the writer). With fd closed, every line is dropped and counted: its
    /// number may later be reused by a socket, which must never receive log lines.
    /// </summary>
    public static LogWriter ForDescriptor(int fd, int capacityBytes, string droppedNotice)
    {
        switch (Sys.KindOf(fd, out _))
        {
            case DescriptorKind.RegularFile:
                return new LogWriter(fd, Method.Write, ownsFd: false, null, capacityBytes, droppedNotice);
            case DescriptorKind.Socket:
                return new LogWriter(fd, Method.Send, ownsFd: false, null, capacityBytes, droppedNotice);
            case DescriptorKind.Pipe:
            case DescriptorKind.CharacterDevice:
                // Fails without /proc, or for a FIFO whose reader is gone (ENXIO): nothing could be written then.
                int reopened = Sys.ReopenNonBlocking(fd);
                return reopened >= 0
                    ? new LogWriter(reopened, Method.Write, ownsFd: true, null, capacityBytes, droppedNotice)
                    : new LogWriter(-1, Method.Discard, ownsFd: false, null, capacityBytes, droppedNotice);
            default:
                return new LogWriter(-1, Method.Discard, ownsFd: false, null, capacityBytes, droppedNotice);
        }
    }

    /// <summary>
    /// An access-log file opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC (0644),
    /// plus O_NONBLOCK|O_NOCTTY so a named pipe neither blocks the open nor a
    /// write. Null with a one-line error on failure.
    /// </summary>
    public static LogWriter? OpenFile(string path, out string? error, int capacityBytes = 1024 * 1024,
        string droppedNotice = "tcpproxy: {0} access log lines dropped")
    {
        int fd = Sys.OpenForAppend(path);
        if (fd < 0)
        {
            error = "cannot open '" + path + "': " + Errno.Name(-fd);
            return null;
        }
        error = null;
        return new LogWriter(fd, Method.Write, ownsFd: true, path, capacityBytes, droppedNotice);
    }

    /// <summary>Queues one line (a '\n' is appended). Never blocks, never throws; drops and counts when full.</summary>
    public void WriteLine(ReadOnlySpan<char> line) => WriteLine(default, line);

    /// <summary>Queues prefix + line as one line, without the caller joining them into a new string.</summary>
    public void WriteLine(ReadOnlySpan<char> prefix, ReadOnlySpan<char> line)
    {
        lock (_gate)
        {
            if (_reactor != null && Environment.CurrentManagedThreadId != _ownerThread)
                QueueFromOtherThread(prefix, line);
            else
                WriteLineLocked(prefix, line);
        }
    }

    // Another loop's line: queued for the attached loop, which alone may touch its reactor.
    private void QueueFromOtherThread(ReadOnlySpan<char> prefix, ReadOnlySpan<char> line)
    {
        if (!_buffer.TryAppend(prefix, line))
        {
            CountDropped(1);
            return;
        }
        if (_crossThreadFlushPosted || CrossThreadFlush is not Action post)
            return;
        _crossThreadFlushPosted = true;
        post();
    }

    /// <summary>On the attached loop, after <see cref="CrossThreadFlush"/>: flushes what other loops queued.</summary>
    public void FlushPosted()
    {
        lock (_gate)
        {
            _crossThreadFlushPosted = false;
            if (_reactor != null && !_buffer.IsEmpty)
                RequestFlush();
        }
    }

    private void WriteLineLocked(ReadOnlySpan<char> prefix, ReadOnlySpan<char> line)
    {
        if (_method == Method.Discard)
        {
            CountDropped(1);
            return;
        }
        bool queued = _buffer.TryAppend(prefix, line);
        if (!queued && MayWriteNow())
        {
            FlushQueuedLocked();
            queued = _buffer.TryAppend(prefix, line);
        }
        if (!queued)
        {
            CountDropped(1);
            return;
        }
        if (_reactor != null)
            RequestFlush();
        else if (_fileThread != null)
            _fileWork.Set();
        else
            Flush(reportDrops: false);
    }

    /// <summary>
    /// Hands the writer to the loop: a pollable destination is registered and
    /// flushed when writable. A destination epoll refuses (a regular file, /dev/null) is
    /// written at once, line by line, as before.
    /// </summary>
    public void Attach(Reactor.Reactor reactor)
    {
        lock (_gate)
            AttachLocked(reactor);
    }

    private void AttachLocked(Reactor.Reactor reactor)
    {
        if (_reactor != null || _method == Method.Discard)
            return;
        // A regular file is never "not writable" to a poller (poll(2) says it always is; epoll
        // refuses it), yet its writes may wait: it is the thread's, whatever the backend.
        if (Sys.KindOf(_fd, out _) == DescriptorKind.RegularFile || reactor.Add(_fd, this, IoEvents.Writable) < 0)
        {
            StartFileThread();
            return;
        }
        _reactor = reactor;
        _ownerThread = Environment.CurrentManagedThreadId;
        if (!_buffer.IsEmpty)
            RequestFlush();
    }

    /// <summary>Takes the writer back from the loop (before the reactor is disposed); lines are then written at once again.</summary>
    public void Detach()
    {
        lock (_gate)
            DetachLocked();
    }

    private void DetachLocked()
    {
        if (_reactor is not Reactor.Reactor reactor)
            return;
        _reactor = null;
        _flushRequested = false;
        // Unregister explicitly: the fd stays open, and a later Attach must be able to add it again.
        reactor.Release(_fd);
    }

    /// <summary>SIGHUP / logrotate: reopens the same path (file writers only); 0 or -errno. Queued lines go to the new file.</summary>
    public int Reopen()
    {
        lock (_gate)
            return ReopenLocked();
    }

    private int ReopenLocked()
    {
        if (_path is null)
            return -Errno.EINVAL;
        int fd = Sys.OpenForAppend(_path);
        if (fd < 0)
            return fd;
        Reactor.Reactor? reactor = _reactor;
        DetachLocked();
        RetireLocked(_fd);
        _fd = fd;
        _method = Method.Write;
        if (reactor != null)
            AttachLocked(reactor);
        return 0;
    }

    /// <summary>
    /// At exit: detaches from the loop, then writes what is queued (and the
    /// dropped-lines notice), waiting for the destination at most limit in
    /// total. What is still queued then is counted as dropped. False if the
    /// flushing thread's write is still stuck at the limit: it is left alone
    /// with its lines (<see cref="QueuedLines"/>), which the exit may lose.
    /// </summary>
    public bool FlushAtExit(TimeSpan limit)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        bool threadEnded = StopFileThread(limit);
        lock (_gate)
        {
            if (threadEnded)
            {
                FlushAtExitLocked(deadline);
                return true;
            }
            // Waiting longer would hang the exit. The stuck write still reads the buffer and will
            // consume what it wrote from it when it returns: the buffer is not touched from here.
            return false;
        }
    }

    private void FlushAtExitLocked(long deadline)
    {
        DetachLocked();
        if (_method == Method.Discard)
            return;
        bool reportDrops = true;
        while (Flush(reportDrops) == FlushResult.Blocked)
        {
            reportDrops = false;
            long remainingMs = (deadline - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
            if (remainingMs <= 0)
                break;
            Sys.WaitWritable(_fd, (int)Math.Min(remainingMs, int.MaxValue));
        }
        if (!_buffer.IsEmpty)
            DiscardQueued();
    }

    public void Dispose()
    {
        StopFileThread(TimeSpan.FromMilliseconds(100));
        lock (_gate)
        {
            DetachLocked();
            if (_ownsFd && _fd >= 0)
                RetireLocked(_fd);
            _fd = -1;
            _method = Method.Discard;
        }
    }

    // With a flushing thread, the fd may be under its write(2): the thread closes it once that returns.
    private void RetireLocked(int fd)
    {
        if (_fileThread is null || _fileThreadEnded)
        {
            Sys.Close(fd);
            return;
        }
        _retired.Add(fd);
        _fileWork.Set();
    }

    // A full buffer may be relieved by a write now, unless the loop knows the fd is not writable.
    // With a flushing thread, only that thread writes.
    private bool MayWriteNow() => _fileThread == null && (_reactor is not Reactor.Reactor reactor || (reactor.ReadyOf(_fd) & IoEvents.Writable) != 0);

    private void RequestFlush()
    {
        if (_flushRequested)
            return;
        _flushRequested = true;
        _reactor!.Watch(_fd, IoEvents.Writable, true);
    }

    // The loop's writable callback, and the full-buffer path of WriteLine:
    // writes what it can and keeps the callback and the fd's readiness in step.
    void IFdHandler.OnReadable(int fd)
    {
    }

    void IFdHandler.OnWritable(int fd) => FlushQueued();

    private void FlushQueued()
    {
        lock (_gate)
            FlushQueuedLocked();
    }

    private void FlushQueuedLocked()
    {
        FlushResult result = Flush(reportDrops: false);
        if (_reactor is not Reactor.Reactor reactor)
            return;
        if (result == FlushResult.Blocked)
        {
            reactor.ClearReady(_fd, IoEvents.Writable);
            RequestFlush();
        }
        else if (_flushRequested)
        {
            // Nothing left: an installed callback on a writable fd would run every iteration.
            _flushRequested = false;
            reactor.Watch(_fd, IoEvents.Writable, false);
        }
    }

    /// <summary>
    /// Writes until the buffer is empty or the destination is full. Once a
    /// write emptied it (the destination works again), or when told to,
    /// queues the dropped-lines notice if lines were lost since the last one.
    /// </summary>
    private FlushResult Flush(bool reportDrops)
    {
        bool wrote = false;
        while (true)
        {
            while (!_buffer.IsEmpty)
            {
                if (AccountWrite(WriteQueued(), ref wrote) is FlushResult stopped)
                    return stopped;
            }
            if (!QueueNoticeIfOwed(wrote || reportDrops))
                return FlushResult.Drained;
            reportDrops = false;
        }
    }

    /// <summary>What one write's result means: null to write on, else why to stop.</summary>
    private FlushResult? AccountWrite(long rc, ref bool wrote)
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
    private bool QueueNoticeIfOwed(bool due)
    {
        if (_noticeEnd >= 0)
            _noticeEnd = -1; // written
        return _unreportedDrops != 0 && due && QueueDroppedNotice();
    }

    private void StartFileThread()
    {
        if (_fileThread != null)
            return;
        _fileThreadStopping = false;
        _fileThreadEnded = false;
        _fileThread = new System.Threading.Thread(RunFileThread) { IsBackground = true, Name = "tcpproxy log" };
        _fileThread.Start();
        if (!_buffer.IsEmpty)
            _fileWork.Set();
    }

    /// <summary>Asks the flushing thread, if any, to write what is queued and end; true once it has (or there is none).</summary>
    private bool StopFileThread(TimeSpan limit)
    {
        System.Threading.Thread? thread;
        lock (_gate)
        {
            thread = _fileThread;
            _fileThreadStopping = true;
        }
        if (thread is null)
            return true;
        _fileWork.Set();
        if (!thread.Join(limit))
            return false;
        lock (_gate)
            _fileThread = null;
        CloseRetired();
        return true;
    }

    // The flushing thread: write(2) outside the lock, so the loop only ever waits for a queue append.
    private void RunFileThread()
    {
        try
        {
            FlushUntilStopped();
        }
        catch (Exception)
        {
            // A bug here must cost log lines, never the process: an exception ending a thread aborts it.
            lock (_gate)
                _method = Method.Discard;
        }
        int[] retired;
        lock (_gate)
        {
            _fileThreadEnded = true; // from now on, a retired fd is closed by whoever retires it
            retired = _retired.TakeAll();
        }
        RetiredDescriptors.CloseAll(retired);
    }

    private void FlushUntilStopped()
    {
        bool stopping = false;
        while (!stopping)
        {
            _fileWork.Wait();
            _fileWork.Reset();
            lock (_gate)
                stopping = _fileThreadStopping;
            WriteOutQueued();
            CloseRetired(); // a reopen with nothing to write wakes the thread for this alone
        }
    }

    // Outside the lock: closing a file on a slow mount may wait too.
    private void CloseRetired()
    {
        int[] retired;
        lock (_gate)
            retired = _retired.TakeAll();
        RetiredDescriptors.CloseAll(retired);
    }

    private void WriteOutQueued()
    {
        bool wrote = false;
        while (true)
        {
            int fd;
            IntPtr data;
            int length;
            lock (_gate)
            {
                if (_buffer.IsEmpty && !QueueNoticeIfOwed(wrote))
                    return;
                fd = _fd;
                data = _buffer.QueuedAddress;
                length = _buffer.Queued.Length;
                _buffer.HeldInPlace = true;
            }
            long rc = Sys.Write(fd, (byte*)data, length);
            bool stop;
            lock (_gate)
            {
                _buffer.HeldInPlace = false;
                // A write to the fd just replaced (SIGHUP) counts for the bytes it took all the same.
                // Failed (counted, dropped) or would block: the next line wakes the thread again.
                stop = AccountWrite(rc, ref wrote) is not null;
            }
            CloseRetired();
            if (stop)
                return;
        }
    }

    private long WriteQueued()
    {
        ReadOnlySpan<byte> queued = _buffer.Queued;
        fixed (byte* data = queued)
        {
            return _method == Method.Send
                ? Sys.SendWithoutWaiting(_fd, data, queued.Length)
                : Sys.Write(_fd, data, queued.Length);
        }
    }

    private bool QueueDroppedNotice()
    {
        string notice = string.Format(CultureInfo.InvariantCulture, _droppedNotice, _unreportedDrops);
        if (!_buffer.TryAppend(default, notice))
            return false;
        _noticeEnd = _buffer.AppendedTotal;
        _noticeReports = _unreportedDrops;
        _unreportedDrops = 0;
        return true;
    }

    private void DiscardQueued()
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

    private void CountDropped(int lines)
    {
        DroppedLines += lines;
        _unreportedDrops += lines;
    }
}
