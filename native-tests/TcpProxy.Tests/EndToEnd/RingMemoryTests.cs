using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Sockets;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// Running out of memory for a pair's ring buffers costs that client only:
/// it is reset, the proxy lives on, the pairs it has keep forwarding, and
/// nothing of the failed attempt stays allocated.
/// </summary>
public sealed class RingMemoryTests : EndToEndTest
{
    const long RingSize = 64L << 20;
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public RingMemoryTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("prlimit(2) and /proc/PID/status")]
    public void ClientsBeyondTheAddressSpaceLimit_AreReset_OthersForward_AndMemoryComesBack()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--buffer-size", RingSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "-v");
        long baseline = ProcessLimits.VirtualSize(proxy.Pid);
        // Room for three pairs (two rings each) and one ring and a half: a fourth
        // pair gets its first ring, not its second, which must then be freed.
        ProcessLimits.SetAddressSpaceLimit(proxy.Pid, baseline + 6 * RingSize + RingSize * 3 / 2);

        var fitting = new List<Socket>();
        bool refused = false;
        for (int i = 0; i < 8 && !refused; i++)
        {
            var client = ConnectUnlessReset(proxy);
            if (client is not null && Echoes(client, (byte)i))
                fitting.Add(client);
            else
                refused = true;
        }
        Output.WriteLine($"{fitting.Count} pairs fitted under the limit");
        AssertProxyAlive(proxy);
        Assert.True(refused, "no client was refused: the address-space limit did not bite");
        Assert.InRange(fitting.Count, 2, 3);

        // More excess clients: each is reset promptly; the earlier pairs are untouched.
        for (int i = 0; i < 3; i++)
        {
            var client = ConnectUnlessReset(proxy);
            if (client is not null)
                Assert.Equal(CloseKind.Reset, SocketIo.WaitForClose(client, Wait).Kind);
        }
        AssertProxyAlive(proxy);
        for (int i = 0; i < fitting.Count; i++)
            Assert.True(Echoes(fitting[i], (byte)(100 + i)), $"pair {i} stopped forwarding after the excess clients");
        Assert.Single(proxy.StderrLines, l => l.Contains("cannot allocate ring buffers", StringComparison.Ordinal));

        // Close the pairs; once the proxy has closed them all, its address space is back
        // where it started (no ring of a failed attempt leaked) and as many pairs fit again.
        int closedBefore = ClosedPairs(proxy);
        foreach (var client in fitting)
            client.Shutdown(SocketShutdown.Send);
        Assert.NotNull(proxy.WaitForStderrLine(_ => ClosedPairs(proxy) >= closedBefore + fitting.Count, Wait));
        long after = ProcessLimits.VirtualSize(proxy.Pid);
        Output.WriteLine($"address space: {baseline >> 20} MiB at start, {after >> 20} MiB with every pair closed");
        Assert.True(after < baseline + RingSize / 2, $"{(after - baseline) >> 20} MiB more than at start with no pair open");

        for (int i = 0; i < fitting.Count; i++)
            Assert.True(Echoes(Connect(proxy), (byte)(200 + i)), $"new client {i} did not get through after the earlier pairs closed");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("ring buffers allocated again", StringComparison.Ordinal), Wait));
        AssertProxyAlive(proxy);
    }

    /// <summary>A client through the proxy, or null when the proxy reset it so fast that connect itself saw the reset.</summary>
    Socket? ConnectUnlessReset(ProxyProcess proxy)
    {
        try
        {
            return Connect(proxy);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return null;
        }
    }

    static int ClosedPairs(ProxyProcess proxy) => proxy.StderrLines.Count(l => l.Contains(" closed after ", StringComparison.Ordinal));

    /// <summary>One byte there and back through the proxy; false if the proxy closed or reset the client instead.</summary>
    static bool Echoes(Socket client, byte value)
    {
        try
        {
            SocketIo.SendAll(client, new[] { value });
            var reply = new byte[1];
            if (!client.Poll(Wait, SelectMode.SelectRead))
                throw new TimeoutException($"no echo of {value} within {Wait.TotalSeconds} s");
            return client.Receive(reply) == 1 && reply[0] == value;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return false;
        }
    }
}
