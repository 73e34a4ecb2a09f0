using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace TcpProxy.Tests.Support;

/// <summary>
/// Traffic through a proxy in front of an echo server, kept up until stopped:
/// a new short connection every millisecond, ping-pong clients on long-lived
/// connections, and multi-megabyte transfers echoed back, one after another.
/// Every reply is checked byte for byte; every refusal, reset or mismatch is
/// counted and described. What a binary upgrade must carry without a loss.
/// </summary>
public sealed class ContinuousLoad : IDisposable
{
    static readonly TimeSpan JoinLimit = TimeSpan.FromSeconds(30);

    readonly int port;
    readonly int bulkBytes;
    readonly List<Thread> threads = new();
    readonly object progress = new();
    volatile bool stopping;

    long connections, pingPongRounds, bulkTransfers, refused, resets, mismatches, otherErrors;

    public ContinuousLoad(int proxyPort, int pingPongClients = 4, int bulkClients = 3, int bulkBytes = 4 << 20)
    {
        port = proxyPort;
        this.bulkBytes = bulkBytes;
        Start("load-connect", ShortConnections);
        for (int i = 0; i < pingPongClients; i++)
        {
            int client = i;
            Start("load-pingpong", () => PingPong(client));
        }
        for (int i = 0; i < bulkClients; i++)
        {
            int seed = 1000 * (i + 1);
            Start("load-bulk", () => Bulk(seed));
        }
    }

    public long Connections => Interlocked.Read(ref connections);
    public long PingPongRounds => Interlocked.Read(ref pingPongRounds);
    public long BulkTransfers => Interlocked.Read(ref bulkTransfers);
    public long Refused => Interlocked.Read(ref refused);
    public long Resets => Interlocked.Read(ref resets);
    public long Mismatches => Interlocked.Read(ref mismatches);
    public long OtherErrors => Interlocked.Read(ref otherErrors);

    /// <summary>What went wrong, one line each (empty when nothing did).</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    public string Summary =>
        $"{Connections} short connections, {PingPongRounds} ping-pong rounds, {BulkTransfers} transfers of {bulkBytes} B each way; " +
        $"{Refused} refused, {Resets} reset, {Mismatches} mismatched, {OtherErrors} other errors" +
        (Failures.IsEmpty ? "" : ": " + string.Join(" | ", Failures));

    /// <summary>Waits (on progress, not on a clock) until the condition holds; false at the limit.</summary>
    public bool WaitUntil(Func<ContinuousLoad, bool> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        lock (progress)
        {
            while (!condition(this))
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return false;
                Monitor.Wait(progress, left);
            }
        }
        return true;
    }

    /// <summary>Ends every client after its current exchange (each closes cleanly) and waits for them.</summary>
    public void Stop()
    {
        stopping = true;
        foreach (var thread in threads)
        {
            if (!thread.Join(JoinLimit))
                Failures.Enqueue($"{thread.Name} did not finish within {JoinLimit.TotalSeconds} s");
        }
    }

    void Start(string name, Action body)
    {
        var thread = new Thread(() => Guarded(body)) { IsBackground = true, Name = name };
        threads.Add(thread);
        thread.Start();
    }

    void ShortConnections()
    {
        for (long n = 0; !stopping; n++)
        {
            Exchange("short connection", () =>
            {
                using var socket = SocketIo.Connect(IPAddress.Loopback, port);
                byte[] message = Message(n, 32);
                SocketIo.SendAll(socket, message);
                Expect("short connection", message, SocketIo.ReceiveExactly(socket, message.Length));
                socket.Shutdown(SocketShutdown.Send);
                if (socket.Receive(new byte[1]) != 0) Fail(ref mismatches, "short connection: bytes after the echo");
                Counted(ref connections);
            });
            Thread.Sleep(1);
        }
    }

    void PingPong(int client)
    {
        Exchange("ping-pong", () =>
        {
            using var socket = SocketIo.Connect(IPAddress.Loopback, port);
            for (long round = 0; !stopping; round++)
            {
                byte[] message = Message(client * 1_000_000L + round, 16);
                SocketIo.SendAll(socket, message);
                Expect("ping-pong", message, SocketIo.ReceiveExactly(socket, message.Length));
                Counted(ref pingPongRounds);
            }
            socket.Shutdown(SocketShutdown.Send);
            if (socket.Receive(new byte[1]) != 0) Fail(ref mismatches, "ping-pong: bytes after the last round");
        });
    }

    void Bulk(int seed)
    {
        for (int transfer = 0; !stopping; transfer++)
        {
            int thisSeed = seed + transfer;
            Exchange("bulk transfer", () =>
            {
                using var socket = SocketIo.Connect(IPAddress.Loopback, port);
                Digest sent = default;
                var sender = new Thread(() => Guarded(() => Exchange("bulk send", () =>
                {
                    sent = BulkData.Send(socket, bulkBytes, thisSeed);
                    socket.Shutdown(SocketShutdown.Send);
                }))) { IsBackground = true, Name = "load-bulk-send" };
                sender.Start();
                Digest received = BulkData.Receive(socket, long.MaxValue);
                if (!sender.Join(JoinLimit)) Fail(ref otherErrors, "bulk transfer: the sender did not finish");
                if (received != sent) Fail(ref mismatches, $"bulk transfer: sent {sent}, echoed {received}");
                else Counted(ref bulkTransfers);
            });
        }
    }

    // One exchange; a socket error is classified, counted and described, and the client goes on.
    void Exchange(string what, Action exchange)
    {
        try { exchange(); }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused) { Fail(ref refused, $"{what}: refused"); }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset) { Fail(ref resets, $"{what}: reset"); }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException or OperationCanceledException)
        {
            Fail(ref otherErrors, $"{what}: {e.GetType().Name}: {e.Message}");
        }
    }

    void Guarded(Action body)
    {
        try { body(); }
        catch (Exception e) { Fail(ref otherErrors, $"{Thread.CurrentThread.Name}: {e.GetType().Name}: {e.Message}"); }
    }

    void Expect(string what, byte[] sent, byte[] echoed)
    {
        if (!sent.AsSpan().SequenceEqual(echoed)) Fail(ref mismatches, $"{what}: the echo differs from what was sent");
    }

    void Counted(ref long counter)
    {
        Interlocked.Increment(ref counter);
        lock (progress) Monitor.PulseAll(progress);
    }

    void Fail(ref long counter, string description)
    {
        Interlocked.Increment(ref counter);
        // Bounded: the first few describe the trouble well enough.
        if (Failures.Count < 20) Failures.Enqueue(description);
        lock (progress) Monitor.PulseAll(progress);
    }

    static byte[] Message(long number, int length)
    {
        var message = new byte[length];
        var random = new Random(unchecked((int)number) ^ 0x5eed);
        random.NextBytes(message);
        BitConverter.TryWriteBytes(message, number);
        return message;
    }

    public void Dispose()
    {
        if (!stopping) Stop();
    }
}
