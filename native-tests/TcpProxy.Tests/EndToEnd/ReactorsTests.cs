using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// --reactors 2: two loops, each with its own listening socket on the port
/// (SO_REUSEPORT). Many clients are spread over both and each is forwarded
/// byte-exact; SIGUSR1 and /metrics add up both loops; SIGTERM drains both
/// and a second signal aborts both; --max-connections is one limit for the
/// process. The per-reactor figures (reactor="0"/"1", "per reactor accepted
/// a/b") prove that both loops carried clients: the kernel's 4-tuple hash
/// puts all 200 on one socket with probability 2^-199.
/// </summary>
public sealed class ReactorsTests : EndToEndTest
{
    static readonly TimeSpan Generous = TimeSpan.FromSeconds(15);
    const int Clients = 200;

    public ReactorsTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("SO_REUSEPORT spreading clients over the reactors")]
    public void TwoReactors_TwoHundredClients_AllEchoExactly_AndBothLoopsCarryThem()
    {
        var server = StartEchoServer();
        int metricsPort = FreePort.Pick();
        var proxy = StartProxy(server, "--reactors", "2", "--metrics", "127.0.0.1:" + metricsPort.ToString(CultureInfo.InvariantCulture));
        Assert.Contains(proxy.StderrLines, l => l.Contains("listening on", StringComparison.Ordinal) && l.Contains("2 reactors", StringComparison.Ordinal));

        Socket[] clients = EchoFromMany(proxy, Clients, 4096);

        // A loop counts a write once send() has returned, and the client may read the bytes
        // (and this test scrape, served by the other loop) before that: await the totals.
        HttpReply reply = HttpScrape.Get(metricsPort);
        var settle = System.Diagnostics.Stopwatch.StartNew();
        while ((reply.Sample("tcpproxy_bytes_total", "direction=\"up\"") < Clients * 4096.0
                || reply.Sample("tcpproxy_bytes_total", "direction=\"down\"") < Clients * 4096.0) && settle.Elapsed < Generous)
        {
            System.Threading.Thread.Sleep(20); // counters offer no event to await
            reply = HttpScrape.Get(metricsPort);
        }
        Assert.Equal(Clients, reply.Sample("tcpproxy_connections_accepted_total"));
        Assert.Equal(Clients, reply.Sample("tcpproxy_connections_active"));
        Assert.Equal(Clients * 4096.0, reply.Sample("tcpproxy_bytes_total", "direction=\"up\""));
        Assert.Equal(Clients * 4096.0, reply.Sample("tcpproxy_bytes_total", "direction=\"down\""));
        double[] accepted = [reply.Sample("tcpproxy_reactor_connections_accepted_total", "reactor=\"0\""), reply.Sample("tcpproxy_reactor_connections_accepted_total", "reactor=\"1\"")];
        double[] active = [reply.Sample("tcpproxy_reactor_connections_active", "reactor=\"0\""), reply.Sample("tcpproxy_reactor_connections_active", "reactor=\"1\"")];
        Output.WriteLine($"accepted per reactor: {accepted[0]}/{accepted[1]}, active {active[0]}/{active[1]}");
        Assert.All(accepted, n => Assert.True(n > 0, $"a reactor accepted no client: {accepted[0]}/{accepted[1]}"));
        Assert.Equal(Clients, accepted.Sum());
        Assert.Equal(accepted, active);

        foreach (Socket client in clients)
            client.Dispose();
        AssertProxyAlive(proxy);
    }

    [LinuxFact("SO_REUSEPORT spreading clients over the reactors")]
    public void TwoReactors_Sigusr1_ReportsTheSumOfBothLoops()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--reactors", "2");
        Socket[] clients = EchoFromMany(proxy, Clients, 100);
        for (int i = 0; i < Clients / 2; i++)
        {
            clients[i].Shutdown(SocketShutdown.Send);
            SocketIo.AssertEof(clients[i], Generous, "a client after its half-close");
        }

        Signals.Send(proxy.Pid, "USR1");

        string? line = proxy.WaitForStderrLine(l => l.Contains("counters:", StringComparison.Ordinal), Generous);
        Assert.NotNull(line);
        Assert.Contains($"accepted {Clients}, active {Clients / 2}, closed eof {Clients / 2},", line);
        Assert.Contains($"bytes up {Clients * 100}, down {Clients * 100}", line);
        Match perReactor = Regex.Match(line, @"per reactor accepted (\d+)/(\d+), active (\d+)/(\d+)$");
        Assert.True(perReactor.Success, "no per-reactor figures in: " + line);
        long[] figures = Enumerable.Range(1, 4).Select(g => long.Parse(perReactor.Groups[g].Value, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(Clients, figures[0] + figures[1]);
        Assert.Equal(Clients / 2, figures[2] + figures[3]);
        Assert.True(figures[0] > 0 && figures[1] > 0, "a reactor accepted no client: " + line);
        AssertProxyAlive(proxy);
    }

    [LinuxFact("SO_REUSEPORT spreading clients over the reactors")]
    public void TwoReactors_Sigterm_DrainsBothLoops_LetsEveryPairFinish_ThenExitsZero()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--reactors", "2");
        const int Open = 40;
        Socket[] clients = EchoFromMany(proxy, Open, 10);

        Signals.Send(proxy.Pid, "TERM");
        // Each loop reports its own share; together they are every open client.
        int draining = 0;
        for (int reactor = 0; reactor < 2; reactor++)
        {
            string? line = proxy.WaitForStderrLine(l => l.Contains($"reactor {reactor}: draining: stopped accepting; ", StringComparison.Ordinal), Generous);
            Assert.NotNull(line);
            draining += int.Parse(Regex.Match(line, @"accepting; (\d+) connection").Groups[1].Value, CultureInfo.InvariantCulture);
        }
        Assert.Equal(Open, draining);
        // Both listening sockets are closed: nothing is accepted on the port any more.
        var refused = Assert.Throws<SocketException>(() => Own(SocketIo.Connect(System.Net.IPAddress.Loopback, proxy.ListenPort)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);

        foreach (Socket client in clients)
            RoundTrip(client, "during the drain");
        AssertProxyAlive(proxy);
        foreach (Socket client in clients)
            client.Shutdown(SocketShutdown.Send);
        foreach (Socket client in clients)
            SocketIo.AssertEof(client, Generous, "a client at the end of the drain");

        Assert.Equal(0, proxy.WaitForExit(Generous));
        Assert.Contains(proxy.StderrLines, l => l.Contains("drain finished on all 2 reactors", StringComparison.Ordinal) && l.Contains($"{Open} finished, 0 aborted", StringComparison.Ordinal));
    }

    [LinuxFact("SO_REUSEPORT spreading clients over the reactors")]
    public void TwoReactors_SecondSignal_AbortsOnBothLoops_AndExitsZero()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--reactors", "2");
        const int Open = 40;
        Socket[] clients = EchoFromMany(proxy, Open, 10);

        Signals.Send(proxy.Pid, "TERM");
        for (int reactor = 0; reactor < 2; reactor++)
            Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains($"reactor {reactor}: draining: stopped accepting", StringComparison.Ordinal), Generous));
        Signals.Send(proxy.Pid, "INT");

        Assert.Equal(0, proxy.WaitForExit(Generous));
        foreach (Socket client in clients)
            Assert.Equal(CloseKind.Reset, SocketIo.WaitForClose(client, Generous).Kind);
        Assert.Contains(proxy.StderrLines, l => l.Contains("drain finished on all 2 reactors", StringComparison.Ordinal) && l.Contains($"0 finished, {Open} aborted", StringComparison.Ordinal));
    }

    /// <summary>
    /// Ten places for the process, not ten per loop: whichever loop the kernel
    /// hands each client to, exactly ten reach the server at a time, and the
    /// closes of the admitted ones let in clients waiting on either loop.
    /// </summary>
    [LinuxFact("SO_REUSEPORT spreading clients over the reactors")]
    public void TwoReactors_MaxConnections_IsOneLimitForTheProcess()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--reactors", "2", "--max-connections", "10");
        var waiting = new List<Socket>();
        for (int i = 0; i < 30; i++)
        {
            Socket client = Connect(proxy); // completes in a backlog even when the proxy does not accept
            SocketIo.SendAll(client, new[] { (byte)i }); // echoed once its pair exists
            waiting.Add(client);
        }

        for (int wave = 0; wave < 3; wave++)
        {
            for (int i = 0; i < 10; i++)
                server.AcceptAndEcho(TimeSpan.FromSeconds(10));
            // Absence can only be shown by waiting: no eleventh connection meanwhile.
            Assert.Throws<TimeoutException>(() => server.Accept(TimeSpan.FromMilliseconds(wave == 0 ? 1000 : 300)));
            List<Socket> admitted = TakeEchoed(waiting, 10);
            Output.WriteLine($"wave {wave}: 10 admitted, {waiting.Count} still waiting");
            foreach (Socket client in admitted)
                client.Dispose(); // its pair ends: a place frees up on the loop that had it
        }
        Assert.Empty(waiting);
        AssertProxyAlive(proxy);
    }

    // Waits (on the sockets' readiness) until count of the clients have their byte back; removes and returns those.
    List<Socket> TakeEchoed(List<Socket> clients, int count)
    {
        var echoed = new List<Socket>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (echoed.Count < count)
        {
            Assert.True(clock.Elapsed < Generous, $"only {echoed.Count} of {count} admitted clients got their byte back");
            var readable = new List<Socket>(clients);
            Socket.Select(readable, null, null, 100_000);
            foreach (Socket client in readable)
            {
                SocketIo.ReceiveExactly(client, 1);
                clients.Remove(client);
                echoed.Add(client);
            }
        }
        Assert.Equal(count, echoed.Count);
        return echoed;
    }

    // Connects count clients, then every one sends its own bytes before any reads them back.
    Socket[] EchoFromMany(ProxyProcess proxy, int count, int bytes)
    {
        Socket[] clients = Enumerable.Range(0, count).Select(_ => Connect(proxy)).ToArray();
        byte[][] messages = Enumerable.Range(0, count).Select(i => Enumerable.Repeat((byte)i, bytes).ToArray()).ToArray();
        for (int i = 0; i < count; i++)
            SocketIo.SendAll(clients[i], messages[i]);
        for (int i = 0; i < count; i++)
            Assert.Equal(messages[i], SocketIo.ReceiveExactly(clients[i], bytes, Generous));
        return clients;
    }

    static void RoundTrip(Socket client, string text)
    {
        byte[] message = Encoding.ASCII.GetBytes(text);
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length, Generous));
    }
}
