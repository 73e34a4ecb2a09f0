using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// --connect-timeout against destinations whose SYNs are dropped (iptables in a network
/// namespace of the test's own, where the proxy and the test's sockets live).
/// </summary>
public sealed class ConnectTimeoutTests : EndToEndTest
{
    const int DestinationPort = 8080; // the namespace is empty: any port is free there

    public ConnectTimeoutTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("network namespaces and iptables")]
    public void EveryAddressDropsSyns_ClientIsResetAfterTheTimeout_AndTheReasonLogged()
    {
        var ns = Own(NetworkNamespace.Create());
        DropSyns(ns, "127.0.0.1");
        var proxy = StartProxyIn(ns, "127.0.0.1", DestinationPort, "--connect-timeout", "0.5");
        var clock = Stopwatch.StartNew();
        var client = Own(ns.Inside(() => SocketIo.Connect(IPAddress.Loopback, proxy.ListenPort)));

        var observed = SocketIo.WaitForClose(client, TimeSpan.FromSeconds(20));

        Assert.Equal(CloseKind.Reset, observed.Kind);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(450), $"reset after only {clock.ElapsedMilliseconds} ms");
        // The kernel alone would retry the SYN for about two minutes.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"reset only after {clock.ElapsedMilliseconds} ms");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains($"cannot connect to 127.0.0.1:{DestinationPort}: ETIMEDOUT (connect timeout)", StringComparison.Ordinal),
            TimeSpan.FromSeconds(3)));
    }

    [LinuxFact("network namespaces and iptables")]
    public void FirstAddressDropsSyns_TheNextAddressIsTriedAfterTheTimeout()
    {
        var ns = Own(NetworkNamespace.Create());
        ns.SetHosts("127.0.0.1 tcpproxy-dest\n127.0.0.2 tcpproxy-dest\n");
        var proxy = StartProxyIn(ns, "tcpproxy-dest", DestinationPort, "--connect-timeout", "0.5", "--verbose");
        // The start-up line lists the addresses in the order they are tried.
        var order = Regex.Match(proxy.StderrText, $@"\((127\.0\.0\.[12]):{DestinationPort}, (127\.0\.0\.[12]):{DestinationPort}\)");
        Assert.True(order.Success, "the proxy did not resolve tcpproxy-dest to both addresses:\n" + proxy.StderrText);
        string first = order.Groups[1].Value, second = order.Groups[2].Value;
        DropSyns(ns, first);
        using var listener = ns.Inside(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(second), DestinationPort));
            socket.Listen(8);
            return socket;
        });
        var clock = Stopwatch.StartNew();
        var client = Own(ns.Inside(() => SocketIo.Connect(IPAddress.Loopback, proxy.ListenPort)));
        SocketIo.SendAll(client, "hello"u8);

        Assert.True(listener.Poll(TimeSpan.FromSeconds(10), SelectMode.SelectRead), $"nothing reached {second} within 10 s");
        TimeSpan reachedAfter = clock.Elapsed;
        using var serverSide = SocketIo.Configure(listener.Accept());
        Assert.Equal("hello"u8.ToArray(), SocketIo.ReceiveExactly(serverSide, 5));
        Assert.True(reachedAfter >= TimeSpan.FromMilliseconds(450), $"{second} reached after only {reachedAfter.TotalMilliseconds:0} ms: was {first} tried first?");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains($"connecting to {first}:{DestinationPort} timed out after 0.5 s", StringComparison.Ordinal), TimeSpan.FromSeconds(3)));
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains($"connected to {second}:{DestinationPort}", StringComparison.Ordinal), TimeSpan.FromSeconds(3)));
    }

    /// <summary>A client still connecting when SIGTERM arrives is part of the drain: it connects, forwards, finishes.</summary>
    [LinuxFact("network namespaces and iptables")]
    public void Drain_WaitsForAClientStillConnecting()
    {
        var ns = Own(NetworkNamespace.Create());
        ns.SetHosts("127.0.0.1 tcpproxy-dest\n127.0.0.2 tcpproxy-dest\n");
        var proxy = StartProxyIn(ns, "tcpproxy-dest", DestinationPort, "--connect-timeout", "1");
        var order = Regex.Match(proxy.StderrText, $@"\((127\.0\.0\.[12]):{DestinationPort}, (127\.0\.0\.[12]):{DestinationPort}\)");
        Assert.True(order.Success, "the proxy did not resolve tcpproxy-dest to both addresses:\n" + proxy.StderrText);
        DropSyns(ns, order.Groups[1].Value);
        using var listener = ns.Inside(() =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(order.Groups[2].Value), DestinationPort));
            socket.Listen(8);
            return socket;
        });
        var client = Own(ns.Inside(() => SocketIo.Connect(IPAddress.Loopback, proxy.ListenPort)));
        // The counters say when the proxy has accepted it (it is then stuck on the dropped SYN). The
        // connect returned once the kernel queued the client, maybe before the proxy's accept: a
        // report may still say 0, so ask again (bounded) until one says 1.
        var asked = System.Diagnostics.Stopwatch.StartNew();
        string? report = null;
        for (int reports = 1; report?.Contains("counters: accepted 1, active 1", StringComparison.Ordinal) != true; reports++)
        {
            Assert.True(asked.Elapsed < TimeSpan.FromSeconds(10), "the proxy never reported the client accepted:\n" + proxy.StderrText);
            Signals.Send(proxy.Pid, "USR1");
            int seen = 0;
            report = proxy.WaitForStderrLine(l => l.Contains("counters:", StringComparison.Ordinal) && ++seen == reports, TimeSpan.FromSeconds(10));
            Assert.NotNull(report);
        }

        Signals.Send(proxy.Pid, "TERM");

        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("draining: stopped accepting; 1 connection open (1 connecting)", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
        Assert.True(listener.Poll(TimeSpan.FromSeconds(10), SelectMode.SelectRead), "the connecting client never reached the second address");
        using var serverSide = SocketIo.Configure(listener.Accept());
        SocketIo.SendAll(client, "drained"u8);
        Assert.Equal("drained"u8.ToArray(), SocketIo.ReceiveExactly(serverSide, 7));
        client.Shutdown(SocketShutdown.Send);
        serverSide.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(10), "client after both half-closes");
        Assert.Equal(0, proxy.WaitForExit(TimeSpan.FromSeconds(10)));
        Assert.Contains(proxy.StderrLines, l => l.Contains("1 finished, 0 aborted", StringComparison.Ordinal));
    }

    static void DropSyns(NetworkNamespace ns, string address) =>
        ns.Exec("iptables", "-A", "INPUT", "-p", "tcp", "-d", address, "--dport", DestinationPort.ToString(), "--syn", "-j", "DROP");
}
