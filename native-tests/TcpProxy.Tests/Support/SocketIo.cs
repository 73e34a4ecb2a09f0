using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace TcpProxy.Tests.Support;

/// <summary>How a peer's close was observed.</summary>
public enum CloseKind { Eof, Reset, TimedOut }

public readonly record struct CloseObservation(CloseKind Kind, TimeSpan Elapsed, long DiscardedBytes);

/// <summary>Result of writing into a socket until the path behind it stopped taking data.</summary>
public readonly record struct FillResult(long BytesSent, long LastSendTimestamp)
{
    public TimeSpan SinceLastSend => Stopwatch.GetElapsedTime(LastSendTimestamp);
}

/// <summary>Blocking socket helpers where every wait has a bound.</summary>
public static class SocketIo
{
    public static readonly TimeSpan DefaultIoTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Gives a socket bounded blocking calls and no Nagle delay.</summary>
    public static Socket Configure(Socket socket, TimeSpan? ioTimeout = null)
    {
        int ms = (int)(ioTimeout ?? DefaultIoTimeout).TotalMilliseconds;
        socket.ReceiveTimeout = ms;
        socket.SendTimeout = ms;
        socket.NoDelay = true;
        return socket;
    }

    public static Socket Connect(IPAddress address, int port, TimeSpan? limit = null)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var cancel = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(5));
            socket.ConnectAsync(new IPEndPoint(address, port), cancel.Token).AsTask().GetAwaiter().GetResult();
            return Configure(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            int sent = socket.Send(data);
            data = data[sent..];
        }
    }

    /// <summary>Reads exactly count bytes; fails on EOF or when the whole read takes longer than the limit.</summary>
    public static byte[] ReceiveExactly(Socket socket, int count, TimeSpan? limit = null)
    {
        var deadline = Stopwatch.StartNew();
        var total = limit ?? DefaultIoTimeout;
        var data = new byte[count];
        int have = 0;
        while (have < count)
        {
            if (deadline.Elapsed > total)
                throw new TimeoutException($"received {have} of {count} bytes within {total.TotalSeconds:0.#} s");
            int n = socket.Receive(data, have, count - have, SocketFlags.None);
            if (n == 0) throw new EndOfStreamException($"EOF after {have} of {count} bytes");
            have += n;
        }
        return data;
    }

    /// <summary>
    /// Waits until the peer closes (EOF or reset), discarding any data that still arrives.
    /// Never blocks longer than the limit.
    /// </summary>
    public static CloseObservation WaitForClose(Socket socket, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var scratch = new byte[64 * 1024];
        long discarded = 0;
        while (true)
        {
            var remaining = limit - clock.Elapsed;
            if (remaining <= TimeSpan.Zero) return new CloseObservation(CloseKind.TimedOut, clock.Elapsed, discarded);
            if (!socket.Poll(remaining, SelectMode.SelectRead)) continue;
            int n = socket.Receive(scratch, 0, scratch.Length, SocketFlags.None, out SocketError error);
            switch (error)
            {
                case SocketError.Success when n == 0:
                    return new CloseObservation(CloseKind.Eof, clock.Elapsed, discarded);
                case SocketError.Success:
                    discarded += n;
                    break;
                case SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown:
                    return new CloseObservation(CloseKind.Reset, clock.Elapsed, discarded);
                case SocketError.WouldBlock or SocketError.TimedOut or SocketError.Interrupted:
                    break;
                default:
                    throw new SocketException((int)error);
            }
        }
    }

    /// <summary>Asserts that the peer's orderly EOF (not a reset, not silence) arrives within the limit.</summary>
    public static void AssertEof(Socket socket, TimeSpan limit, string what)
    {
        var observed = WaitForClose(socket, limit);
        Assert.True(observed.Kind == CloseKind.Eof && observed.DiscardedBytes == 0,
            $"{what}: expected EOF within {limit.TotalSeconds:0.#} s, observed {observed.Kind} after " +
            $"{observed.Elapsed.TotalSeconds:0.00} s ({observed.DiscardedBytes} unexpected bytes)");
    }

    /// <summary>
    /// Writes as much as the socket takes (non-blocking) until it has not become writable for
    /// <paramref name="quiet"/>: the kernel buffers and the proxy's buffer are then full.
    /// Leaves the socket non-blocking.
    /// </summary>
    public static FillResult FillUntilBlocked(Socket socket, TimeSpan quiet, long maxBytes = 512L << 20)
    {
        var limit = TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        var chunk = new byte[64 * 1024];
        new Random(7).NextBytes(chunk);
        socket.Blocking = false;
        long sent = 0;
        long lastSend = Stopwatch.GetTimestamp();
        while (sent < maxBytes)
        {
            if (clock.Elapsed > limit)
                throw new TimeoutException($"socket still took data after {sent} bytes and {limit.TotalSeconds} s");
            int n = socket.Send(chunk, 0, chunk.Length, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                sent += n;
                lastSend = Stopwatch.GetTimestamp();
            }
            else if (error == SocketError.WouldBlock)
            {
                if (!socket.Poll(quiet, SelectMode.SelectWrite)) return new FillResult(sent, lastSend);
            }
            else
            {
                throw new SocketException((int)error);
            }
        }
        throw new InvalidOperationException($"socket took {sent} bytes without blocking; is anything applying back-pressure?");
    }

    /// <summary>
    /// Keeps offering data to a non-blocking socket whenever it turns writable, until stopped
    /// (a client that "writes as much as it can"). Returns the bytes it managed to add.
    /// </summary>
    public static long KeepWriting(Socket socket, CancellationToken stop)
    {
        var chunk = new byte[64 * 1024];
        socket.Blocking = false;
        long sent = 0;
        var cap = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested && cap.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (!socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectWrite)) continue;
            int n = socket.Send(chunk, 0, chunk.Length, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success) sent += n;
            else if (error != SocketError.WouldBlock) return sent; // the proxy dropped it: nothing more to offer
        }
        return sent;
    }
}
