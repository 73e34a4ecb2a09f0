using System;
using System.Diagnostics;

namespace TcpProxy.Reactor;

/// <summary>
/// The event loop: one thread, a callback table indexed by fd (Redis ae's
/// events[fd]), a timer wheel, and a poller backend. libasync's API in C#:
/// <see cref="Add"/> registers an fd with its handler, <see cref="Watch"/> is
/// fdcb(fd, sel, on/off), <see cref="Timers"/> is timecb, <see cref="Run"/> is amain.
///
/// Backends are edge-triggered, so the table remembers per fd what is ready
/// until a handler reports EAGAIN (<see cref="ClearReady"/>). A callback runs
/// while its fd is both ready and wanted; one that returns with the fd still
/// ready and wanted (its per-call budget ran out) is queued to run again after
/// the other ready fds, which keeps one busy socket from starving the rest.
///
/// No exception escapes a callback into the loop: each fd callback and each
/// timer runs inside a try/catch (free while nothing throws), and what it
/// throws goes to the fd's or the timer's <see cref="IFaultOwner"/>. A fault with no owner, or whose owner
/// fails in turn, is reported to <see cref="UnownedFault"/> and the fd forgotten.
/// </summary>
public sealed partial class Reactor : IDisposable, IInterestTable
{
    private const int EventBatch = 512;

    private readonly IPoller _poller;
    private readonly PollEvent[] _events = new PollEvent[EventBatch];
    private FdEntry[] _table = new FdEntry[1024];
    // Twice the table: an fd is queued at most once, but while RunPending
    // works through the queue an fd it ran may be queued again behind the
    // slots not yet cleared. Sized with the table, queuing never allocates.
    private int[] _pending = new int[2 * 1024];
    private int _pendingCount;
    private bool _running;

    private struct FdEntry
    {
        // Bumped at each registration: events carry it in their token, so an
        // event fetched for a closed fd is dropped when the number is reused.
        public uint Generation;
        public bool Registered;
        public bool Queued;
        public IoEvents Ready;
        // The directions whose callback is on (fdcb's "is a callback set").
        public IoEvents Wanted;
        // Who handles the events: a pair, a listener, a mailbox...
        public IFdHandler? Handler;
        public IFaultOwner? Owner;
        // 24 bytes: the table holds an entry per fd number up to the highest in use.
    }

    public Reactor(IPoller poller)
    {
        _poller = poller;
        poller.Attach(this);
        NowMs = ReadClockMs();
        Timers = new TimerWheel(NowMs, onFault: (timer, exception) => ReportFault(-1, timer.Owner, exception));
    }

    /// <summary>timecb: arm and cancel <see cref="LoopTimer"/>s; what a timer throws goes to its owner.</summary>
    public TimerWheel Timers { get; }

    /// <summary>Monotonic milliseconds, read once per loop iteration (libuv's uv_now).</summary>
    public long NowMs { get; private set; }

    /// <summary>Keeps the garbage of logs and scrapes from piling up between collections; checked once per iteration of <see cref="Run"/>.</summary>
    internal GarbageBudget Garbage { get; } = new();

    /// <summary>Callbacks (fd or timer) that threw since start.</summary>
    public long Faults { get; private set; }

    /// <summary>Told of a fault no owner took care of; the fd, if any, has been forgotten.</summary>
    public Action<Exception>? UnownedFault { get; set; }

    /// <summary>
    /// Starts watching fd, its events going to <paramref name="handler"/>;
    /// no direction is wanted until <see cref="Watch"/> turns it on.
    /// <paramref name="assumeReady"/> says which directions to treat as ready
    /// before the first event: a fresh connected socket is optimistically both
    /// (the first syscall tells the truth), a connecting one neither.
    /// <paramref name="owner"/> answers for the handler's faults. Returns 0 or -errno.
    /// </summary>
    public int Add(int fd, IFdHandler handler, IoEvents assumeReady, IFaultOwner? owner = null)
    {
        EnsureCapacity(fd);
        ref FdEntry entry = ref _table[fd];
        uint generation = entry.Generation + 1;
        int rc = _poller.Register(fd, Token(fd, generation));
        if (rc < 0)
            return rc;
        entry = new FdEntry { Generation = generation, Registered = true, Ready = assumeReady, Owner = owner, Handler = handler };
        return 0;
    }

    /// <summary>For tests that inject a fault into a registered fd's callbacks: its owner stays.</summary>
    internal void ReplaceHandler(int fd, IFdHandler handler) => _table[fd].Handler = handler;

