using System;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Logging;

/// <summary>
/// Log lines to one destination (stderr, an access-log file) that never block
/// the loop and never throw. Lines queue in a bounded buffer; a full buffer
/// or a failed write drops lines and counts them, and once the destination
/// takes data again the writer adds one line saying how many were lost
/// (<see cref="LogQueue"/>). How each kind of descriptor is written without
/// blocking: <see cref="LogDestination"/>.
///
/// Who writes: unattached (start-up, tests), lines are written as each comes.
/// Attached to a reactor, a pollable destination is flushed by the loop when
/// it is writable (<see cref="LoopFlusher"/>); one the loop cannot poll (a
/// regular file, /dev/null) by a thread of its own (<see cref="FileFlusher"/>).
///
/// With several reactors (--reactors N) every loop logs through the same
/// writer: each call takes a lock (the log path only, never the data path),
/// so lines are whole and in one order, and drops are counted once. A line
/// from a loop the writer is not attached to is handed over
/// (<see cref="CrossThreadHandOff"/>).
///
/// Each line is stamped as it is queued (<see cref="LineStamp"/>): stderr
/// lines start with the UTC time, or under journald with their priority.
/// </summary>
public sealed class LogWriter : IDisposable
{
    /// <summary>The line a standard-error writer adds after losing lines; {0} is the count.</summary>
    public const string StandardErrorDroppedNotice = "tcpproxy: {0} log lines dropped";

    private const int StandardErrorFd = 2;

    private readonly System.Threading.Lock _gate = new();
    private readonly LogQueue _queue;
    private readonly LogDestination _destination;
    private readonly LoopFlusher _loop;
    private readonly FileFlusher _fileFlusher;
    private readonly CrossThreadHandOff _handOff;

    private LogWriter(LogDestination destination, int capacityBytes, string droppedNotice, LineStamp stamp)
    {
        _queue = new LogQueue(capacityBytes, droppedNotice, stamp);
        _destination = destination;
        _loop = new LoopFlusher(_gate, _queue, destination);
        _fileFlusher = new FileFlusher(_gate, _queue, destination);
        _handOff = new CrossThreadHandOff(_queue);
    }

    /// <summary>Lines lost since start: buffer full, or a write failed.</summary>
    public long DroppedLines => _queue.DroppedLines;

    /// <summary>Writes that failed with an error (ENOSPC, EIO, EPIPE...).</summary>
    public long WriteErrors => _queue.WriteErrors;

    /// <summary>The errno of the last failed write, 0 if none failed.</summary>
    public int LastWriteError => _queue.LastWriteError;

    /// <summary>Lines waiting in the buffer are this many bytes.</summary>
    public int QueuedBytes => _queue.QueuedBytes;

    /// <summary>How many lines wait in the buffer (one begun but unfinished counts).</summary>
    public int QueuedLines
    {
        get
        {
            lock (_gate)
                return _queue.QueuedLines;
        }
    }

    /// <summary>
    /// Asks the attached loop, from another thread, to run <see cref="FlushPosted"/>
    /// (its mailbox); null while one loop is all there is.
    /// </summary>
    public Action? CrossThreadFlush
    {
        get => _handOff.Post;
        set => _handOff.Post = value;
    }

    /// <summary>Whether the loop flushes this writer on writable events (a pipe, terminal or socket once attached).</summary>
    public bool IsWatched => _loop.IsAttached;

    /// <summary>
    /// stderr (fd 2), made safe: never blocks the loop, never throws. Its lines
    /// carry journald priorities when JOURNAL_STREAM names fd 2, else the UTC time.
    /// </summary>
    public static LogWriter ForStandardError(int capacityBytes = 256 * 1024) =>
        ForDescriptor(StandardErrorFd, capacityBytes, StandardErrorDroppedNotice, JournalStream.StampForStandardError());

    /// <summary>
    /// A writer for an fd the caller keeps open (and closes after disposing
    /// the writer). With fd closed, every line is dropped and counted: its
    /// number may later be reused by a socket, which must never receive log lines.
    /// </summary>
    public static LogWriter ForDescriptor(int fd, int capacityBytes, string droppedNotice, LineStamp stamp = LineStamp.None) =>
        new(LogDestination.ForDescriptor(fd), capacityBytes, droppedNotice, stamp);

    /// <summary>
    /// An access-log file opened O_WRONLY|O_APPEND|O_CREAT|O_CLOEXEC (0644),
    /// plus O_NONBLOCK|O_NOCTTY so a named pipe neither blocks the open nor a
    /// write. Null with a one-line error on failure.
    /// </summary>
    public static LogWriter? OpenFile(string path, out string? error, int capacityBytes = 1024 * 1024,
        string droppedNotice = "tcpproxy: {0} access log lines dropped")
    {
        if (LogDestination.OpenFile(path, out int rc) is not LogDestination destination)
        {
            error = "cannot open '" + path + "': " + Errno.Name(-rc);
            return null;
        }
        error = null;
        // Access records carry their own time: the file gets nothing else.
        return new LogWriter(destination, capacityBytes, droppedNotice, LineStamp.None);
    }

