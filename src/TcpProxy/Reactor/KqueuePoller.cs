using System;
using System.Runtime.InteropServices;
using TcpProxy.Interop;

namespace TcpProxy.Reactor;

/// <summary>kevent(2) as the backend calls it: the real one, or a script in tests.</summary>
public unsafe delegate int KeventCall(int kq, KEvent* changes, int changeCount, KEvent* events, int eventCapacity, TimeSpec* timeout);

/// <summary>
/// The macOS backend: one kqueue, each fd registered once with EVFILT_READ
/// and EVFILT_WRITE, EV_ADD | EV_CLEAR — edge-triggered, like EpollPoller, so
/// pausing and resuming a direction costs nothing. A registration is not a
/// syscall of its own: changes queue in a changelist that the next wait hands
/// to kevent with it (libuv and nginx do the same). kqueue reports read and
/// write separately; EV_EOF becomes the hang-up bit, and an EV_ERROR entry —
/// a change the kernel refused — becomes an error on that registration, so
/// its handler's next syscall reports the real error.
///
/// A change queued for an fd that is closed before the next wait fails there
/// (EBADF) or, if the number was reused meanwhile by an fd nobody registered,
/// lands on that fd with the old token; either way the reactor drops what
/// comes back, by the token's generation.
///
/// libkqueue (the same API over epoll on Linux, a testing aid) differs in
/// ways this class minds (docs/kqueue-libkqueue.md). It cannot see a close:
/// a closed fd's registration stays, and a later EV_ADD of the reused number
/// only renames it, never reaching epoll; there the reactor's
/// <see cref="Forget"/> queues the delete that close() implies on macOS. A
/// kevent call whose wait times out returns 0, dropping the EV_ERROR entries
/// its changes produced; there changes always go ahead with receipts. The
/// order of <see cref="Register"/>'s two filters and the receipt batches
/// suit it too, at no cost on macOS.
/// </summary>
public sealed unsafe class KqueuePoller : IPoller
{
    private const int Capacity = 1024;
    // Changes applied per receipt flush: libkqueue takes at most 512 events a
    // call and fails the rest (EFAULT) when receipts overflow them.
    internal const int ReceiptBatch = 256;
    private readonly int _kq;
    private readonly KeventCall _kevent;
    private readonly bool _libKqueue;
    private KEvent* _events;
    private KEvent* _changes;
    private int _changeCount;
    private int _changeCapacity;
    private KEvent* _receipts;
    // Registrations refused in a flush made ahead of a wait, reported by the next wait.
    private ulong[] _refused = new ulong[16];
    private int _refusedCount;

    /// <summary>
    /// A poller on kq calling kevent through <paramref name="kevent"/>; kq below 0 is never closed (tests).
    /// <paramref name="libKqueue"/>: kq and kevent are libkqueue's.
    /// </summary>
    internal KqueuePoller(int kq, KeventCall kevent, bool libKqueue = false)
    {
        _kq = kq;
        _kevent = kevent;
        _libKqueue = libKqueue;
        _events = (KEvent*)NativeMemory.Alloc(Capacity, (nuint)sizeof(KEvent));
        _receipts = (KEvent*)NativeMemory.Alloc(ReceiptBatch, (nuint)sizeof(KEvent));
        _changeCapacity = 256;
        _changes = (KEvent*)NativeMemory.Alloc((nuint)_changeCapacity, (nuint)sizeof(KEvent));
    }

    public string Name => "kqueue";

    /// <summary>Changes waiting for the next kevent call.</summary>
    public int PendingChanges => _changeCount;

    /// <summary>Creates the kqueue, or returns null with the errno.</summary>
    public static KqueuePoller? Create(out int errno)
    {
        int kq = Sys.KqueueCreate();
        errno = kq < 0 ? -kq : 0;
        return kq < 0 ? null : new KqueuePoller(kq, Sys.Kevent, Sys.KqueueIsLibKqueue);
    }

    public int Register(int fd, ulong token)
    {
        // Write first: libkqueue shares one epoll registration between the two
        // filters, and adding EVFILT_WRITE after EVFILT_READ rewrites it
        // without EPOLLRDHUP, so a FIN that arrives with data unread would
        // never set EV_EOF. macOS does not mind the order.
        Queue(fd, Sys.KqueueFilterWrite, Sys.KqueueAdd | Sys.KqueueClear, token);
        Queue(fd, Sys.KqueueFilterRead, Sys.KqueueAdd | Sys.KqueueClear, token);
        return 0;
    }

    public int Unregister(int fd)
    {
        Queue(fd, Sys.KqueueFilterRead, Sys.KqueueDelete, 0);
        Queue(fd, Sys.KqueueFilterWrite, Sys.KqueueDelete, 0);
        return 0;
    }

    /// <summary>
    /// Nothing on macOS, where close() deletes. On libkqueue the delete, queued
    /// ahead of any EV_ADD of the reused number; applied after the close, it
    /// finds the fd gone (EBADF) or another file (ENOENT), which libkqueue
    /// takes as "already removed" and drops its state quietly.
    /// </summary>
    public void Forget(int fd)
    {
        if (_libKqueue)
            Unregister(fd);
    }

