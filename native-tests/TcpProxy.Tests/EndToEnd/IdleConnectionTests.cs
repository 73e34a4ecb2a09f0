using System.Text;
using System.Threading;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>An idle connection with empty buffers never times out, even past a short stall timeout.</summary>
public sealed class IdleConnectionTests : EndToEndTest
{
    public IdleConnectionTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void IdleLongerThanStallTimeout_IsNotAborted()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--stall-timeout", "1");
        var client = Connect(proxy);

        for (int i = 0; i < 2; i++)
        {
            Thread.Sleep(2500); // idle well past the 1 s stall timeout
            byte[] message = Encoding.ASCII.GetBytes($"idle-{i}");
            SocketIo.SendAll(client, message);
            Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        }
        AssertProxyAlive(proxy);
    }
}
