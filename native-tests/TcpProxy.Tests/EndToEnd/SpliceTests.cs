using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// What splice mode must keep and what it must not cost: the high-water mark
/// byte for byte, EOF and half-close passed on after the pipe drains, no pipe
/// held by an idle pair, and --splice auto switching a bulk stream to splice
/// but never a ping-pong. Each test names its --splice mode itself.
/// </summary>
public sealed class SpliceTests : EndToEndTest
{
    const int BufferSize = 8192;
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public SpliceTests(ITestOutputHelper output) : base(output) { }

    (ProxyProcess Proxy, int MetricsPort) StartWithMetrics(LoopbackServer server, params string[] options)
    {
        int metricsPort = FreePort.Pick();
        var proxy = StartProxy(server, ["--metrics", "127.0.0.1:" + metricsPort.ToString(CultureInfo.InvariantCulture), .. options]);
        return (proxy, metricsPort);
    }

    /// <summary>
    /// Client and server both write and never read. What the proxy holds per
    /// direction is what was sent minus what every socket queue on the way
    /// holds, read from the kernel's own table (/proc/net/tcp: tx_queue and
    /// rx_queue of the client's socket, both of the proxy's, the server's) —
    /// not from the proxy's count. It must be the buffer size exactly: a
    /// direction that spliced as much as the pipe takes (64 KiB) holds more,
    /// one that stopped early less.
    /// </summary>
    [LinuxTheory("/proc/net/tcp, splice(2)")]
    [InlineData("on")]
    [InlineData("off")]
    public void NeitherSideReading_TheProxyHoldsExactlyTheBufferSizePerDirection(string splice)
    {
        var server = StartServer();
        var (proxy, metricsPort) = StartWithMetrics(server, "--splice", splice, "--buffer-size", BufferSize.ToString(CultureInfo.InvariantCulture),
            "--stall-timeout", "120");
        var (client, serverSide) = ConnectPair(proxy, server);
        Own(serverSide);

        var up = Background.Run(() => SocketIo.FillUntilBlocked(client, TimeSpan.FromMilliseconds(500)));
        var down = Background.Run(() => SocketIo.FillUntilBlocked(serverSide, TimeSpan.FromMilliseconds(500)));
        long upSent = Background.Await(up, TimeSpan.FromSeconds(40), "client filling").BytesSent;
        long downSent = Background.Await(down, TimeSpan.FromSeconds(40), "server filling").BytesSent;

        int clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
        int proxyOutPort = ((IPEndPoint)serverSide.RemoteEndPoint!).Port;
        (long Up, long Down) held = (-1, -1);
        var clock = Stopwatch.StartNew();
        // The queues settle within moments of the last write; sample until two readings agree.
        (long, long) previous = (-2, -2);
        while (clock.Elapsed < Wait)
        {
            var q = TcpQueues.Read();
            var c = q[(clientPort, proxy.ListenPort)];
            var pIn = q[(proxy.ListenPort, clientPort)];
            var pOut = q[(proxyOutPort, server.Port)];
            var s = q[(server.Port, proxyOutPort)];
            held = (upSent - c.Tx - pIn.Rx - pOut.Tx - s.Rx, downSent - s.Tx - pOut.Rx - pIn.Tx - c.Rx);
            if (held == previous && held == (BufferSize, BufferSize))
                break;
            previous = held;
            System.Threading.Thread.Sleep(50); // kernel queues offer no event to await
        }
        Output.WriteLine($"--splice {splice}: sent up {upSent}, down {downSent}; held by the proxy up {held.Up}, down {held.Down}");
        Assert.Equal((BufferSize, BufferSize), held);
        var scrape = HttpScrape.Get(metricsPort);
        Assert.Equal(2 * BufferSize, scrape.Sample("tcpproxy_buffered_bytes"));
        Assert.Equal(splice == "on" ? 2 : 0, scrape.Sample("tcpproxy_pipes", "state=\"in_use\""));
        AssertProxyAlive(proxy);
    }

