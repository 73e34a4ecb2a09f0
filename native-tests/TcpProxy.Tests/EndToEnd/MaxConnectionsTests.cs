using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net.Sockets;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>--max-connections holds further clients in the kernel's backlog (never resets them) until one closes.</summary>
public sealed class MaxConnectionsTests : EndToEndTest
{
    public MaxConnectionsTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void FifteenClientsWithTenAllowed_TenReachTheServer_TheRestFollowAsOthersClose()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--max-connections", "10");
        var clients = new List<Socket>();
        for (int i = 0; i < 15; i++)
            clients.Add(Connect(proxy)); // completes in the backlog even when the proxy does not accept

        // An echoing destination ends its side at the client's EOF, so a closed client ends its pair.
        for (int i = 0; i < 10; i++)
            server.AcceptAndEcho(TimeSpan.FromSeconds(10));
        // Absence can only be shown by waiting: no eleventh connection within a second.
        Assert.Throws<TimeoutException>(() => server.Accept(TimeSpan.FromSeconds(1)));

        for (int i = 0; i < 5; i++)
            clients[i].Dispose();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 5; i++)
            server.AcceptAndEcho(TimeSpan.FromSeconds(5));
        Output.WriteLine($"the 5 waiting clients reached the server {clock.ElapsedMilliseconds} ms after the first 5 closed");
        Assert.Throws<TimeoutException>(() => server.Accept(TimeSpan.FromMilliseconds(300)));

        // The clients that waited were not reset: each one's bytes come back through its pair.
        for (int i = 5; i < 15; i++)
        {
            SocketIo.SendAll(clients[i], new[] { (byte)i });
            Assert.Equal((byte)i, SocketIo.ReceiveExactly(clients[i], 1)[0]);
        }
        AssertProxyAlive(proxy);
    }
}
