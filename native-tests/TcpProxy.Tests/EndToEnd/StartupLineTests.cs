using System;
using System.Linq;
using System.Text.RegularExpressions;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// The start-up line names everything that decides behaviour: addresses in use, poller,
/// reactors, buffer size and memory, splice mode, timeouts, re-resolution, limits.
/// </summary>
public sealed class StartupLineTests : EndToEndTest
{
    // $TCPPROXY_EXTRA_ARGS may choose the poller or the splice mode: either word is fine here.
    const string Poller = "(epoll|kqueue|poll)";
    const string Splice = "splice (auto|on|off)";

    public StartupLineTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void AName_ItsAddresses_AndEverySetting()
    {
        var server = StartEchoServer();
        var proxy = StartProxy("localhost", server.Port, "--buffer-size", "16384", "--buffer-memory", "1M", "--drain-timeout", "5",
            "--resolve-interval", "60", "--max-connections", "100");
        string d = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches(new Regex(
            $@"^tcpproxy: listening on \[::\]:{proxy.ListenPort}, forwarding to localhost:{d} \([^)]*127\.0\.0\.1:{d}[^)]*\); {Poller}, 1 reactor, " +
            $@"16384 B buffers, buffer memory 1048576 B, {Splice}, stall timeout 10 s, connect timeout 10 s, drain timeout 5 s, " +
            @"resolved every 60 s, at most 100 connections, fd limit \d+$"), StartupLine(proxy));
    }

    [LinuxFact("several reactors (SO_REUSEPORT)")]
    public void AnAddress_IsNeverResolvedAgain_AndTheDefaultsAreNamed()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--reactors", "2", "--resolve-interval", "0");
        Assert.Matches(new Regex(
            $@"^tcpproxy: listening on \[::\]:{proxy.ListenPort}, forwarding to 127\.0\.0\.1:{server.Port} \(127\.0\.0\.1:{server.Port}\); {Poller}, " +
            $@"2 reactors \(SO_REUSEPORT\), 8192 B buffers, buffer memory unbounded, {Splice}, stall timeout 10 s, connect timeout 10 s, " +
            @"drain timeout 30 s, fd limit \d+$"), StartupLine(proxy));
    }

    static string StartupLine(ProxyProcess proxy) =>
        proxy.StderrLines.First(l => l.Contains(ProxyProcess.ReadyMarker, StringComparison.Ordinal));
}