    /// <summary>
    /// A pipe's capacity is page slots, and a splice from a TCP socket fills a
    /// slot per fragment however small: 64 KiB of pipe may take only 16 small
    /// fragments. A client that writes small segments to a server that never
    /// reads must still find exactly the buffer size held by the proxy — the
    /// rest copied into the ring behind the pipe's bytes — not a few hundred
    /// bytes (which the pipe alone held before that fallback), and every byte
    /// must come out in order once the server reads.
    /// </summary>
    /// <remarks>
    /// The client sends until the whole path is full, so what the path takes
    /// must stay small whatever the machine's speed. On the host's loopback
    /// (MTU 64 KiB) it does not: the kernel starts the proxy's outgoing socket
    /// with a send buffer of 2 × initial cwnd × per-MSS memory (about 4 MiB,
    /// tcp_wmem's maximum), which took megabytes of 40-byte sends — more than a
    /// loaded CPU sends in 20 s, and the pipe never filled. So everything runs
    /// in a network namespace of the test's own with loopback's MTU at 1500 and
    /// tcp_wmem/tcp_rmem (per namespace) capped at 32 KiB: the path fills with
    /// about 120 KB. The proxy does not set its sockets' buffer sizes.
    /// </remarks>
    [LinuxFact("/proc/PID/net/tcp, splice(2), network namespaces")]
    public void SmallSegments_FillingThePipesSlots_StillHoldTheBufferSize_InOrder()
    {
        var ns = Own(NetworkNamespace.Create());
        ns.Exec("ip", "link", "set", "lo", "mtu", "1500");
        ns.Exec("sysctl", "-qw", "net.ipv4.tcp_wmem=4096 16384 32768");
        ns.Exec("sysctl", "-qw", "net.ipv4.tcp_rmem=4096 32768 32768");
        var server = Own(ns.Inside(() => LoopbackServer.Listening()));
        const int MetricsPort = 9090; // the namespace is empty: any port is free there
        var proxy = StartProxyIn(ns, server.Host, server.Port, "--metrics", "127.0.0.1:" + MetricsPort.ToString(CultureInfo.InvariantCulture),
            "--splice", "on", "--buffer-size", BufferSize.ToString(CultureInfo.InvariantCulture), "--stall-timeout", "120");
        var client = Own(ns.Inside(() => SocketIo.Connect(IPAddress.Loopback, proxy.ListenPort)));
        var serverSide = Own(server.Accept());
        client.NoDelay = true;
        client.Blocking = false;
        // The namespace's own TCP table: /proc/net/tcp as a process inside sees it.
        string proxyProc = "/proc/" + proxy.Pid.ToString(CultureInfo.InvariantCulture);
        int clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
        int proxyOutPort = ((IPEndPoint)serverSide.RemoteEndPoint!).Port;
        string Queues()
        {
            var q = TcpQueues.Read(proxyProc);
            return $"client tx {q[(clientPort, proxy.ListenPort)].Tx}, proxy-in rx {q[(proxy.ListenPort, clientPort)].Rx}, " +
                $"proxy-out tx {q[(proxyOutPort, server.Port)].Tx}, server rx {q[(server.Port, proxyOutPort)].Rx}";
        }

        // Small numbered segments, one send each, until the whole path is full: the client's
        // socket refuses bytes and still does 500 ms after the last one it took. (Only a refused
        // send ends the loop: a pause of the test's own thread under load is not a full path.)
        const int Segment = 40;
        var segment = new byte[Segment];
        long sent = 0;
        bool full = false;
        var quiet = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Wait)
        {
            for (int i = 0; i < Segment; i++)
                segment[i] = (byte)((sent + i) % 251);
            int n = client.Send(segment, 0, Segment, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                if (quiet.ElapsedMilliseconds >= 500)
                {
                    full = true;
                    break;
                }
                System.Threading.Thread.Sleep(1); // a full socket offers no event here without a poll loop
                continue;
            }
            Assert.Equal(SocketError.Success, error);
            if (n < Segment)
            {
                // Keep the stream exact: the rest of this segment goes next round.
                sent += n;
                continue;
            }
            sent += n;
            quiet.Restart();
            System.Threading.Thread.SpinWait(2000); // separate segments, not one coalesced write
        }
        TimeSpan sending = clock.Elapsed;
        if (!full)
            Assert.Fail($"the path still took bytes after {sending.TotalSeconds:0.0} s ({sent} B sent; {Queues()})");

