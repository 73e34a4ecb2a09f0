using System;

namespace TcpProxy.Reactor;

/// <summary>
/// Dispatch: an event's fd is looked up in the table and its handler runs
/// while the fd is both ready and wanted; what is still ready afterwards is
/// queued behind the other ready fds; what a handler throws goes to its owner.
/// </summary>
public sealed partial class Reactor
{
    private void Dispatch(int fd, uint generation)
    {
        ref FdEntry entry = ref _table[fd];
        if ((entry.Ready & entry.Wanted & IoEvents.Readable) != 0)
        {
            InvokeHandler(fd, entry.Handler!, IoEvents.Readable, entry.Owner);
            // The callback may have closed fd, and an accept may even have reused it.
            entry = ref _table[fd];
            if (entry.Generation != generation || !entry.Registered)
                return;
        }
        if ((entry.Ready & entry.Wanted & IoEvents.Writable) != 0)
        {
            InvokeHandler(fd, entry.Handler!, IoEvents.Writable, entry.Owner);
            entry = ref _table[fd];
            if (entry.Generation != generation || !entry.Registered)
                return;
        }
        if ((entry.Ready & entry.Wanted) != 0)
            Enqueue(fd, ref entry);
    }

    private void InvokeHandler(int fd, IFdHandler handler, IoEvents direction, IFaultOwner? owner)
    {
        try
        {
            if (direction == IoEvents.Readable)
                handler.OnReadable(fd);
            else
                handler.OnWritable(fd);
        }
        catch (Exception exception)
        {
            ReportFault(fd, owner, exception);
        }
    }

    private void ReportFault(int fd, IFaultOwner? owner, Exception exception)
    {
        Faults++;
        if (owner != null)
        {
            try
            {
                owner.OnFault(exception);
                return;
            }
            catch (Exception second)
            {
                exception = second;
            }
        }
        // Nobody can clean up after this callback: forget the fd so it cannot fail again and again.
        if (fd >= 0 && _table[fd].Registered)
        {
            _poller.Unregister(fd);
            Clear(fd);
        }
        try
        {
            UnownedFault?.Invoke(exception);
        }
        catch (Exception)
        {
            // Even the report failed (out of memory, say): the fault is counted in Faults.
        }
    }

    private void RunPending()
    {
        // Only what was queued before this pass runs now; re-queued fds wait
        // for the next iteration, after a non-blocking poll for newcomers.
        int count = _pendingCount;
        for (int i = 0; i < count; i++)
        {
            int fd = _pending[i];
            ref FdEntry entry = ref _table[fd];
            entry.Queued = false;
            if (entry.Registered)
                Dispatch(fd, entry.Generation);
        }
        int remaining = _pendingCount - count;
        Array.Copy(_pending, count, _pending, 0, remaining);
        _pendingCount = remaining;
    }

    private void Enqueue(int fd, ref FdEntry entry)
    {
        if (entry.Queued)
            return;
        _pending[_pendingCount++] = fd;
        entry.Queued = true;
    }
}
