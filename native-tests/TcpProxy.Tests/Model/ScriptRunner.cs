using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.Model;

/// <summary>What running a script showed: each pair's logs, and whether the proxy let go of every pair.</summary>
public sealed record ScriptOutcome(PairLog[] Pairs, int BaselineFds, int FdsAfterPairsEnded, bool ProxyAlive, string ProxyLog);

/// <summary>
/// Runs a script through a fresh ./tcpproxy (small ring, short stall timeout) over loopback:
/// every pair at once, each with a thread for its script and a reader per end. The test's own
/// sockets have small kernel buffers, so that a stopped reader fills the path quickly.
/// </summary>
public static class ScriptRunner
{
    public const int ProxyBufferSize = 4096;
    const int TestSocketBuffer = 16 * 1024;
    const int Chunk = 64 * 1024;
    // Longest a single send may wait for progress: a long stall, then the abort, then slack.
    static readonly TimeSpan SendBound = TimeSpan.FromSeconds(ScriptGen.LongStallMaxMs / 1000.0 + ScriptGen.StallTimeoutSeconds + 6);
    static readonly TimeSpan EndBound = TimeSpan.FromSeconds(ScriptGen.LongStallMaxMs / 1000.0 + ScriptGen.StallTimeoutSeconds + 8);

    public static ScriptOutcome Run(ProxyScript script)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = TestSocketBuffer; // accepted sockets inherit these
        listener.SendBufferSize = TestSocketBuffer;
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(64);
        int port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        using var proxy = ProxyProcess.Start("127.0.0.1", port,
            "--buffer-size", ProxyBufferSize.ToString(CultureInfo.InvariantCulture),
            "--stall-timeout", ScriptGen.StallTimeoutSeconds.ToString(CultureInfo.InvariantCulture), "-v");
        int baseline = FdCount(proxy.Pid);