    public int Wait(Span<PollEvent> events, int timeoutMs)
    {
        int capacity = Math.Min(events.Length, Capacity);
        int count = TakeRefused(events, 0, capacity);
        // kevent reports a refused change in the event list, and fails the
        // whole call if there is no room left for it: more changes than room
        // go ahead on their own, with receipts (on libkqueue, all of them).
        if (_changeCount > capacity - count || (_libKqueue && _changeCount > 0))
        {
            int flushed = FlushWithReceipts();
            if (flushed < 0)
                return flushed;
            count = TakeRefused(events, count, capacity);
        }
        int room = capacity - count;
        if (room == 0)
            return count;
        if (count > 0 || _refusedCount > 0)
            timeoutMs = 0;
        TimeSpec limit;
        TimeSpec* timeout = null;
        if (timeoutMs >= 0)
        {
            limit.Seconds = timeoutMs / 1000;
            limit.Nanoseconds = timeoutMs % 1000 * 1_000_000L;
            timeout = &limit;
        }
        int n = _kevent(_kq, _changes, _changeCount, _events, room, timeout);
        // The kernel applies the changelist before it waits: an interrupted wait consumed it too.
        _changeCount = 0;
        if (n == -Errno.EINTR)
            return count;
        if (n < 0)
            return n;
        for (int i = 0; i < n; i++)
            count = Add(events, count, _events[i]);
        return count;
    }

    /// <summary>Reports registrations refused by an earlier flush, as errors on them; returns the new count.</summary>
    private int TakeRefused(Span<PollEvent> events, int count, int capacity)
    {
        while (_refusedCount > 0 && count < capacity)
        {
            ulong token = _refused[--_refusedCount];
            // Both filters of one registration refused: one event.
            if (count > 0 && events[count - 1].Token == token)
                continue;
            events[count].Token = token;
            events[count].Events = IoEvents.Both | IoEvents.HangUp;
            count++;
        }
        return count;
    }

    /// <summary>Adds one kevent to the reactor's batch (merged with the previous entry when it is the same registration); returns the new count.</summary>
    private static int Add(Span<PollEvent> events, int count, in KEvent entry)
    {
        IoEvents ready = Translate(entry);
        if (ready == IoEvents.None)
            return count;
        if (count > 0 && events[count - 1].Token == entry.UserData)
        {
            events[count - 1].Events |= ready;
            return count;
        }
        events[count].Token = entry.UserData;
        events[count].Events = ready;
        return count + 1;
    }

    /// <summary>One kevent as the loop's bits; None for entries that concern nobody (a failed delete).</summary>
    internal static IoEvents Translate(in KEvent entry)
    {
        if ((entry.Flags & Sys.KqueueError) != 0)
        {
            // A delete of what is gone already (the fd was closed) is no news; a refused add is.
            if ((entry.Flags & Sys.KqueueDelete) != 0 || entry.Data == 0)
                return IoEvents.None;
            return IoEvents.Both | IoEvents.HangUp;
        }
        bool endOfFile = (entry.Flags & Sys.KqueueEndOfFile) != 0;
        if (entry.Filter == Sys.KqueueFilterRead)
        {
            IoEvents ready = IoEvents.Readable;
            if ((entry.Flags & Sys.KqueueOutOfBand) != 0)
                ready |= IoEvents.Urgent;
            // EV_EOF on read: the peer's FIN (EPOLLRDHUP); with a socket error in fflags, both ways (EPOLLERR).
            if (endOfFile)
                ready |= entry.FilterFlags != 0 ? IoEvents.Both | IoEvents.HangUp : IoEvents.HangUp;
            return ready;
        }
        if (entry.Filter == Sys.KqueueFilterWrite)
            // EV_EOF on write: nothing can be sent any more (EPOLLHUP): both ways, so the next syscall says why.
            return endOfFile ? IoEvents.Both | IoEvents.HangUp : IoEvents.Writable;
        return IoEvents.None;
    }

    private void Queue(int fd, short filter, ushort flags, ulong token)
    {
        if (_changeCount == _changeCapacity)
        {
            _changeCapacity *= 2;
            _changes = (KEvent*)NativeMemory.Realloc(_changes, (nuint)_changeCapacity * (nuint)sizeof(KEvent));
        }
        ref KEvent change = ref _changes[_changeCount++];
        change = default;
        change.Ident = (ulong)fd;
        change.Filter = filter;
        change.Flags = flags;
        change.UserData = token;
    }

    /// <summary>
    /// Applies the changelist alone: EV_RECEIPT makes kevent answer every
    /// change (data 0, or the errno) and nothing else, so no pending event is
    /// taken out of the queue here. Refused additions are kept for the wait.
    /// </summary>
    private int FlushWithReceipts()
    {
        int changes = _changeCount;
        _changeCount = 0;
        TimeSpec zero = default;
        for (int done = 0; done < changes;)
        {
            int batch = Math.Min(changes - done, ReceiptBatch);
            KEvent* first = _changes + done;
            for (int i = 0; i < batch; i++)
                first[i].Flags |= Sys.KqueueReceipt;
            int n = _kevent(_kq, first, batch, _receipts, batch, &zero);
            done += batch;
            if (n == -Errno.EINTR)
                continue;
            if (n < 0)
                return n;
            for (int i = 0; i < n; i++)
            {
                if (Translate(_receipts[i]) == IoEvents.None)
                    continue;
                if (_refusedCount == _refused.Length)
                    Array.Resize(ref _refused, _refusedCount * 2);
                _refused[_refusedCount++] = _receipts[i].UserData;
            }
        }
        return 0;
    }

    public void Dispose()
    {
        if (_kq >= 0)
            Sys.Close(_kq);
        NativeMemory.Free(_events);
        NativeMemory.Free(_changes);
        _events = null;
        NativeMemory.Free(_receipts);
        _changes = null;
        _receipts = null;
        _changeCount = 0;
    }
}
