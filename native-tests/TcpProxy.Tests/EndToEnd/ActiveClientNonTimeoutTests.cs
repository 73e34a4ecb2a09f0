using System.Diagnostics;
using System.Text;
using System.Threading;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>Classic phase "non-timeout": slow but active clients must never be aborted (slow; own class so it runs in parallel).</summary>
public sealed class ActiveClientNonTimeoutTests : EndToEndTest
{
    public ActiveClientNonTimeoutTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void ActiveClientWithMultiSecondPauses_IsNotTimedOut()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server); // default 10 s stall timeout
        var client = Connect(proxy);
        var clock = Stopwatch.StartNew();

        // 5 writes 3 s apart: the connection lives 12 s, longer than the stall timeout.
        for (int i = 0; i < 5; i++)
        {
            if (i > 0) Thread.Sleep(3000); // the scenario's pause, not synchronisation
            byte[] message = Encoding.ASCII.GetBytes($"tick-{i}");
            SocketIo.SendAll(client, message);
            Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        }
        Output.WriteLine($"connection still echoing after {clock.Elapsed.TotalSeconds:0.0} s");
        AssertProxyAlive(proxy);
    }
}
