using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>--access-log: one line per closed connection, text or JSON, reopened on SIGHUP; a full disk costs lines only.</summary>
public sealed class AccessLogTests : EndToEndTest, IDisposable
{
    static readonly string[] JsonKeys = ["time", "client", "server", "bytes_up", "bytes_down", "duration_s", "reason", "error"];
    readonly string directory = Directory.CreateTempSubdirectory("tcpproxy-access-").FullName;

    public AccessLogTests(ITestOutputHelper output) : base(output) { }

    string LogPath => Path.Combine(directory, "access.log");

    [Fact]
    public void Json_OneObjectPerClosedConnection_WithExactlyTheKeysAndValues()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--access-log", LogPath, "--log-format", "json");
        var before = DateTimeOffset.UtcNow;
        int firstPort = Exchange(Connect(proxy), 100);
        int secondPort = Exchange(Connect(proxy, IPAddress.IPv6Loopback), 2000);

        string[] lines = ReadLines(2);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        var second = JsonDocument.Parse(lines[1]).RootElement;

        Assert.Equal(JsonKeys, first.EnumerateObject().Select(p => p.Name));
        var time = DateTimeOffset.Parse(first.GetProperty("time").GetString()!, CultureInfo.InvariantCulture);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", first.GetProperty("time").GetString()!);
        Assert.InRange(time, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal($"127.0.0.1:{firstPort}", first.GetProperty("client").GetString());
        Assert.Equal($"127.0.0.1:{server.Port}", first.GetProperty("server").GetString());
        Assert.Equal(100, first.GetProperty("bytes_up").GetInt64());
        Assert.Equal(100, first.GetProperty("bytes_down").GetInt64());
        Assert.Equal(JsonValueKind.Number, first.GetProperty("duration_s").ValueKind);
        Assert.InRange(first.GetProperty("duration_s").GetDouble(), 0, 10);
        Assert.Equal("eof", first.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("error").ValueKind);
        Assert.Equal($"[::1]:{secondPort}", second.GetProperty("client").GetString());
        Assert.Equal(2000, second.GetProperty("bytes_up").GetInt64());
    }

    [NotOnLibKqueueFact("reads SO_ERROR into the event, so a refused connect's getsockopt finds no error")]
    public void Json_ConnectFailure_HasNullServerAndTheErrnoName()
    {
        var refusing = Own(LoopbackServer.BoundButNotListening());
        var proxy = StartProxy(refusing, "--access-log", LogPath, "--log-format", "json");
        AwaitReset(() => Connect(proxy));

        var line = JsonDocument.Parse(ReadLines(1)[0]).RootElement;

        Assert.Equal(JsonValueKind.Null, line.GetProperty("server").ValueKind);
        Assert.Equal("connect_failed", line.GetProperty("reason").GetString());
        Assert.Equal("ECONNREFUSED", line.GetProperty("error").GetString());
        Assert.Equal(0, line.GetProperty("bytes_up").GetInt64());
    }

