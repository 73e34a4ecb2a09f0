using System;
using System.Net;
using System.Net.Sockets;
using TcpProxy.Interop;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.InProcess;

/// <summary>
/// poll is level-triggered; the backend builds its set from the reactor's
/// table so the loop sees the edge contract every backend promises. Real
/// loopback sockets, the reactor driven by the test thread.
/// </summary>
public sealed class PollPollerTests : IDisposable
{
    private readonly PollPoller _poller = new();
    private readonly Reactor.Reactor _reactor;
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public PollPollerTests()
    {
        _reactor = new Reactor.Reactor(_poller);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
    }

    [Fact]
    public void ReadableSocketNobodyDrains_IsReportedOnce_NotOnEveryWait()
    {
        (Socket peer, Socket local) = ConnectedPair();
        int fd = (int)local.Handle;
        int calls = 0;
        Assert.Equal(0, _reactor.Add(fd, IoEvents.None));
        // A handler that reads nothing and pauses (as a direction with a full
        // ring does): the data stays, the fd stays level-readable.
        _reactor.SetCallback(fd, IoEvents.Readable, () =>
        {
            calls++;
            _reactor.SetCallback(fd, IoEvents.Readable, null);
        });
        peer.Send(new byte[] { 1, 2, 3 });

        Assert.Equal(0, _reactor.RunOnce(2000));
        Assert.Equal(1, calls);
        Assert.True((_reactor.ReadyOf(fd) & IoEvents.Readable) != 0);
        Span<PollEvent> events = new PollEvent[8];
        Assert.Equal(0, _poller.Wait(events, 0));
        // Wanted again: the reactor runs it from what it knows; the backend
        // does not watch a direction already known ready, data or not.
        _reactor.SetCallback(fd, IoEvents.Readable, () => calls++);
        Assert.Equal(0, _poller.Wait(events, 0));
    }

    [Fact]
    public void AfterEagain_NewDataIsReportedAgain()
    {
        (Socket peer, Socket local) = ConnectedPair();
        int fd = (int)local.Handle;
        var buffer = new byte[64];
        int reads = 0;
        Assert.Equal(0, _reactor.Add(fd, IoEvents.None));
        _reactor.SetCallback(fd, IoEvents.Readable, () =>
        {
            while (local.Available > 0)
                reads += local.Receive(buffer) > 0 ? 1 : 0;
            _reactor.ClearReady(fd, IoEvents.Readable); // what a handler does on EAGAIN
        });

        peer.Send(new byte[] { 1 });
        Assert.Equal(0, _reactor.RunOnce(2000));
        Assert.Equal(1, reads);
        peer.Send(new byte[] { 2 });
        Assert.Equal(0, _reactor.RunOnce(2000));
        Assert.Equal(2, reads);
    }

    [Fact]
    public void DirectionNobodyWants_IsNotWatched()
    {
        Socket local = ConnectedPair().Local;
        int fd = (int)local.Handle;
        // Writable (a fresh socket always is) but no writable callback, and readable is not wanted either.
        Assert.Equal(0, _reactor.Add(fd, IoEvents.None));
        Span<PollEvent> events = new PollEvent[8];
        Assert.Equal(0, _poller.Wait(events, 0));

        _reactor.SetCallback(fd, IoEvents.Writable, () => { });
        Assert.Equal(1, _poller.Wait(events, 1000));
        Assert.Equal(IoEvents.Writable, events[0].Events);
    }

