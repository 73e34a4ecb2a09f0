using System;
using System.Linq;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>--poller picks the readiness backend; the start-up line names the one in use.</summary>
public sealed class PollerOptionTests : EndToEndTest
{
    public PollerOptionTests(ITestOutputHelper output) : base(output) { }

    /// <summary>The system's own backend (auto), and poll, the POSIX fallback: each named, each forwarding.</summary>
    [Theory]
    [InlineData("auto")]
    [InlineData("poll")]
    public void Backend_IsNamedInTheStartupLine_AndForwards(string poller)
    {
        string expected = poller == "poll" ? "poll" : OperatingSystem.IsMacOS() ? "kqueue" : "epoll";
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--poller", poller);

        string startup = proxy.StderrLines.First(l => l.Contains(ProxyProcess.ReadyMarker, StringComparison.Ordinal));
        Assert.Contains("); " + expected + ", ", startup, StringComparison.Ordinal);

        var client = Connect(proxy);
        byte[] message = System.Text.Encoding.ASCII.GetBytes("through the " + expected + " loop");
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
    }
}