        long held = -1;
        var settle = Stopwatch.StartNew();
        while (settle.Elapsed < Wait)
        {
            var q = TcpQueues.Read(proxyProc);
            held = sent - q[(clientPort, proxy.ListenPort)].Tx - q[(proxy.ListenPort, clientPort)].Rx
                - q[(proxyOutPort, server.Port)].Tx - q[(server.Port, proxyOutPort)].Rx;
            if (held == BufferSize)
                break;
            System.Threading.Thread.Sleep(50); // kernel queues offer no event to await
        }
        Output.WriteLine($"sent {sent} B in {Segment}-byte segments in {sending.TotalSeconds:0.0} s; held by the proxy {held}; {Queues()}");
        Assert.Equal(BufferSize, held);
        Assert.Equal(BufferSize, ns.Inside(() => HttpScrape.Get(MetricsPort)).Sample("tcpproxy_buffered_bytes"));

        // The server reads everything: the stream is whole and in order.
        client.Blocking = true;
        client.Shutdown(SocketShutdown.Send);
        serverSide.ReceiveTimeout = (int)Wait.TotalMilliseconds;
        var buffer = new byte[64 * 1024];
        long received = 0;
        int got;
        while ((got = serverSide.Receive(buffer)) > 0)
        {
            for (int i = 0; i < got; i++)
                Assert.Equal((byte)((received + i) % 251), buffer[i]);
            received += got;
        }
        Assert.Equal(sent, received);
        AssertProxyAlive(proxy);
    }

    /// <summary>
    /// 200 pairs that each moved bytes both ways through a pipe, then went
    /// idle: every descriptor beyond two a pair is an idle pipe in the pool
    /// (counted by the pool itself), none is held by a pair.
    /// </summary>
    [LinuxFact("/proc/PID/fd, splice(2)")]
    public void IdlePairs_HoldNoPipe_OnlyTheirTwoSockets()
    {
        const int Pairs = 200;
        var server = StartEchoServer();
        var (proxy, metricsPort) = StartWithMetrics(server, "--splice", "on");
        var (socketsBefore, pipesBefore) = DescriptorKinds(proxy.Pid);
        var clients = new Socket[Pairs];
        for (int i = 0; i < Pairs; i++)
        {
            clients[i] = Connect(proxy);
            var message = new byte[] { (byte)i, 1, 2, 3 };
            SocketIo.SendAll(clients[i], message);
            Assert.Equal(message, SocketIo.ReceiveExactly(clients[i], message.Length));
        }
        // Counted before the scrape: the metrics connection is a socket of the proxy's too.
        var (sockets, pipes) = DescriptorKinds(proxy.Pid);
        var scrape = HttpScrape.Get(metricsPort);
        double inUse = scrape.Sample("tcpproxy_pipes", "state=\"in_use\"");
        double idle = scrape.Sample("tcpproxy_pipes", "state=\"idle\"");
        Output.WriteLine($"{Pairs} idle pairs: {sockets} sockets ({socketsBefore} before), {pipes} pipe fds ({pipesBefore} before), pipes in use {inUse}, idle {idle}");
        Assert.Equal(Pairs, scrape.Sample("tcpproxy_connections_active"));
        Assert.Equal(0, inUse);
        // Each pair holds its two sockets and nothing else; the only pipes are the
        // pool's idle ones (closed a second or two after their last use), never 2 a pair.
        Assert.Equal(socketsBefore + 2 * Pairs, sockets);
        Assert.InRange(pipes - pipesBefore, 0, 2 * 64);
    }

    /// <summary>
    /// Through splice, both ways, then a half-close each way: every byte
    /// arrives in order, the EOF reaches each side only after its bytes, and
    /// the side still open keeps forwarding after the other half closed.
    /// </summary>
    [LinuxFact("splice(2)")]
    public void BulkThenHalfClose_EachWay_EveryByteThenEof()
    {
        const long Bytes = 8L << 20;
        var server = StartServer();
        var (proxy, metricsPort) = StartWithMetrics(server, "--splice", "on");
        var (client, serverSide) = ConnectPair(proxy, server);
        Own(serverSide);

        var sent = Background.Run(() => BulkData.Send(client, Bytes, seed: 11));
        var received = Background.Run(() => BulkData.Receive(serverSide, Bytes));
        Assert.Equal(Background.Await(sent, Wait, "client sending"), Background.Await(received, Wait, "server receiving"));
        client.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(serverSide, Wait, "server after the client's half-close");

        // The other way is still open: bulk back, then the server's half-close.
        var back = Background.Run(() => BulkData.Send(serverSide, Bytes, seed: 12));
        var backReceived = Background.Run(() => BulkData.Receive(client, Bytes));
        Assert.Equal(Background.Await(back, Wait, "server sending"), Background.Await(backReceived, Wait, "client receiving"));
        serverSide.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, Wait, "client after the server's half-close");

        var scrape = HttpScrape.Get(metricsPort);
        Assert.Equal(Bytes, scrape.Sample("tcpproxy_bytes_total", "direction=\"up\""));
        Assert.Equal(Bytes, scrape.Sample("tcpproxy_bytes_total", "direction=\"down\""));
        Assert.Equal(0, scrape.Sample("tcpproxy_pipes", "state=\"in_use\""));
        AssertProxyAlive(proxy);
    }

    /// <summary>--splice auto: a bulk stream switches its direction to splice, every byte intact.</summary>
    [LinuxFact("splice(2)")]
    public void Auto_BulkStream_SwitchesToSplice()
    {
        const long Bytes = 16L << 20;
        var server = StartServer();
        var (proxy, metricsPort) = StartWithMetrics(server, "--splice", "auto");
        var (client, serverSide) = ConnectPair(proxy, server);
        Own(serverSide);

        var sent = Background.Run(() => BulkData.Send(client, Bytes, seed: 21));
        var received = Background.Run(() => BulkData.Receive(serverSide, Bytes));
        Assert.Equal(Background.Await(sent, Wait, "client sending"), Background.Await(received, Wait, "server receiving"));

        double switches = HttpScrape.Get(metricsPort).Sample("tcpproxy_splice_switches_total", "to=\"splice\"");
        Output.WriteLine($"switches to splice: {switches}");
        Assert.True(switches >= 1, "a 16 MiB stream never switched to splice");
    }

    /// <summary>--splice auto: a ping-pong of small messages never fills the ring, so it never splices.</summary>
    [LinuxFact("splice(2)")]
    public void Auto_PingPong_NeverSwitches()
    {
        var server = StartEchoServer();
        var (proxy, metricsPort) = StartWithMetrics(server, "--splice", "auto");
        var client = Connect(proxy);
        var message = new byte[64];
        for (int i = 0; i < 500; i++)
        {
            message[0] = (byte)i;
            SocketIo.SendAll(client, message);
            Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        }
        var scrape = HttpScrape.Get(metricsPort);
        Assert.Equal(500 * 64, scrape.Sample("tcpproxy_bytes_total", "direction=\"down\""));
        Assert.Equal(0, scrape.Sample("tcpproxy_splice_switches_total", "to=\"splice\""));
        Assert.Equal(0, scrape.Sample("tcpproxy_pipes", "state=\"idle\"") + scrape.Sample("tcpproxy_pipes", "state=\"in_use\""));
    }

    /// <summary>The proxy's open sockets and pipe ends, from /proc/PID/fd's link targets ("socket:[...]", "pipe:[...]").</summary>
    static (int Sockets, int Pipes) DescriptorKinds(int pid)
    {
        int sockets = 0, pipes = 0;
        foreach (string fd in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            string? target;
            try { target = new FileInfo(fd).LinkTarget; }
            catch (IOException) { continue; } // closed meanwhile
            if (target is null) continue;
            if (target.StartsWith("socket:", StringComparison.Ordinal)) sockets++;
            else if (target.StartsWith("pipe:", StringComparison.Ordinal)) pipes++;
        }
        return (sockets, pipes);
    }

    /// <summary>
    /// The kernel's send and receive queues of every TCP socket, by (local port, remote port),
    /// in the network namespace of the process whose /proc directory is given (the test's own by default).
    /// </summary>
    static class TcpQueues
    {
        public static Dictionary<(int Local, int Remote), (long Tx, long Rx)> Read(string proc = "/proc")
        {
            var queues = new Dictionary<(int, int), (long, long)>();
            foreach (string table in new[] { proc + "/net/tcp", proc + "/net/tcp6" })
            {
                if (!File.Exists(table))
                    continue;
                foreach (string line in File.ReadLines(table))
                {
                    // sl local_address rem_address st tx_queue:rx_queue ...
                    string[] f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    // Established sockets only (state 01): a closed one may linger on the same ports.
                    if (f.Length < 5 || !f[0].EndsWith(':') || f[3] != "01")
                        continue;
                    int local = Port(f[1]);
                    int remote = Port(f[2]);
                    string[] q = f[4].Split(':');
                    queues[(local, remote)] = (long.Parse(q[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                        long.Parse(q[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
            }
            return queues;
        }

        static int Port(string address) => int.Parse(address[(address.IndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