    [Fact]
    public void PeerReset_IsReportedAsBothDirectionsAndHangUp()
    {
        (Socket peer, Socket local) = ConnectedPair();
        int fd = (int)local.Handle;
        Assert.Equal(0, _reactor.Add(fd, IoEvents.None));
        _reactor.SetCallback(fd, IoEvents.Readable, () => { });
        peer.LingerState = new LingerOption(true, 0);
        peer.Close(); // RST

        Span<PollEvent> events = new PollEvent[8];
        Assert.Equal(1, _poller.Wait(events, 2000));
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, events[0].Events & (IoEvents.Both | IoEvents.HangUp));
    }

    [Fact]
    public void RemovedFd_IsDroppedFromTheSet_WithoutAnUnregisterCall()
    {
        Socket local = ConnectedPair().Local;
        int fd = (int)local.Handle;
        Assert.Equal(0, _reactor.Add(fd, IoEvents.None));
        _reactor.SetCallback(fd, IoEvents.Writable, () => { });
        Assert.Equal(1, _poller.RegisteredCount);
        _reactor.Remove(fd); // what a pair does before close(): epoll needs no call, and poll gets none

        Span<PollEvent> events = new PollEvent[8];
        Assert.Equal(0, _poller.Wait(events, 0));
        Assert.Equal(0, _poller.RegisteredCount);
    }

    [Fact]
    public void MoreReadyFdsThanTheBatchHolds_TheRestAreReportedByTheNextWait()
    {
        var sockets = new Socket[5];
        for (int i = 0; i < sockets.Length; i++)
        {
            Socket local = ConnectedPair().Local;
            sockets[i] = local;
            Assert.Equal(0, _reactor.Add((int)local.Handle, IoEvents.None));
            _reactor.SetCallback((int)local.Handle, IoEvents.Writable, () => { });
        }

        Span<PollEvent> events = new PollEvent[3];
        int first = _poller.Wait(events, 1000);
        Assert.Equal(3, first);
        // Mark what was reported as ready, as the reactor would.
        foreach (PollEvent e in events[..first])
            _reactor.SetCallback((int)(uint)e.Token, IoEvents.Writable, null);
        Assert.Equal(2, _poller.Wait(events, 1000));
    }

    /// <summary>
    /// A failed poll reports its own errno. Tmds.LibC binds poll without
    /// SetLastError, so through it the errno read after a failure was the one
    /// an earlier call saved: make dotnet-test-poll caught a drain test's loop
    /// ending "event loop failed: EAGAIN" when SIGTERM interrupted poll (EINTR).
    /// </summary>
    [Fact]
    public unsafe void FailedPoll_ReportsItsOwnErrno_NotAnEarlierCallsOne()
    {
        Socket local = ConnectedPair().Local;
        var buffer = new byte[16];
        fixed (byte* data = buffer)
            Assert.Equal(-Errno.EAGAIN, Sys.Receive((int)local.Handle, data, buffer.Length, null, 0)); // saves EAGAIN
        // More fds than RLIMIT_NOFILE: poll fails with EINVAL before looking at the array.
        PollFd entry = default;
        Assert.Equal(-Errno.EINVAL, Sys.Poll(&entry, -1, 0));
    }

    [Fact]
    public void Translate_ErrorsAndHangUpsMeanBothDirections_UrgentDataMeansReadable()
    {
        Assert.Equal(IoEvents.Readable, PollPoller.Translate(Sys.PollIn));
        Assert.Equal(IoEvents.Writable, PollPoller.Translate(Sys.PollOut));
        Assert.Equal(IoEvents.Readable | IoEvents.Urgent, PollPoller.Translate(Sys.PollPri));
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, PollPoller.Translate(Sys.PollHup));
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, PollPoller.Translate(Sys.PollErr));
        Assert.Equal(IoEvents.Both | IoEvents.HangUp, PollPoller.Translate(Sys.PollNval));
    }

    private (Socket Peer, Socket Local) ConnectedPair()
    {
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(_listener.LocalEndPoint!);
        Socket local = _listener.Accept();
        local.Blocking = false;
        _owned.Add(peer);
        _owned.Add(local);
        return (peer, local);
    }

    private readonly System.Collections.Generic.List<Socket> _owned = new();

    public void Dispose()
    {
        _reactor.Dispose();
        foreach (Socket socket in _owned)
            socket.Dispose();
        _listener.Dispose();
    }
}
