using System;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// SIGTERM/SIGINT drain the proxy: the listening socket closes at once, open pairs finish on
/// their own (or are aborted at the drain timeout or a second signal), and the exit code is 0.
/// SIGUSR1 logs one line of counters.
/// </summary>
public sealed class SignalTests : EndToEndTest
{
    static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    public SignalTests(ITestOutputHelper output) : base(output) { }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public void Signal_WithNothingOpen_ExitsZeroAtOnce(string signalName)
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        var client = RoundTrip(Connect(proxy), "before signal");
        // Closed both ways: the proxy closed the pair in the callback that passed the EOF on.
        client.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, Generous, "client after its half-close");

        Signals.Send(proxy.Pid, signalName);

        Assert.Equal(0, proxy.WaitForExit(Generous));
        Assert.Contains(proxy.StderrLines, l => l.Contains("drain finished", StringComparison.Ordinal) && l.Contains("0 finished, 0 aborted", StringComparison.Ordinal));
        Assert.DoesNotContain(proxy.StderrLines, line => line.Contains("Exception", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public void Drain_RefusesNewClients_LetsTheOpenPairFinish_ThenExitsZero(string signalName)
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--verbose");
        var client = RoundTrip(Connect(proxy), "before signal");

        Signals.Send(proxy.Pid, signalName);
        WaitForLogLine(proxy, "draining: stopped accepting; 1 connection open (0 connecting)");

        var refused = Assert.Throws<SocketException>(() => Own(SocketIo.Connect(System.Net.IPAddress.Loopback, proxy.ListenPort)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        RoundTrip(client, "during the drain");
        AssertProxyAlive(proxy);

        client.Shutdown(SocketShutdown.Send); // the echo server ends its side too: the pair finishes
        SocketIo.AssertEof(client, Generous, "client at the end of the drain");
        Assert.Equal(0, proxy.WaitForExit(Generous));
        Assert.Contains(proxy.StderrLines, l => l.Contains("drain finished", StringComparison.Ordinal) && l.Contains("1 finished, 0 aborted", StringComparison.Ordinal));
    }

    [Fact]
    public void DrainTimeout_AbortsWhatIsStillOpen_AndExitsZero()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--drain-timeout", "1", "--verbose");
        var client = RoundTrip(Connect(proxy), "idle from now on");
        var clock = Stopwatch.StartNew();

        Signals.Send(proxy.Pid, "TERM");

        var observed = SocketIo.WaitForClose(client, Generous);
        Assert.Equal(CloseKind.Reset, observed.Kind);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900), $"aborted after only {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, proxy.WaitForExit(Generous));
        Assert.Contains(proxy.StderrLines, l => l.Contains("the drain timeout aborts 1 connection", StringComparison.Ordinal));
        Assert.Contains(proxy.StderrLines, l => l.Contains("drain finished", StringComparison.Ordinal) && l.Contains("0 finished, 1 aborted", StringComparison.Ordinal));
        Assert.Contains(proxy.StderrLines, l => l.Contains("; drain (aborted)", StringComparison.Ordinal));
    }

    [Fact]
    public void SecondSignal_AbortsEverythingAndExitsZeroAtOnce()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server); // the default drain timeout, 30 s, is never reached
        var clients = new[] { RoundTrip(Connect(proxy), "one"), RoundTrip(Connect(proxy), "two") };

        Signals.Send(proxy.Pid, "TERM");
        WaitForLogLine(proxy, "draining: stopped accepting; 2 connections open");
        var clock = Stopwatch.StartNew();
        Signals.Send(proxy.Pid, "INT");

        Assert.Equal(0, proxy.WaitForExit(Generous));
        Output.WriteLine($"exited {clock.ElapsedMilliseconds} ms after the second signal");
        foreach (var client in clients)
            Assert.Equal(CloseKind.Reset, SocketIo.WaitForClose(client, Generous).Kind);
        Assert.Contains(proxy.StderrLines, l => l.Contains("a second signal aborts 2 connections", StringComparison.Ordinal));
        Assert.Contains(proxy.StderrLines, l => l.Contains("0 finished, 2 aborted", StringComparison.Ordinal));
    }

    [Fact]
    public void Sigusr1_LogsOneLineOfCounters_AndChangesNothing()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        var client = RoundTrip(Connect(proxy), "12345"); // 5 bytes each way
        RoundTrip(Connect(proxy), "x").Dispose();

        Signals.Send(proxy.Pid, "USR1");

        string? line = proxy.WaitForStderrLine(l => l.Contains("counters:", StringComparison.Ordinal), Generous);
        Assert.NotNull(line);
        Assert.Contains("accepted 2, active ", line);
        Assert.Contains("bytes up 6, down 6", line);
        Assert.Contains("connect failures 0", line);
        Assert.Contains("closed eof ", line);
        RoundTrip(client, "still forwarding");
        AssertProxyAlive(proxy);
    }

    static Socket RoundTrip(Socket client, string text)
    {
        byte[] message = Encoding.ASCII.GetBytes(text);
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        return client;
    }

    static void WaitForLogLine(ProxyProcess proxy, string fragment)
    {
        string? line = proxy.WaitForStderrLine(l => l.Contains(fragment, StringComparison.Ordinal), Generous);
        Assert.True(line is not null, $"no stderr line contains '{fragment}':\n{proxy.StderrText}");
    }
}