        var clock = Stopwatch.StartNew();
        var sockets = new (Socket Client, Socket Server)[script.Pairs.Length];
        try
        {
            for (int i = 0; i < script.Pairs.Length; i++)
                sockets[i] = OpenPair(listener, proxy.ListenPort);
            var logs = new PairLog[script.Pairs.Length];
            var running = new Task[script.Pairs.Length];
            for (int i = 0; i < script.Pairs.Length; i++)
            {
                int k = i;
                logs[k] = new PairLog(new PeerLog(Side.Client), new PeerLog(Side.Server));
                running[k] = Background.Run(() => RunPair(script.Pairs[k], k, sockets[k], logs[k], clock));
            }
            Background.Await(Task.WhenAll(running), EndBound + SendBound * 8 + TimeSpan.FromSeconds(10), "the script's pairs");

            // Every pair has ended at both ends: the proxy must have closed its descriptors
            // by itself, before the test closes a single socket.
            int fds = WaitForFds(proxy.Pid, baseline, TimeSpan.FromSeconds(5));
            return new ScriptOutcome(logs, baseline, fds, !proxy.HasExited, proxy.StderrText);
        }
        finally
        {
            foreach (var (client, server) in sockets)
            {
                client?.Dispose();
                server?.Dispose();
            }
        }
    }

    static (Socket, Socket) OpenPair(Socket listener, int proxyPort)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveBufferSize = TestSocketBuffer,
            SendBufferSize = TestSocketBuffer,
            NoDelay = true,
        };
        client.Connect(new IPEndPoint(IPAddress.Loopback, proxyPort));
        if (!listener.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead))
            throw new TimeoutException("the proxy did not connect to the server within 5 s");
        var server = listener.Accept();
        server.NoDelay = true;
        client.Blocking = false;
        server.Blocking = false;
        return (client, server);
    }

    static void RunPair(PairScript pair, int index, (Socket Client, Socket Server) sockets, PairLog log, Stopwatch clock)
    {
        var peers = new[] { (Log: log.Client, Socket: sockets.Client, SendSeed: Seed(index, Side.Client)),
                            (Log: log.Server, Socket: sockets.Server, SendSeed: Seed(index, Side.Server)) };
        var pausedUntil = new long[2];
        var readers = new Task[2];
        for (int p = 0; p < 2; p++)
        {
            int me = p;
            readers[me] = Background.Run(() => Read(peers[me].Socket, peers[me].Log, peers[1 - me].SendSeed, pausedUntil, me, clock));
        }

        foreach (var step in pair.Steps)
        {
            switch (step)
            {
                case Send send:
                {
                    var peer = peers[(int)send.Side];
                    if (peer.Log.CanSend)
                        Write(peer.Socket, peer.Log, peer.SendSeed, send.Bytes, clock);
                    break;
                }
                case Pause pause:
                    Thread.Sleep(pause.Milliseconds); // the script's own idle time, not a wait for anything
                    break;
                case HalfClose half:
                {
                    var peer = peers[(int)half.Side];
                    if (peer.Log.ResetAt is null && peer.Log.HalfClosedAt is null)
                        HalfCloseSocket(peer.Socket, peer.Log, clock);
                    break;
                }
                case Reset reset:
                {
                    var peer = peers[(int)reset.Side];
                    if (peer.Log.ResetAt is null)
                    {
                        peer.Log.ResetAt = Now(clock);
                        peer.Socket.LingerState = new LingerOption(true, 0);
                        peer.Socket.Close();
                    }
                    break;
                }
                case StopReading stop:
                    StopReader(peers[(int)stop.Side].Log, pausedUntil, (int)stop.Side, stop.Milliseconds, clock);
                    break;
                case StallUnderLoad load:
                {
                    StopReader(peers[(int)load.Side].Log, pausedUntil, (int)load.Side, load.Milliseconds, clock);
                    var sender = peers[1 - (int)load.Side];
                    if (sender.Log.CanSend)
                        Write(sender.Socket, sender.Log, sender.SendSeed, load.Bytes, clock);
                    break;
                }
            }
        }
        // The script is over: each side still able to half-closes, one after the other, and the
        // other side's reader must see that EOF before the second half-close: EOF is passed on
        // at once, not only when the whole pair ends.
        for (int p = 0; p < 2; p++)
        {
            if (peers[p].Log.ResetAt is not null || peers[p].Log.HalfClosedAt is not null)
                continue;
            HalfCloseSocket(peers[p].Socket, peers[p].Log, clock);
            if (!readers[1 - p].Wait(EndBound))
                peers[p].Log.EofNotPassedOn = true;
        }
        Background.Await(Task.WhenAll(readers), EndBound + TimeSpan.FromSeconds(2), "pair readers");
    }

    static void StopReader(PeerLog log, long[] pausedUntil, int side, int milliseconds, Stopwatch clock)
    {
        if (log.ResetAt is not null)
            return;
        lock (log) log.Stalls.Add((Now(clock), milliseconds));
        Volatile.Write(ref pausedUntil[side], clock.ElapsedTicks + (long)(milliseconds / 1000.0 * Stopwatch.Frequency));
    }

    static void HalfCloseSocket(Socket socket, PeerLog log, Stopwatch clock)
    {
        log.HalfClosedAt = Now(clock);
        try { socket.Shutdown(SocketShutdown.Send); }
        catch (SocketException e) { log.WriteError ??= e.SocketErrorCode.ToString(); }
    }

    static void Write(Socket socket, PeerLog log, long seed, int bytes, Stopwatch clock)
    {
        var buffer = new byte[Math.Min(bytes, Chunk)];
        long left = bytes;
        var lastProgress = Stopwatch.StartNew();
        while (left > 0)
        {
            int n = (int)Math.Min(left, buffer.Length);
            Pattern.Fill(seed, log.Sent, buffer.AsSpan(0, n));
            int sent = socket.Send(buffer, 0, n, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success && sent > 0)
            {
                Interlocked.Add(ref log.Sent, sent);
                left -= sent;
                if (lastProgress.Elapsed.TotalSeconds > log.LongestBlocked)
                {
                    log.LongestBlocked = lastProgress.Elapsed.TotalSeconds;
                    log.LongestBlockedEndedAt = Now(clock);
                }
                lastProgress.Restart();
                continue;
            }
            if (error is SocketError.WouldBlock or SocketError.Success or SocketError.Interrupted)
            {
                if (lastProgress.Elapsed > SendBound)
                {
                    log.SendStuck = true;
                    return;
                }
                socket.Poll(TimeSpan.FromMilliseconds(20), SelectMode.SelectWrite);
                continue;
            }
            log.WriteError = error.ToString();
            log.WriteErrorAt = Now(clock);
            return;
        }
    }

    static void Read(Socket socket, PeerLog log, long peerSeed, long[] pausedUntil, int me, Stopwatch clock)
    {
        var buffer = new byte[Chunk];
        var deadline = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                if (log.ResetAt is not null)
                {
                    Finish(log, ReadEnd.ClosedLocally, clock);
                    return;
                }
                if (deadline.Elapsed > EndBound + SendBound)
                {
                    Finish(log, ReadEnd.TimedOut, clock);
                    return;
                }
                long wait = Volatile.Read(ref pausedUntil[me]) - clock.ElapsedTicks;
                if (wait > 0)
                {
                    Thread.Sleep(Math.Min(5, (int)(wait * 1000 / Stopwatch.Frequency) + 1)); // the slow reader's pause itself
                    continue;
                }
                if (!socket.Poll(TimeSpan.FromMilliseconds(20), SelectMode.SelectRead))
                    continue;
                int n = socket.Receive(buffer, 0, buffer.Length, SocketFlags.None, out SocketError error);
                if (error == SocketError.Success && n == 0)
                {
                    Finish(log, ReadEnd.Eof, clock);
                    return;
                }
                if (error == SocketError.Success)
                {
                    int wrong = Pattern.FirstMismatch(peerSeed, log.Received, buffer.AsSpan(0, n));
                    if (wrong >= 0)
                    {
                        log.WrongByteAt = log.Received + wrong;
                        Finish(log, ReadEnd.WrongByte, clock);
                        return;
                    }
                    Interlocked.Add(ref log.Received, n);
                    continue;
                }
                if (error is SocketError.WouldBlock or SocketError.Interrupted)
                    continue;
                Finish(log, ReadEnd.Reset, clock); // ECONNRESET, or any other error that ends the stream
                return;
            }
        }
        catch (ObjectDisposedException)
        {
            Finish(log, ReadEnd.ClosedLocally, clock);
        }
    }

    static void Finish(PeerLog log, ReadEnd end, Stopwatch clock)
    {
        log.EndedAt = Now(clock);
        log.End = end;
    }

    static long Seed(int pair, Side side) => pair * 2 + (side == Side.Client ? 1 : 2);

    static double Now(Stopwatch clock) => clock.Elapsed.TotalSeconds;

    // Pipes are left out: in splice mode the proxy keeps up to 64 empty pipes
    // pooled after their pairs closed, by design (PipePoolTests and
    // SpliceTests pin the pool down). Sockets must all be closed.
    static int FdCount(int pid)
    {
        int count = 0;
        foreach (string entry in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            string? target = null;
            try { target = File.ResolveLinkTarget(entry, returnFinalTarget: false)?.LinkTarget; }
            catch (IOException) { } // closed between listing and reading: not open
            if (target != null && !target.StartsWith("pipe:", StringComparison.Ordinal))
                count++;
        }
        return count;
    }

    static int WaitForFds(int pid, int want, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int n;
            try { n = FdCount(pid); }
            catch (DirectoryNotFoundException) { return -1; } // the proxy is gone
            if (n <= want || clock.Elapsed > limit)
                return n;
            Thread.Sleep(20); // /proc offers no event for "a descriptor closed"
        }
    }
}
