using System.Diagnostics;
using System.Linq;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>Classic phases: echo over one connection, over chains of connections, and 2 MB through a chain.</summary>
public sealed class EchoChainTests : EndToEndTest
{
    public EchoChainTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void SingleConnection_EchoesTenFourByteMessages()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        var client = Connect(proxy);

        for (int i = 0; i < 10; i++)
        {
            byte[] message = Encoding.ASCII.GetBytes($"m{i:D3}");
            SocketIo.SendAll(client, message);
            Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(20)]
    public void ChainedConnections_EchoEveryMessageByteExact(int connections)
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        var chain = Enumerable.Range(0, connections).Select(_ => Connect(proxy)).ToArray();

        for (int i = 0; i < 10; i++)
        {
            byte[] original = Encoding.ASCII.GetBytes($"msg-{i}-through-{connections}");
            byte[] data = original;
            // What comes back on connection k is what goes into connection k+1.
            foreach (var link in chain)
            {
                SocketIo.SendAll(link, data);
                data = SocketIo.ReceiveExactly(link, data.Length);
            }
            Assert.Equal(original, data);
        }
    }

    [Fact]
    public void Bulk2MB_ThroughChainOfTwenty_ArrivesByteExact()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        var chain = Enumerable.Range(0, 20).Select(_ => Connect(proxy)).ToArray();

        var clock = Stopwatch.StartNew();
        var (sent, received) = ChainTransfer.Run(chain, 2 * 1024 * 1024, seed: 2);
        Output.WriteLine($"2 MB through 20 chained connections: {clock.Elapsed.TotalMilliseconds:0} ms");

        Assert.Equal(sent, received);
    }
}
