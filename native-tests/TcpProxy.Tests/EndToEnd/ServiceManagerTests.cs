using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// Under systemd: sd_notify's datagrams to the test's own NOTIFY_SOCKET, the
/// watchdog pings, sockets passed as systemd passes them, and the readiness
/// and liveness paths a service manager or Kubernetes probes.
/// </summary>
public sealed class ServiceManagerTests : EndToEndTest
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    static readonly string Activator = Path.Combine(AppContext.BaseDirectory, "socket-activate.py");

    public ServiceManagerTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("systemd's notify protocol")]
    public void Notify_SaysReady_ReloadingAroundSighup_StoppingOnDrain()
    {
        using var systemd = new NotifySocket();
        var proxy = StartProxyVia(_ => systemd.Launcher(), StartServer());

        string? ready = systemd.ReceiveStartingWith("READY=1", Wait);
        Assert.NotNull(ready);
        Assert.Contains("STATUS=0 open connections, 0 accepted since start", ready);
        Signals.Send(proxy.Pid, "HUP");
        Assert.StartsWith("RELOADING=1\nMONOTONIC_USEC=", systemd.ReceiveStartingWith("RELOADING=1", Wait));
        Assert.Equal("READY=1", systemd.ReceiveStartingWith("READY=1", Wait));
        Signals.Send(proxy.Pid, "TERM");
        Assert.StartsWith("STOPPING=1\nSTATUS=draining:", systemd.ReceiveStartingWith("STOPPING=1", Wait));
        Assert.Equal(0, proxy.WaitForExit(Wait));
    }

    [LinuxFact("systemd's notify protocol, SIGSTOP")]
    public void Watchdog_PingsAtHalfTheInterval_AndStopsWhileTheLoopCannotRun()
    {
        using var systemd = new NotifySocket();
        var proxy = StartProxyVia(_ => systemd.Launcher("WATCHDOG_USEC=400000"), StartServer());
        Assert.NotNull(systemd.ReceiveStartingWith("READY=1", Wait));

        // Every 200 ms: four pings come well within a second and a half.
        for (int i = 0; i < 4; i++)
            Assert.Equal("WATCHDOG=1", systemd.ReceiveStartingWith("WATCHDOG=1", TimeSpan.FromMilliseconds(1500)));
        Signals.Send(proxy.Pid, "STOP");
        try
        {
            // What was sent before the stop landed may still be queued; after it, nothing for twice the interval.
            while (systemd.Receive(TimeSpan.FromMilliseconds(50)) != null)
            {
            }
            Assert.Null(systemd.Receive(TimeSpan.FromMilliseconds(800)));
        }
        finally
        {
            Signals.Send(proxy.Pid, "CONT");
        }
        Assert.Equal("WATCHDOG=1", systemd.ReceiveStartingWith("WATCHDOG=1", Wait));
    }

    [LinuxFact("systemd's notify protocol")]
    public void Watchdog_ForAnotherProcess_IsNotPinged()
    {
        using var systemd = new NotifySocket();
        StartProxyVia(_ => systemd.Launcher("WATCHDOG_USEC=200000", "WATCHDOG_PID=1"), StartServer());
        Assert.NotNull(systemd.ReceiveStartingWith("READY=1", Wait));
        Assert.Null(systemd.ReceiveStartingWith("WATCHDOG=1", TimeSpan.FromMilliseconds(600)));
    }

    [LinuxTheory("socket activation")]
    [InlineData(1)]
    [InlineData(2)]
    public void SocketActivation_ServesThePassedSockets_ProxyAndMetrics(int reactors)
    {
        var server = StartServer();
        int metricsPort = FreePort.Pick();
        var proxy = StartProxyVia(port => ["python3", Activator, Port(port), Port(metricsPort), "--"], server,
            "--metrics", "127.0.0.1:" + Port(metricsPort), "--reactors", Port(reactors));

        Assert.Contains("sockets passed by systemd", proxy.StderrText);
        for (int i = 0; i < 4; i++)
            ConnectPair(proxy, server);
        Assert.Equal(4, HttpScrape.Get(metricsPort).Sample("tcpproxy_connections_active"));
    }

    [LinuxFact("socket activation")]
    public void SocketActivation_OnAnotherPortThanTheCommandLine_IsOneClearLine()
    {
        int passed = FreePort.Pick(), named = FreePort.Pick();
        CommandResult result = CommandRun.RunVia(["python3", Activator, Port(passed), "--"], Wait, "127.0.0.1", "9", Port(named));

        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.NonEmptyStderrLines);
        Assert.Equal("tcpproxy: listen-port " + Port(named) + " does not match the socket systemd passed ([::]:" + Port(passed) + ")", line);
    }

    [LinuxFact("socket activation")]
    public void SocketActivation_AMetricsSocketWithoutMetrics_IsOneClearLine()
    {
        int port = FreePort.Pick(), metrics = FreePort.Pick();
        CommandResult result = CommandRun.RunVia(["python3", Activator, Port(port), Port(metrics), "--"], Wait, "127.0.0.1", "9", Port(port));

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("tcpproxy: systemd passed a metrics socket but --metrics is not set", Assert.Single(result.NonEmptyStderrLines));
    }

    [Fact]
    public void Readyz_Is200WhileAccepting_503WhileDraining_AndLivezAnswers()
    {
        var server = StartServer();
        int metricsPort = FreePort.Pick();
        var proxy = StartProxy(server, "--metrics", "127.0.0.1:" + Port(metricsPort), "--drain-timeout", "30");
        HttpReply ready = HttpScrape.Get(metricsPort, "/readyz");
        Assert.Equal((200, "ready\n"), (ready.Status, ready.Body));
        HttpReply head = HttpScrape.Send(metricsPort, "HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Equal((200, ""), (head.Status, head.Body));

        // An open pair keeps the drain going while the probes are asked.
        ConnectPair(proxy, server);
        Signals.Send(proxy.Pid, "TERM");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("draining: stopped accepting", StringComparison.Ordinal), Wait));
        HttpReply draining = HttpScrape.Get(metricsPort, "/readyz");
        Assert.Equal((503, "draining\n"), (draining.Status, draining.Body));
        HttpReply live = HttpScrape.Get(metricsPort, "/livez");
        Assert.Equal((200, "live\n"), (live.Status, live.Body));
    }

    static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
}
