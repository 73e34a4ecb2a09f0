using System;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using TcpProxy.Interop;
using TcpProxy.Proxy;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// The pool of kernel pipes splice mode borrows, with real pipes: a pipe lent
/// out is empty and non-blocking, an empty one comes back for the next taker,
/// one that may hold bytes is closed, and no more than the bound wait idle.
/// Whether the pool closed a pipe is seen through a duplicate of its read end
/// the test keeps: once every write end is closed, a read there says EOF
/// (0), while a pipe still open in the pool says EAGAIN — independent of fd
/// numbers, which other tests running in parallel may reuse at once.
/// </summary>
public sealed unsafe partial class PipePoolTests
{
    private const int EAGAIN = 11;

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [Theory]
    [InlineData(1, 64 * 1024)]
    [InlineData(8192, 64 * 1024)]
    [InlineData(32 * 1024, 64 * 1024)]
    [InlineData(32 * 1024 + 1, 128 * 1024)]
    [InlineData(64 * 1024, 128 * 1024)]
    [InlineData(300 * 1024, 1024 * 1024)]
    [InlineData(64 * 1024 * 1024, 1024 * 1024)]
    public void PipeSize_IsAtLeastTwiceTheBuffer_InPowersOfTwo_NeverBelowTheDefault_CappedAt1MiB(int bufferSize, int expected)
    {
        Assert.Equal(expected, PipePool.SizeFor(bufferSize));
    }

    [LinuxFact("pipe2, splice")]
    public void Take_GivesAnEmptyNonBlockingPipe_OfTheRequestedSize()
    {
        using var pool = new PipePool(bufferSize: 64 * 1024);
        Assert.True(pool.TryTake(out Pipe pipe, out int errno), "errno " + errno);
        try
        {
            Assert.Equal(0, Sys.ReadableBytes(pipe.ReadFd));
            // Root may always resize; otherwise a refusal is counted and the default kept.
            int size = Sys.GetPipeSize(pipe.WriteFd);
            Assert.True(size >= pool.RequestedSize || pool.ResizeFailures == 1, $"pipe of {size} B, asked {pool.RequestedSize}");
            byte* buffer = stackalloc byte[16];
            Assert.Equal(-1, (long)Read(pipe.ReadFd, buffer, 16));
            Assert.Equal(EAGAIN, Marshal.GetLastPInvokeError());
            Assert.Equal(1, pool.InUse);
            Assert.Equal(1, pool.Created);
        }
        finally
        {
            pool.Return(pipe, 0);
        }
    }

    [LinuxFact("pipe2")]
    public void EmptyPipeReturned_IsLentAgain_NotCreatedAnew()
    {
        using var pool = new PipePool(bufferSize: 8192);
        Assert.True(pool.TryTake(out Pipe first, out _));
        pool.Return(first, 0);
        Assert.Equal(0, pool.InUse);
        Assert.Equal(1, pool.Idle);

        Assert.True(pool.TryTake(out Pipe second, out _));
        Assert.Equal(first.ReadFd, second.ReadFd);
        Assert.Equal(first.WriteFd, second.WriteFd);
        Assert.Equal(1, pool.Created);
        Assert.Equal(0, pool.Idle);
        pool.Return(second, 0);
    }

    [LinuxFact("pipe2")]
    public void PipeReturnedHoldingBytes_IsClosed_AndTheNextTakerGetsAnEmptyOne()
    {
        using var pool = new PipePool(bufferSize: 8192);
        Assert.True(pool.TryTake(out Pipe pipe, out _));
        byte* data = stackalloc byte[] { 1, 2, 3, 4, 5 };
        Assert.Equal(5, Sys.Write(pipe.WriteFd, data, 5));
        int watch = Dup(pipe.ReadFd);
        Assert.True(watch >= 0);
        try
        {
            // An aborted pair returns its pipe with bytes still in it.
            pool.Return(pipe, bytesInPipe: 5);
            Assert.Equal(1, pool.ClosedNotEmpty);
            Assert.Equal(0, pool.Idle);
            byte* buffer = stackalloc byte[16];
            Assert.Equal(5, (long)Read(watch, buffer, 16));
            Assert.Equal(0, (long)Read(watch, buffer, 16)); // EOF: the pool closed the write end

            Assert.True(pool.TryTake(out Pipe next, out _));
            Assert.Equal(0, Sys.ReadableBytes(next.ReadFd));
            Assert.Equal(2, pool.Created);
            pool.Return(next, 0);
        }
        finally
        {
            Close(watch);
        }
    }