    /// <summary>Queues one line (a '\n' is appended), as information. Never blocks, never throws; drops and counts when full.</summary>
    public void WriteLine(ReadOnlySpan<char> line) => Queue(LogPriority.Info, record: false, default, line);

    /// <summary>Queues prefix + line as one line of information, without the caller joining them into a new string.</summary>
    public void WriteLine(ReadOnlySpan<char> prefix, ReadOnlySpan<char> line) => Queue(LogPriority.Info, record: false, prefix, line);

    /// <summary>Queues prefix + line as one line of that priority (journald shows and filters by it).</summary>
    public void WriteLine(LogPriority priority, ReadOnlySpan<char> prefix, ReadOnlySpan<char> line) => Queue(priority, record: false, prefix, line);

    /// <summary>Queues an access record: it starts with its own time, so it gets no timestamp; under journald, priority info.</summary>
    public void WriteRecord(ReadOnlySpan<char> line) => Queue(LogPriority.Info, record: true, default, line);

    private void Queue(LogPriority priority, bool record, ReadOnlySpan<char> prefix, ReadOnlySpan<char> line)
    {
        lock (_gate)
        {
            if (_loop.IsAttachedToAnotherThread)
                _handOff.Queue(priority, record, prefix, line);
            else
                WriteLineLocked(priority, record, prefix, line);
        }
    }

    /// <summary>On the attached loop, after <see cref="CrossThreadFlush"/>: flushes what other loops queued.</summary>
    public void FlushPosted()
    {
        lock (_gate)
        {
            _handOff.Arrived();
            if (_loop.IsAttached && !_queue.IsEmpty)
                _loop.RequestFlush();
        }
    }

    private void WriteLineLocked(LogPriority priority, bool record, ReadOnlySpan<char> prefix, ReadOnlySpan<char> line)
    {
        if (_destination.IsDiscarded)
        {
            _queue.CountDropped(1);
            return;
        }
        bool queued = _queue.TryAppend(priority, record, prefix, line);
        // With a flushing thread, only that thread writes.
        if (!queued && !_fileFlusher.IsRunning && _loop.MayWriteNow)
        {
            _loop.WriteQueued();
            queued = _queue.TryAppend(priority, record, prefix, line);
        }
        if (!queued)
        {
            _queue.CountDropped(1);
            return;
        }
        if (_loop.IsAttached)
            _loop.RequestFlush();
        else if (_fileFlusher.IsRunning)
            _fileFlusher.Wake();
        else
            _queue.Flush(_destination, reportDrops: false);
    }

    /// <summary>
    /// Hands the writer to the loop: a pollable destination is registered and
    /// flushed when writable; one epoll refuses (a regular file, /dev/null)
    /// goes to a flushing thread.
    /// </summary>
    public void Attach(Reactor.Reactor reactor)
    {
        lock (_gate)
            AttachLocked(reactor);
    }

    private void AttachLocked(Reactor.Reactor reactor)
    {
        if (_loop.IsAttached || _destination.IsDiscarded)
            return;
        // A regular file is never "not writable" to a poller (poll(2) says it always is; epoll
        // refuses it), yet its writes may wait: it is the thread's, whatever the backend.
        if (Sys.KindOf(_destination.Fd, out _) == DescriptorKind.RegularFile || !_loop.TryAttach(reactor))
            _fileFlusher.Start();
    }

    /// <summary>Takes the writer back from the loop (before the reactor is disposed); a flushing thread keeps flushing.</summary>
    public void Detach()
    {
        lock (_gate)
            _loop.Detach();
    }

    /// <summary>SIGHUP / logrotate: reopens the same path (file writers only); 0 or -errno. Queued lines go to the new file.</summary>
    public int Reopen()
    {
        lock (_gate)
        {
            int fd = _destination.Reopen();
            if (fd < 0)
                return fd;
            Reactor.Reactor? reactor = _loop.Detach();
            _fileFlusher.Retire(_destination.Fd);
            _destination.SwitchTo(fd);
            if (reactor != null)
                AttachLocked(reactor);
            return 0;
        }
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
        long deadline = ExitFlush.Deadline(limit);
        bool threadEnded = _fileFlusher.Stop(limit);
        lock (_gate)
        {
            // Waiting longer would hang the exit. The stuck write still reads the buffer and will
            // consume what it wrote from it when it returns: the buffer is not touched from here.
            if (!threadEnded)
                return false;
            _loop.Detach();
            if (!_destination.IsDiscarded)
                ExitFlush.WriteOut(_queue, _destination, deadline);
            return true;
        }
    }

    public void Dispose()
    {
        _fileFlusher.Stop(TimeSpan.FromMilliseconds(100));
        lock (_gate)
        {
            _loop.Detach();
            if (_destination.OwnsFd && _destination.Fd >= 0)
                _fileFlusher.Retire(_destination.Fd);
            _destination.Forget();
        }
    }
}
