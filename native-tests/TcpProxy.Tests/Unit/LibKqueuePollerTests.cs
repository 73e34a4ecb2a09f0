using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using TcpProxy.Interop;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The kqueue backend against libkqueue's real kevent (Linux, $LIBKQUEUE):
/// what <see cref="KqueuePollerTests"/> pins with a script, on real sockets
/// where it applies, and the places where libkqueue is not macOS
/// (docs/kqueue-libkqueue.md). Every wait is bounded.
/// </summary>
public sealed unsafe partial class LibKqueuePollerTests
{
    private const int PatienceMs = 5000;

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int fd, int target);

    [LibKqueueFact]
    public void DataArriving_IsReadable_WithItsToken()
    {
        using KqueuePoller poller = Create();
        (Socket peer, Socket watched) = ConnectedPair();
        using (peer)
        using (watched)
        {
            Assert.Equal(0, poller.Register(Fd(watched), 7));
            peer.Send("hello"u8);
            IoEvents seen = WaitUntil(poller, 7, IoEvents.Readable);
            Assert.Equal(IoEvents.None, seen & (IoEvents.HangUp | IoEvents.Urgent));
        }
    }

    [LibKqueueFact]
    public void ReadAndWriteOfOneFd_BecomeOneEvent()
    {
        using KqueuePoller poller = Create();
        (Socket peer, Socket watched) = ConnectedPair();
        using (peer)
        using (watched)
        {
            peer.Send("x"u8);
            Assert.True(watched.Poll(PatienceMs * 1000, SelectMode.SelectRead));
            poller.Register(Fd(watched), 7);
            var events = new PollEvent[8];
            int count = poller.Wait(events, PatienceMs);
            Assert.Equal(1, count);
            Assert.Equal(7UL, events[0].Token);
            Assert.Equal(IoEvents.Both, events[0].Events);
        }
    }

    /// <summary>
    /// The FIN behind unread data must set EV_EOF, as on macOS: the reactor
    /// takes a short read for "drained" and waits for the next edge, which
    /// never comes. libkqueue loses EPOLLRDHUP if EVFILT_WRITE is added after
    /// EVFILT_READ; the poller adds write first (a regression test).
    /// </summary>
    [LibKqueueFact]
    public void FinBehindUnreadData_IsReadableAndHangUp()
    {
        using KqueuePoller poller = Create();
        (Socket peer, Socket watched) = ConnectedPair();
        using (peer)
        using (watched)
        {
            poller.Register(Fd(watched), 7);
            WaitUntil(poller, 7, IoEvents.Writable);
            peer.Send(new byte[2000]);
            peer.Shutdown(SocketShutdown.Send);
            IoEvents seen = WaitUntil(poller, 7, IoEvents.HangUp);
            Assert.True((seen & IoEvents.Readable) != 0);
            Assert.Equal(2000, watched.Available);
        }
    }

    [LibKqueueFact]
    public void PeerReset_IsBothWaysAndHangUp()
    {
        using KqueuePoller poller = Create();
        (Socket peer, Socket watched) = ConnectedPair();
        using (watched)
        {
            poller.Register(Fd(watched), 7);
            WaitUntil(poller, 7, IoEvents.Writable);
            peer.LingerState = new LingerOption(true, 0);
            peer.Close();
            IoEvents seen = WaitUntil(poller, 7, IoEvents.HangUp);
            Assert.Equal(IoEvents.Both | IoEvents.HangUp, seen & (IoEvents.Both | IoEvents.HangUp));
        }
    }

    /// <summary>libkqueue never sets EV_OOBAND (it does not ask epoll for EPOLLPRI): urgent data is only readable.</summary>
    [LibKqueueFact]
    public void UrgentByte_IsNotFlagged_ByLibKqueue()
    {
        using KqueuePoller poller = Create();
        (Socket peer, Socket watched) = ConnectedPair();
        using (peer)
        using (watched)
        {
            poller.Register(Fd(watched), 7);
            WaitUntil(poller, 7, IoEvents.Writable);
            peer.Send("a"u8);
            peer.Send("!"u8, SocketFlags.OutOfBand);
            IoEvents seen = WaitUntil(poller, 7, IoEvents.Readable);
            Assert.Equal(IoEvents.None, seen & IoEvents.Urgent);
        }
    }

    /// <summary>
    /// Reported although nothing else happens: libkqueue drops the EV_ERROR
    /// entries of a call whose wait times out, so the poller sends its
    /// changes ahead with receipts there (a regression test).
    /// </summary>
    [LibKqueueFact]
    public void RefusedRegistration_IsAnErrorOnIt_CarryingALinuxErrno()
    {
        const int notOpen = 9_999;
        using KqueuePoller poller = Create();
        poller.Register(notOpen, 7);
        IoEvents seen = WaitUntil(poller, 7, IoEvents.HangUp);
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, seen);

        int kq = Sys.KqueueCreate();
        Assert.True(kq >= 0, Errno.Name(-kq));
        try
        {
            KEvent change = default;
            change.Ident = notOpen;
            change.Filter = Sys.KqueueFilterRead;
            change.Flags = Sys.KqueueAdd | Sys.KqueueClear;
            KEvent answer;
            TimeSpec zero = default;
            Assert.Equal(1, Sys.Kevent(kq, &change, 1, &answer, 1, &zero));
            Assert.True((answer.Flags & Sys.KqueueError) != 0);
            Assert.Equal(Errno.EBADF, Sys.KqueueErrno(answer));
        }
        finally
        {
            Sys.Close(kq);
        }
    }

    /// <summary>libkqueue takes at most 512 events a call: a receipt flush of more changes goes in batches (regression test).</summary>
    [LibKqueueFact]
    public void MoreChangesThanOneCallTakes_AreAllApplied()
    {
        const int sockets = 300; // 600 changes
        using KqueuePoller poller = Create();
        var all = new List<Socket>();
        try
        {
            for (int i = 0; i < sockets; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                all.Add(socket);
                poller.Register(Fd(socket), (ulong)i + 1);
            }
            var writable = new HashSet<ulong>();
            var events = new PollEvent[4]; // room for 4: the changes go ahead with receipts
            for (int round = 0; round < 2 * sockets && writable.Count < sockets; round++)
            {
                int count = poller.Wait(events, PatienceMs);
                Assert.True(count > 0, "kevent: " + (count < 0 ? Errno.Name(-count) : "timed out") + " with " + writable.Count + " writable");
                for (int i = 0; i < count; i++)
                {
                    Assert.Equal(IoEvents.Writable, events[i].Events);
                    writable.Add(events[i].Token);
                }
            }
            Assert.Equal(sockets, writable.Count);
        }
        finally
        {
            foreach (Socket socket in all)
                socket.Dispose();
        }
    }

    /// <summary>
    /// A closed fd's number, reused: libkqueue cannot see the close, so the
    /// delete the reactor's Forget queues is what lets the new registration
    /// reach epoll (dup2 closes and reuses the number in one step).
    /// </summary>
    [LibKqueueFact]
    public void ReusedNumber_ForgottenBeforeClose_GetsItsEvents()
    {
        using KqueuePoller poller = Create();
        Assert.Equal(IoEvents.Readable, SendToReusedNumber(poller, forget: true, waitMs: PatienceMs) & IoEvents.Readable);
    }

    /// <summary>Why Forget exists: without the delete, libkqueue only renames the stale registration, and the new socket is never watched.</summary>
    [LibKqueueFact]
    public void ReusedNumber_NotForgotten_IsNeverReported_ByLibKqueue()
    {
        using KqueuePoller poller = Create();
        Assert.Equal(IoEvents.None, SendToReusedNumber(poller, forget: false, waitMs: 300));
    }

    /// <summary>Registers a socket, reuses its number for another one, registers that, sends to it; what came for the new token.</summary>
    private static IoEvents SendToReusedNumber(KqueuePoller poller, bool forget, int waitMs)
    {
        (Socket oldPeer, Socket old) = ConnectedPair();
        (Socket peer, Socket fresh) = ConnectedPair();
        using (oldPeer)
        using (old)
        using (peer)
        using (fresh)
        {
            int fd = Fd(old);
            poller.Register(fd, 1);
            WaitUntil(poller, 1, IoEvents.Writable);
            if (forget)
                poller.Forget(fd);
            Assert.Equal(fd, Dup2(Fd(fresh), fd));
            poller.Register(fd, 2);
            peer.Send("y"u8);
            Assert.True(fresh.Poll(PatienceMs * 1000, SelectMode.SelectRead));
            return WaitFor(poller, 2, IoEvents.Readable, waitMs);
        }
    }

    private static KqueuePoller Create()
    {
        KqueuePoller? poller = KqueuePoller.Create(out int errno);
        Assert.True(poller != null, "kqueue: " + Errno.Name(errno));
        Assert.True(Sys.KqueueIsLibKqueue);
        return poller!;
    }

    private static IoEvents WaitUntil(KqueuePoller poller, ulong token, IoEvents wanted)
    {
        IoEvents seen = WaitFor(poller, token, wanted, PatienceMs);
        Assert.True((seen & wanted) == wanted, $"waited {PatienceMs} ms for {wanted} on token {token}, saw {seen}");
        return seen;
    }

    /// <summary>Waits (bounded) until the token's events include wanted; returns what was seen for it.</summary>
    private static IoEvents WaitFor(KqueuePoller poller, ulong token, IoEvents wanted, int waitMs)
    {
        var events = new PollEvent[64];
        IoEvents seen = IoEvents.None;
        long deadline = Environment.TickCount64 + waitMs;
        for (int round = 0; round < 1000 && (seen & wanted) != wanted; round++)
        {
            long left = deadline - Environment.TickCount64;
            if (left <= 0)
                break;
            int count = poller.Wait(events, (int)left);
            Assert.True(count >= 0, "kevent: " + Errno.Name(-count));
            for (int i = 0; i < count; i++)
            {
                if (events[i].Token == token)
                    seen |= events[i].Events;
            }
        }
        return seen;
    }

    private static (Socket Peer, Socket Watched) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(listener.LocalEndPoint!);
        Socket watched = listener.Accept();
        return (peer, watched);
    }

    private static int Fd(Socket socket) => (int)socket.Handle;
}