    [LinuxFact("pipe2")]
    public void PipesBeyondTheIdleBound_AreClosed_AndDisposeClosesTheRest()
    {
        var pool = new PipePool(bufferSize: 8192, maxIdle: 2);
        var pipes = new Pipe[3];
        var watches = new int[3];
        try
        {
            for (int i = 0; i < pipes.Length; i++)
            {
                Assert.True(pool.TryTake(out pipes[i], out _));
                watches[i] = Dup(pipes[i].ReadFd);
            }
            for (int i = 0; i < pipes.Length; i++)
                pool.Return(pipes[i], 0);

            Assert.Equal(2, pool.Idle);
            Assert.Equal(0, pool.InUse);
            Assert.Equal(-EAGAIN, ReadOnce(watches[0]));
            Assert.Equal(-EAGAIN, ReadOnce(watches[1]));
            Assert.Equal(0, ReadOnce(watches[2]));

            pool.Dispose();
            Assert.Equal(0, pool.Idle);
            Assert.Equal(0, ReadOnce(watches[0]));
            Assert.Equal(0, ReadOnce(watches[1]));
        }
        finally
        {
            pool.Dispose();
            foreach (int watch in watches)
                Close(watch);
        }
    }

    /// <summary>
    /// The interop the pool exists for: socket to pipe to socket, the bytes
    /// intact; EAGAIN from an empty socket; 0 at its EOF.
    /// </summary>
    [LinuxFact("splice")]
    public void Splice_MovesBytesSocketToPipeToSocket_EagainWhenEmpty_ZeroAtEof()
    {
        using var pool = new PipePool(bufferSize: 8192);
        (Socket sender, Socket source) = ConnectedPair();
        (Socket receiver, Socket sink) = ConnectedPair();
        using (sender)
        using (source)
        using (sink)
        using (receiver)
        {
            Assert.True(pool.TryTake(out Pipe pipe, out _));
            var message = new byte[5000];
            new Random(9).NextBytes(message);
            SocketIo.SendAll(sender, message);

            long inPipe = 0;
            while (inPipe < message.Length)
            {
                // Readiness, not sleeps: wait until the socket has bytes, then splice them.
                Assert.True(source.Poll(TimeSpan.FromSeconds(10), SelectMode.SelectRead), "no data within 10 s");
                long n = Sys.Splice((int)source.Handle, pipe.WriteFd, 8192, more: false);
                Assert.True(n > 0, "splice in: " + n);
                inPipe += n;
            }
            Assert.Equal(message.Length, Sys.ReadableBytes(pipe.ReadFd));
            Assert.Equal(-EAGAIN, Sys.Splice((int)source.Handle, pipe.WriteFd, 8192, more: false));

            while (inPipe > 0)
            {
                long n = Sys.Splice(pipe.ReadFd, (int)sink.Handle, (int)inPipe, more: false);
                Assert.True(n > 0, "splice out: " + n);
                inPipe -= n;
            }
            Assert.Equal(message, SocketIo.ReceiveExactly(receiver, message.Length));

            sender.Shutdown(SocketShutdown.Send);
            Assert.True(source.Poll(TimeSpan.FromSeconds(10), SelectMode.SelectRead), "no EOF within 10 s");
            Assert.Equal(0, Sys.Splice((int)source.Handle, pipe.WriteFd, 8192, more: false));
            pool.Return(pipe, inPipe);
            Assert.Equal(1, pool.Idle);
        }
    }

    private static long ReadOnce(int fd)
    {
        byte buffer;
        long n = Read(fd, &buffer, 1);
        return n >= 0 ? n : -Marshal.GetLastPInvokeError();
    }

    private static (Socket Peer, Socket Local) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(listener.LocalEndPoint!);
        Socket local = listener.Accept();
        local.Blocking = false;
        return (peer, local);
    }
}
