using System;
using System.Collections.Generic;
using TcpProxy.Interop;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The kqueue backend's own logic, against a scripted kevent (no kqueue on
/// Linux): changes batched into the next wait, EV_EOF / EV_ERROR / EV_OOBAND
/// mapped to the loop's bits, the edge contract through a reactor.
/// </summary>
public sealed unsafe class KqueuePollerTests
{
    private const ushort AddClear = Sys.KqueueAdd | Sys.KqueueClear;
    private const int DarwinEbadf = 9; // <sys/errno.h>

    [Fact]
    public void Registrations_CostNoSyscall_AndGoToTheKernelInTheNextWait()
    {
        var kevent = new ScriptedKevent();
        using var poller = new KqueuePoller(-1, kevent.Call);

        Assert.Equal(0, poller.Register(5, Token(5, 1)));
        Assert.Equal(0, poller.Register(7, Token(7, 1)));
        Assert.Equal(0, poller.Register(9, Token(9, 1)));
        Assert.Empty(kevent.Calls);
        Assert.Equal(6, poller.PendingChanges);

        Assert.Equal(0, poller.Wait(new PollEvent[64], 10));
        KeventRecord call = Assert.Single(kevent.Calls);
        Assert.Equal(6, call.Changes.Length);
        for (int i = 0; i < 3; i++)
        {
            int fd = 5 + 2 * i;
            // Write before read: libkqueue keeps EPOLLRDHUP only in that order (docs/kqueue-libkqueue.md).
            Assert.Equal(new Change(fd, Sys.KqueueFilterWrite, AddClear, Token(fd, 1)), Change.Of(call.Changes[2 * i]));
            Assert.Equal(new Change(fd, Sys.KqueueFilterRead, AddClear, Token(fd, 1)), Change.Of(call.Changes[2 * i + 1]));
        }
        // Applied once: the next wait carries no change.
        Assert.Equal(0, poller.Wait(new PollEvent[64], 10));
        Assert.Empty(kevent.Calls[1].Changes);
    }

    [Fact]
    public void Unregister_QueuesADeleteOfBothFilters()
    {
        var kevent = new ScriptedKevent();
        using var poller = new KqueuePoller(-1, kevent.Call);
        poller.Unregister(4);
        poller.Wait(new PollEvent[8], 0);
        KEvent[] changes = kevent.Calls[0].Changes;
        Assert.Equal(new Change(4, Sys.KqueueFilterRead, Sys.KqueueDelete, 0), Change.Of(changes[0]));
        Assert.Equal(new Change(4, Sys.KqueueFilterWrite, Sys.KqueueDelete, 0), Change.Of(changes[1]));
    }

    [Fact]
    public void Forget_IsNothingOnMacOs_AndQueuesTheDeleteOnLibKqueue()
    {
        var kevent = new ScriptedKevent();
        using (var macOs = new KqueuePoller(-1, kevent.Call))
        {
            macOs.Forget(4);
            Assert.Equal(0, macOs.PendingChanges);
        }
        using var libKqueue = new KqueuePoller(-1, kevent.Call, libKqueue: true);
        libKqueue.Forget(4);
        libKqueue.Register(4, Token(4, 2)); // the number reused before the next wait
        Assert.Equal(4, libKqueue.PendingChanges);
        libKqueue.Wait(new PollEvent[8], 0);
        KEvent[] changes = kevent.Calls[0].Changes;
        Assert.Equal(new Change(4, Sys.KqueueFilterRead, Sys.KqueueDelete | Sys.KqueueReceipt, 0), Change.Of(changes[0]));
        Assert.Equal(new Change(4, Sys.KqueueFilterWrite, Sys.KqueueDelete | Sys.KqueueReceipt, 0), Change.Of(changes[1]));
        Assert.Equal(new Change(4, Sys.KqueueFilterWrite, AddClear | Sys.KqueueReceipt, Token(4, 2)), Change.Of(changes[2]));
        Assert.Equal(new Change(4, Sys.KqueueFilterRead, AddClear | Sys.KqueueReceipt, Token(4, 2)), Change.Of(changes[3]));
    }