    /// <summary>
    /// fdcb: turns one direction's callback on or off. Costs no syscall
    /// (edge-triggered registration for both directions stays as it is).
    /// </summary>
    public void Watch(int fd, IoEvents direction, bool on)
    {
        ref FdEntry entry = ref _table[fd];
        Debug.Assert(entry.Registered, "Watch on an fd that is not registered");
        if (!on)
        {
            entry.Wanted &= ~direction;
            return;
        }
        entry.Wanted |= direction;
        if ((entry.Ready & direction) != 0)
            Enqueue(fd, ref entry);
    }

    /// <summary>
    /// Forgets fd before the caller closes it. close() itself removes an fd
    /// from epoll or kqueue, so this costs no syscall; events already fetched
    /// for it are dropped by the generation check.
    /// </summary>
    public void Remove(int fd)
    {
        _poller.Forget(fd);
        Clear(fd);
    }

    /// <summary>Stops watching an fd the caller keeps open (stderr handed back): the poller must be told, close() will not.</summary>
    public void Release(int fd)
    {
        _poller.Unregister(fd);
        Clear(fd);
    }

    private void Clear(int fd)
    {
        ref FdEntry entry = ref _table[fd];
        entry = new FdEntry { Generation = entry.Generation };
    }

    /// <summary>
    /// What is known of fd: the directions ready until a handler saw EAGAIN,
    /// <see cref="IoEvents.HangUp"/> once the peer was seen closing or
    /// resetting (sticky until fd is removed), <see cref="IoEvents.Urgent"/>
    /// while urgent data was signalled and no read has seen EAGAIN since.
    /// </summary>
    public IoEvents ReadyOf(int fd) => _table[fd].Ready;

    /// <summary>A handler saw EAGAIN (or a short read or write): wait for the next edge.</summary>
    public void ClearReady(int fd, IoEvents direction) => _table[fd].Ready &= ~direction;

    /// <summary>For level-triggered backends: the directions of a live registration that are wanted and not known ready.</summary>
    bool IInterestTable.TryGetInterest(ulong token, out IoEvents interest)
    {
        int fd = (int)(uint)token;
        if ((uint)fd >= (uint)_table.Length || _table[fd].Generation != (uint)(token >> 32) || !_table[fd].Registered)
        {
            interest = IoEvents.None;
            return false;
        }
        ref FdEntry entry = ref _table[fd];
        interest = entry.Wanted & ~entry.Ready;
        return true;
    }

    /// <summary>amain: runs until <see cref="Stop"/>; returns 0, or -errno if the poller failed.</summary>
    public int Run()
    {
        _running = true;
        while (_running)
        {
            int rc = RunOnce(-1);
            if (rc < 0)
                return rc;
            Garbage.Check();
        }
        return 0;
    }

    public void Stop() => _running = false;

    /// <summary>
    /// One iteration: wait (at most maxWaitMs, -1 for no bound beyond timers),
    /// dispatch events, then re-run queued callbacks, then due timers.
    /// Returns -errno if the poller failed, else 0.
    /// </summary>
    public int RunOnce(int maxWaitMs)
    {
        // The callbacks and timers of the last iteration took time: a wait
        // computed from the clock read before them would fire timers late by that much.
        NowMs = ReadClockMs();
        int timeout = _pendingCount > 0 ? 0 : Timers.MillisecondsUntilNextDue(NowMs);
        if (maxWaitMs >= 0 && (timeout < 0 || timeout > maxWaitMs))
            timeout = maxWaitMs;
        int count = _poller.Wait(_events, timeout);
        NowMs = ReadClockMs();
        if (count < 0)
            return count;
        for (int i = 0; i < count; i++)
        {
            int fd = (int)(uint)_events[i].Token;
            uint generation = (uint)(_events[i].Token >> 32);
            if ((uint)fd >= (uint)_table.Length || _table[fd].Generation != generation || !_table[fd].Registered)
                continue;
            _table[fd].Ready |= _events[i].Events;
            Dispatch(fd, generation);
        }
        RunPending();
        Timers.Advance(NowMs);
        return 0;
    }

    private void EnsureCapacity(int fd)
    {
        if (fd < _table.Length)
            return;
        int size = _table.Length;
        while (size <= fd)
            size *= 2;
        // The queue first: if the table cannot grow after it, the queue is merely roomier.
        Array.Resize(ref _pending, 2 * size);
        Array.Resize(ref _table, size);
        Garbage.RequestFullCollection();
    }

    private static ulong Token(int fd, uint generation) => ((ulong)generation << 32) | (uint)fd;

    private static readonly long TicksPerMs = Stopwatch.Frequency / 1000;

    private static long ReadClockMs() => Stopwatch.GetTimestamp() / TicksPerMs;

    public void Dispose() => _poller.Dispose();
}