    [Fact]
    public void Text_OneLinePerClosedConnection_WithTheReason()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--access-log", LogPath, "--idle-timeout", "0.3");
        var (client, serverSide) = ConnectPair(proxy, server);
        int clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
        SocketIo.SendAll(client, new byte[10]);
        SocketIo.ReceiveExactly(serverSide, 10);
        SocketIo.SendAll(serverSide, new byte[3]);
        SocketIo.ReceiveExactly(client, 3);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(10), "client of a pair left idle");

        string line = ReadLines(1)[0];

        Assert.Matches(new Regex($@"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z client=127\.0\.0\.1:{clientPort} server=127\.0\.0\.1:{server.Port} bytes_up=10 bytes_down=3 duration_s=\d+\.\d{{3}} reason=idle error=-$"), line);
    }

    [Fact]
    public void Stderr_WhenThePathIsADash()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--access-log", "-");
        int port = Exchange(Connect(proxy), 5);
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains($" client=127.0.0.1:{port} ", StringComparison.Ordinal) && l.EndsWith(" reason=eof error=-", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5)));
    }

    /// <summary>logrotate renames the file and sends SIGHUP: later lines go to a new file of the old name.</summary>
    [Fact]
    public void Sighup_ReopensThePath_AfterARename()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--access-log", LogPath);
        int before = Exchange(Connect(proxy), 1);
        ReadLines(1);
        string rotated = LogPath + ".1";
        File.Move(LogPath, rotated);

        Signals.Send(proxy.Pid, "HUP");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("SIGHUP: reopened the access log", StringComparison.Ordinal), TimeSpan.FromSeconds(5)));
        int after = Exchange(Connect(proxy), 2);

        Assert.Contains($"client=127.0.0.1:{before} ", Assert.Single(File.ReadAllLines(rotated)));
        Assert.Contains($"client=127.0.0.1:{after} ", Assert.Single(ReadLines(1)));
        AssertProxyAlive(proxy);
    }

    /// <summary>An access log on a full disk loses its lines (counted), never the forwarding.</summary>
    [LinuxFact("/dev/full")]
    public void FullDisk_DropsAndCountsLines_ForwardingGoesOn()
    {
        var server = StartEchoServer();
        int metricsPort = FreePort.Pick();
        var proxy = StartProxy(server, "--access-log", "/dev/full", "--metrics", "127.0.0.1:" + metricsPort.ToString(CultureInfo.InvariantCulture));
        for (int i = 0; i < 5; i++)
            Exchange(Connect(proxy), 64);

        // The loop only queues a line; the log thread counts it dropped once its write has failed,
        // which may be after the client saw its close and after a scrape: await the count.
        HttpReply reply = HttpScrape.Get(metricsPort);
        var settle = System.Diagnostics.Stopwatch.StartNew();
        while (reply.Sample("tcpproxy_log_lines_dropped_total", "log=\"access\"") < 5 && settle.Elapsed < TimeSpan.FromSeconds(10))
        {
            System.Threading.Thread.Sleep(20); // counters offer no event to await
            reply = HttpScrape.Get(metricsPort);
        }

        Assert.Equal(5, reply.Sample("tcpproxy_connections_closed_total", "reason=\"eof\""));
        Assert.True(reply.Sample("tcpproxy_log_lines_dropped_total", "log=\"access\"") == 5,
            "expected the 5 lines counted as dropped within 10 s:\n" + reply.Body);
        AssertProxyAlive(proxy);
    }

    /// <summary>Sends and gets back `bytes` through the echo server, half-closes, waits for EOF; returns the client's port.</summary>
    static int Exchange(Socket client, int bytes)
    {
        int port = ((IPEndPoint)client.LocalEndPoint!).Port;
        SocketIo.SendAll(client, new byte[bytes]);
        SocketIo.ReceiveExactly(client, bytes);
        client.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(5), "client after its half-close");
        return port;
    }

    /// <summary>Connects and waits for the proxy's reset, which may come before the connect call has returned.</summary>
    static void AwaitReset(Func<Socket> connect)
    {
        try
        {
            Assert.NotEqual(CloseKind.TimedOut, SocketIo.WaitForClose(connect(), TimeSpan.FromSeconds(10)).Kind);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset) { }
    }

    /// <summary>
    /// The proxy writes a connection's line right after it ends the connection for the client,
    /// in the same callback, so the line may trail the client's EOF by microseconds: wait for it
    /// (the file is the only event there is), bounded.
    /// </summary>
    string[] ReadLines(int expected)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string[] lines;
        while (true)
        {
            lines = File.Exists(LogPath) ? File.ReadAllLines(LogPath) : [];
            if (lines.Length >= expected || clock.Elapsed > TimeSpan.FromSeconds(5))
                break;
            System.Threading.Thread.Sleep(10);
        }
        Assert.True(lines.Length == expected, $"expected {expected} access-log lines, found {lines.Length}:\n{string.Join('\n', lines)}");
        return lines;
    }

    void IDisposable.Dispose()
    {
        Dispose();
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
    }
}
