using TcpProxy.Configuration;
using TcpProxy.Hosting;
using TcpProxy.Logging;
using TcpProxy.Proxy;
using TcpProxy.Tests.Support;
using Xunit;

namespace TcpProxy.Tests.InProcess;

/// <summary>--buffer-memory bounds the process: with several reactors each loop's pool gets an even share.</summary>
[Collection(NonParallelCollection.Name)]
public sealed class BufferMemoryShareTests
{
    [LinuxTheory("several reactors need SO_REUSEPORT spreading (Linux)")]
    [InlineData(1, 262144, 262144)]
    [InlineData(2, 262144, 131072)]
    [InlineData(4, 262144, 65536)]
    // Never below one buffer a loop, even when the limit is smaller than that share.
    [InlineData(8, 262144, 65536)]
    public void EachLoopGetsItsShare(int reactors, long limit, long perLoop)
    {
        var options = new ProxyOptions
        {
            DestinationHost = "127.0.0.1", DestinationPort = 9, ListenPort = 0, BindAddress = "127.0.0.1",
            LogLevel = LogLevel.Quiet, Reactors = reactors, BufferSize = 65536, BufferMemory = limit,
        };
        using ProxyServer server = ProxyServer.Create(options, new Log(LogLevel.Quiet, writer: null), out string? error)
            ?? throw new System.InvalidOperationException(error);
        Assert.Equal(reactors, server.Loops.Count);
        foreach (LoopParts loop in server.Loops)
            Assert.Equal(perLoop, loop.BufferPool.MemoryLimit);
    }
}
