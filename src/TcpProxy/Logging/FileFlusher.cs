using System;
using System.Threading;
using TcpProxy.Interop;

namespace TcpProxy.Logging;

/// <summary>
/// The flushing thread of a destination the loop cannot poll (a regular
/// file, /dev/null): epoll cannot say when it is writable, and a write to it
/// may wait (a slow disk, a stuck NFS mount). The loop only queues the line
/// and wakes this thread ("tcpproxy log", never the pool's), which calls
/// write(2) outside the lock, so the loop only ever waits for a queue append.
/// While the thread is stuck, lines fill the queue and are then dropped and
/// counted, as for a pipe nobody reads. Every member but <see cref="Stop"/>
/// runs under the writer's lock.
/// </summary>
internal sealed unsafe class FileFlusher
{
    private readonly System.Threading.Lock _gate;
    private readonly LogQueue _queue;
    private readonly LogDestination _destination;
    private readonly ManualResetEventSlim _work = new(false, spinCount: 1);
    // Fds let go of while the thread may be writing to them: it closes them between writes.
    private readonly RetiredDescriptors _retired = new();
    private Thread? _thread;
    private bool _stopping;
    private bool _ended;

    public FileFlusher(System.Threading.Lock gate, LogQueue queue, LogDestination destination)
    {
        _gate = gate;
        _queue = queue;
        _destination = destination;
    }

    /// <summary>Started and not yet stopped: then only the thread writes.</summary>
    public bool IsRunning => _thread != null;

    public void Start()
    {
        if (_thread != null)
            return;
        _stopping = false;
        _ended = false;
        _thread = new Thread(Run) { IsBackground = true, Name = "tcpproxy log" };
        _thread.Start();
        if (!_queue.IsEmpty)
            _work.Set();
    }

    /// <summary>Lines were queued: the thread writes them.</summary>
    public void Wake() => _work.Set();

    /// <summary>Closes fd now, or, while the thread may be in write(2) with it, has the thread close it once that returns.</summary>
    public void Retire(int fd)
    {
        if (_thread is null || _ended)
        {
            Sys.Close(fd);
            return;
        }
        _retired.Add(fd);
        _work.Set();
    }

    /// <summary>
    /// Without the writer's lock held: asks the thread, if any, to write what
    /// is queued and end; true once it has (or there is none), false if it is
    /// still stuck after limit.
    /// </summary>
    public bool Stop(TimeSpan limit)
    {
        Thread? thread;
        lock (_gate)
        {
            thread = _thread;
            _stopping = true;
        }
        if (thread is null)
            return true;
        _work.Set();
        if (!thread.Join(limit))
            return false;
        lock (_gate)
            _thread = null;
        CloseRetired();
        return true;
    }

    private void Run()
    {
        try
        {
            FlushUntilStopped();
        }
        catch (Exception)
        {
            // A bug here must cost log lines, never the process: an exception ending a thread aborts it.
            lock (_gate)
                _destination.StopWriting();
        }
        int[] retired;
        lock (_gate)
        {
            _ended = true; // from now on, a retired fd is closed by whoever retires it
            retired = _retired.TakeAll();
        }
        RetiredDescriptors.CloseAll(retired);
    }

    private void FlushUntilStopped()
    {
        bool stopping = false;
        while (!stopping)
        {
            _work.Wait();
            _work.Reset();
            lock (_gate)
                stopping = _stopping;
            WriteOutQueued();
            CloseRetired(); // a reopen with nothing to write wakes the thread for this alone
        }
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
                if (_queue.IsEmpty && !_queue.QueueNoticeIfOwed(wrote))
                    return;
                fd = _destination.Fd;
                data = _queue.HoldInPlace(out length);
            }
            long rc = Sys.Write(fd, (byte*)data, length);
            bool stop;
            lock (_gate)
            {
                _queue.LetMove();
                // A write to the fd just replaced (SIGHUP) counts for the bytes it took all the same.
                // Failed (counted, dropped) or would block: the next line wakes the thread again.
                stop = _queue.AccountWrite(rc, ref wrote) is not null;
            }
            CloseRetired();
            if (stop)
                return;
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
}