    /// <summary>libkqueue drops the EV_ERROR entries of a call whose wait times out: its changes never ride with a wait.</summary>
    [Fact]
    public void OnLibKqueue_ChangesGoAheadWithReceipts_AndTheRefusalComesWithTheWait()
    {
        var kevent = new ScriptedKevent();
        kevent.RespondWith(changes =>
        {
            KEvent refused = changes[0];
            refused.Flags |= Sys.KqueueError;
            refused.Data = 9; // EBADF, Linux numbering
            KEvent applied = changes[1];
            applied.Flags |= Sys.KqueueError;
            return new[] { refused, applied };
        });
        using var poller = new KqueuePoller(-1, kevent.Call, libKqueue: true);
        poller.Register(5, Token(5, 1));
        var events = new PollEvent[8];
        Assert.Equal(1, poller.Wait(events, -1));
        Assert.Equal(2, kevent.Calls[0].Capacity);
        Assert.Empty(kevent.Calls[1].Changes);
        Assert.Equal(0L, kevent.Calls[1].Timeout!.Value.Seconds + kevent.Calls[1].Timeout!.Value.Nanoseconds);
        Assert.Equal(Token(5, 1), events[0].Token);
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, events[0].Events);
    }

    [Fact]
    public void AReceiptFlush_GoesInBatchesLibKqueueTakes()
    {
        var kevent = new ScriptedKevent();
        using var poller = new KqueuePoller(-1, kevent.Call);
        for (int fd = 3; fd < 303; fd++)
            poller.Register(fd, Token(fd, 1));
        poller.Wait(new PollEvent[4], 0);
        // 600 changes: 256 + 256 + 88, each with room for its receipts, then the wait.
        Assert.Equal(4, kevent.Calls.Count);
        Assert.Equal(new[] { 256, 256, 88, 0 }, kevent.Calls.ConvertAll(c => c.Changes.Length));
        Assert.All(kevent.Calls.GetRange(0, 3), c => Assert.Equal(c.Changes.Length, c.Capacity));
        Assert.All(kevent.Calls, c => Assert.True(c.Capacity <= 512));
    }

    [Theory]
    [InlineData(-1, -1L, -1L)]
    [InlineData(0, 0L, 0L)]
    [InlineData(1500, 1L, 500_000_000L)]
    [InlineData(10, 0L, 10_000_000L)]
    public void Timeout_IsATimespec_OrNoneForever(int timeoutMs, long seconds, long nanoseconds)
    {
        var kevent = new ScriptedKevent();
        using var poller = new KqueuePoller(-1, kevent.Call);
        poller.Wait(new PollEvent[8], timeoutMs);
        TimeSpec? timeout = kevent.Calls[0].Timeout;
        if (seconds < 0)
        {
            Assert.Null(timeout);
            return;
        }
        Assert.NotNull(timeout);
        Assert.Equal(seconds, timeout.Value.Seconds);
        Assert.Equal(nanoseconds, timeout.Value.Nanoseconds);
    }

    [Fact]
    public void ReadAndWriteOfOneFd_BecomeOneEvent()
    {
        var kevent = new ScriptedKevent();
        kevent.Respond(Event(5, Sys.KqueueFilterRead, 0, Token(5, 3)), Event(5, Sys.KqueueFilterWrite, 0, Token(5, 3)), Event(6, Sys.KqueueFilterWrite, 0, Token(6, 1)));
        using var poller = new KqueuePoller(-1, kevent.Call);
        var events = new PollEvent[8];
        Assert.Equal(2, poller.Wait(events, 0));
        Assert.Equal(Token(5, 3), events[0].Token);
        Assert.Equal(IoEvents.Both, events[0].Events);
        Assert.Equal(Token(6, 1), events[1].Token);
        Assert.Equal(IoEvents.Writable, events[1].Events);
    }

    [Fact]
    public void EndOfFile_IsTheHangUpBit_ReadSideKeepsItsDirection_WriteSideMeansBoth()
    {
        Assert.Equal(IoEvents.Readable | IoEvents.HangUp, KqueuePoller.Translate(Event(5, Sys.KqueueFilterRead, Sys.KqueueEndOfFile, 1)));
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, KqueuePoller.Translate(Event(5, Sys.KqueueFilterWrite, Sys.KqueueEndOfFile, 1)));
        // A socket error travels in fflags with EV_EOF: the next read or write must report it.
        KEvent reset = Event(5, Sys.KqueueFilterRead, Sys.KqueueEndOfFile, 1);
        reset.FilterFlags = 54; // ECONNRESET on macOS
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, KqueuePoller.Translate(reset));
    }

    [Fact]
    public void OutOfBandData_IsReadableAndUrgent()
    {
        Assert.Equal(IoEvents.Readable | IoEvents.Urgent, KqueuePoller.Translate(Event(5, Sys.KqueueFilterRead, Sys.KqueueOutOfBand, 1)));
    }

    [Fact]
    public void RefusedRegistration_IsAnErrorOnIt_AFailedDeleteIsNothing()
    {
        KEvent refused = Event(5, Sys.KqueueFilterRead, AddClear | Sys.KqueueError, Token(5, 2));
        refused.Data = DarwinEbadf;
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, KqueuePoller.Translate(refused));
        Assert.Equal(Errno.EBADF, Sys.KqueueErrno(refused));
        KEvent goneAlready = Event(5, Sys.KqueueFilterRead, Sys.KqueueDelete | Sys.KqueueError, 0);
        goneAlready.Data = 2; // ENOENT
        Assert.Equal(IoEvents.None, KqueuePoller.Translate(goneAlready));

        var kevent = new ScriptedKevent();
        kevent.Respond(goneAlready, refused);
        using var poller = new KqueuePoller(-1, kevent.Call);
        var events = new PollEvent[8];
        Assert.Equal(1, poller.Wait(events, 0));
        Assert.Equal(Token(5, 2), events[0].Token);
    }

    [Fact]
    public void InterruptedWait_ReturnsNothing_AndTheChangesAreNotSentTwice()
    {
        var kevent = new ScriptedKevent();
        kevent.Fail(-Errno.EINTR);
        using var poller = new KqueuePoller(-1, kevent.Call);
        poller.Register(3, Token(3, 1));
        Assert.Equal(0, poller.Wait(new PollEvent[8], -1));
        Assert.Equal(0, poller.PendingChanges);
        poller.Wait(new PollEvent[8], 0);
        Assert.Empty(kevent.Calls[1].Changes);
    }

    [Fact]
    public void MoreChangesThanRoomForErrors_GoAheadWithReceipts_AndRefusalsComeWithTheWait()
    {
        var kevent = new ScriptedKevent();
        // First call: the receipts (EV_ERROR with data 0 = applied), one refused.
        kevent.RespondWith(changes =>
        {
            var receipts = new KEvent[changes.Length];
            for (int i = 0; i < changes.Length; i++)
            {
                receipts[i] = changes[i];
                receipts[i].Flags |= Sys.KqueueError;
                receipts[i].Data = changes[i].Ident == 4 ? DarwinEbadf : 0;
            }
            return receipts;
        });
        using var poller = new KqueuePoller(-1, kevent.Call);
        for (int fd = 3; fd < 8; fd++)
            poller.Register(fd, Token(fd, 1));

        var events = new PollEvent[4]; // room for 4 errors, 10 changes queued
        int count = poller.Wait(events, -1);

        KeventRecord flush = kevent.Calls[0];
        Assert.Equal(10, flush.Changes.Length);
        Assert.Equal(10, flush.Capacity);
        Assert.All(flush.Changes, c => Assert.True((c.Flags & Sys.KqueueReceipt) != 0));
        Assert.Equal(0L, flush.Timeout!.Value.Seconds + flush.Timeout.Value.Nanoseconds);
        // Then the wait itself: no change left, and no blocking, since there is news.
        KeventRecord wait = kevent.Calls[1];
        Assert.Empty(wait.Changes);
        Assert.Equal(0L, wait.Timeout!.Value.Seconds + wait.Timeout.Value.Nanoseconds);
        Assert.Equal(1, count);
        Assert.Equal(Token(4, 1), events[0].Token);
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, events[0].Events);
    }

    [Fact]
    public void ThroughAReactor_AnEdgeRunsTheCallbackOnce_AndEofStaysKnown()
    {
        var kevent = new ScriptedKevent();
        using var reactor = new Reactor.Reactor(new KqueuePoller(-1, kevent.Call));
        const int fd = 12;
        Assert.Equal(0, reactor.Add(fd, IoEvents.None));
        int reads = 0;
        reactor.SetCallback(fd, IoEvents.Readable, () =>
        {
            reads++;
            reactor.ClearReady(fd, IoEvents.Readable); // the handler saw EAGAIN
        });
        ulong token = Assert.Single(kevent.PendingTokens(reactor, fd));

        kevent.Respond(Event(fd, Sys.KqueueFilterRead, Sys.KqueueEndOfFile, token));
        Assert.Equal(0, reactor.RunOnce(0));
        Assert.Equal(1, reads);
        Assert.True((reactor.ReadyOf(fd) & IoEvents.HangUp) != 0);
        // No new edge, no call: the kernel's EV_CLEAR and the reactor's table agree.
        Assert.Equal(0, reactor.RunOnce(0));
        Assert.Equal(1, reads);
        // An event for the fd's previous registration (a stale token) is dropped.
        kevent.Respond(Event(fd, Sys.KqueueFilterRead, 0, token - (1UL << 32)));
        Assert.Equal(0, reactor.RunOnce(0));
        Assert.Equal(1, reads);
    }

    private static ulong Token(int fd, uint generation) => ((ulong)generation << 32) | (uint)fd;

    private static KEvent Event(int fd, short filter, ushort flags, ulong token)
    {
        KEvent e = default;
        e.Ident = (ulong)fd;
        e.Filter = filter;
        e.Flags = flags;
        e.UserData = token;
        return e;
    }

    private readonly record struct Change(ulong Fd, short Filter, ushort Flags, ulong Token)
    {
        public Change(int fd, short filter, ushort flags, ulong token) : this((ulong)fd, filter, flags, token) { }

        public static Change Of(in KEvent e) => new(e.Ident, e.Filter, e.Flags, e.UserData);
    }

    private sealed record KeventRecord(KEvent[] Changes, int Capacity, TimeSpec? Timeout);

    /// <summary>kevent(2) played from a script: records each call, answers the next scripted response.</summary>
    private sealed class ScriptedKevent
    {
        private readonly Queue<Func<KEvent[], (KEvent[] Events, int Result)>> _responses = new();

        public List<KeventRecord> Calls { get; } = new();

        public void Respond(params KEvent[] events) => _responses.Enqueue(_ => (events, events.Length));

        public void RespondWith(Func<KEvent[], KEvent[]> answer) => _responses.Enqueue(changes =>
        {
            KEvent[] events = answer(changes);
            return (events, events.Length);
        });

        public void Fail(int negativeErrno) => _responses.Enqueue(_ => (Array.Empty<KEvent>(), negativeErrno));

        /// <summary>Runs one wait and returns the tokens registered for fd in it (what the reactor handed the poller).</summary>
        public IEnumerable<ulong> PendingTokens(Reactor.Reactor reactor, int fd)
        {
            int before = Calls.Count;
            reactor.RunOnce(0);
            var tokens = new HashSet<ulong>();
            foreach (KEvent change in Calls[before].Changes)
            {
                if (change.Ident == (ulong)fd)
                    tokens.Add(change.UserData);
            }
            return tokens;
        }

        public int Call(int kq, KEvent* changes, int changeCount, KEvent* events, int eventCapacity, TimeSpec* timeout)
        {
            var copy = new KEvent[changeCount];
            for (int i = 0; i < changeCount; i++)
                copy[i] = changes[i];
            Calls.Add(new KeventRecord(copy, eventCapacity, timeout == null ? null : *timeout));
            if (_responses.Count == 0)
                return 0;
            (KEvent[] answer, int result) = _responses.Dequeue()(copy);
            if (result < 0)
                return result;
            int n = Math.Min(answer.Length, eventCapacity);
            for (int i = 0; i < n; i++)
                events[i] = answer[i];
            return n;
        }
    }
}
