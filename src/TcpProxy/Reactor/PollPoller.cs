using System;
using System.Runtime.InteropServices;
using TcpProxy.Interop;

namespace TcpProxy.Reactor;

/// <summary>
/// The POSIX backend, for any Unix: poll(2). poll is level-triggered and
/// remembers nothing, so each wait builds the pollfd set from the reactor's
/// table (<see cref="IInterestTable"/>): only the directions a callback wants
/// and the table does not already know to be ready. A direction reported once
/// stays out of the set until a handler's EAGAIN clears it in the table —
/// which is the edge contract <see cref="IPoller"/> promises, and what keeps
/// a readable socket nobody reads from waking the loop again and again.
/// An fd with nothing to watch is left out entirely, since poll reports
/// POLLHUP and POLLERR whether asked or not. Costs O(registered fds) per
/// wait; it is the fallback, and the proof on Linux that nothing above the
/// poller depends on epoll.
/// </summary>
public sealed unsafe class PollPoller : IPoller
{
    private IInterestTable? _table;
    // Registered fds, dense; _slotOfFd[fd] is its index + 1 (0: not registered).
    private int[] _fds = new int[64];
    private ulong[] _tokens = new ulong[64];
    private int _count;
    private int[] _slotOfFd = new int[1024];
    // The pollfd set of the current wait and the token of each entry.
    private PollFd* _set;
    private ulong[] _setTokens = new ulong[64];
    private int _setCapacity;

    public PollPoller()
    {
        _setCapacity = 64;
        _set = (PollFd*)NativeMemory.Alloc((nuint)_setCapacity, (nuint)sizeof(PollFd));
    }

    public string Name => "poll";

    /// <summary>Registered fds, whether or not a wait would watch them.</summary>
    public int RegisteredCount => _count;

    public void Attach(IInterestTable table) => _table = table;

    public int Register(int fd, ulong token)
    {
        if (fd < 0)
            return -Errno.EBADF;
        if (fd >= _slotOfFd.Length)
            Array.Resize(ref _slotOfFd, Math.Max(fd + 1, _slotOfFd.Length * 2));
        int slot = _slotOfFd[fd] - 1;
        if (slot < 0)
        {
            if (_count == _fds.Length)
            {
                Array.Resize(ref _fds, _count * 2);
                Array.Resize(ref _tokens, _count * 2);
            }
            slot = _count++;
            _fds[slot] = fd;
            _slotOfFd[fd] = slot + 1;
        }
        // A number reused since its close: the new registration replaces the old.
        _tokens[slot] = token;
        return 0;
    }

    public int Unregister(int fd)
    {
        if ((uint)fd >= (uint)_slotOfFd.Length || _slotOfFd[fd] == 0)
            return -Errno.ENOENT;
        RemoveSlot(_slotOfFd[fd] - 1);
        return 0;
    }

    public int Wait(Span<PollEvent> events, int timeoutMs)
    {
        int watched = BuildSet();
        int rc = Sys.Poll(_set, watched, timeoutMs);
        if (rc == -Errno.EINTR)
            return 0;
        if (rc <= 0)
            return rc;
        // Level-triggered: what does not fit in events is reported by the next wait.
        int count = 0;
        for (int i = 0; i < watched && count < events.Length; i++)
        {
            short returned = _set[i].ReturnedEvents;
            if (returned == 0)
                continue;
            events[count].Token = _setTokens[i];
            events[count].Events = Translate(returned);
            count++;
        }
        return count;
    }

    /// <summary>POLL* bits as the loop's own; errors and hang-ups as both directions plus HangUp.</summary>
    internal static IoEvents Translate(short returned)
    {
        IoEvents ready = IoEvents.None;
        if ((returned & (Sys.PollIn | Sys.PollPri)) != 0)
            ready |= IoEvents.Readable;
        if ((returned & Sys.PollPri) != 0)
            ready |= IoEvents.Urgent;
        if ((returned & Sys.PollOut) != 0)
            ready |= IoEvents.Writable;
        if ((returned & (Sys.PollErr | Sys.PollHup | Sys.PollNval)) != 0)
            ready |= IoEvents.Both | IoEvents.HangUp;
        return ready;
    }

    /// <summary>Fills the pollfd set from the table; drops registrations the table no longer knows. Returns its size.</summary>
    private int BuildSet()
    {
        int watched = 0;
        for (int i = 0; i < _count; i++)
        {
            IoEvents interest = IoEvents.Both;
            // The reactor forgets a closed fd without telling the poller (epoll needs no call for it).
            if (_table != null && !_table.TryGetInterest(_tokens[i], out interest))
            {
                RemoveSlot(i);
                i--;
                continue;
            }
            if (interest == IoEvents.None)
                continue;
            if (watched == _setCapacity)
                GrowSet();
            short wanted = 0;
            if ((interest & IoEvents.Readable) != 0)
                wanted |= Sys.PollIn | Sys.PollPri;
            if ((interest & IoEvents.Writable) != 0)
                wanted |= Sys.PollOut;
            _set[watched].Fd = _fds[i];
            _set[watched].Events = wanted;
            _set[watched].ReturnedEvents = 0;
            _setTokens[watched] = _tokens[i];
            watched++;
        }
        return watched;
    }

    private void RemoveSlot(int slot)
    {
        _slotOfFd[_fds[slot]] = 0;
        int last = --_count;
        if (slot != last)
        {
            _fds[slot] = _fds[last];
            _tokens[slot] = _tokens[last];
            _slotOfFd[_fds[slot]] = slot + 1;
        }
    }

    private void GrowSet()
    {
        int capacity = _setCapacity * 2;
        _set = (PollFd*)NativeMemory.Realloc(_set, (nuint)capacity * (nuint)sizeof(PollFd));
        Array.Resize(ref _setTokens, capacity);
        _setCapacity = capacity;
    }

    public void Dispose()
    {
        NativeMemory.Free(_set);
        _set = null;
        _setCapacity = 0;
        _count = 0;
    }
}
