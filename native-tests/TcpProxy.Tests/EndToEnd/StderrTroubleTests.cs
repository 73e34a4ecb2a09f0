using System;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// Logging is best effort: stderr on a full device, or a pipe nobody reads, costs log lines
/// (counted, then reported), never the proxy and never its loop.
/// </summary>
public sealed class StderrTroubleTests : EndToEndTest
{
    public StderrTroubleTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("/dev/full, and readiness read from /proc/net/tcp6")]
    public void StderrOnAFullDevice_ProxyStaysUpThroughRefusedClients_AndForwards()
    {
        // Bound but not listening: every client is refused and costs a log line that fails with ENOSPC.
        var destination = Own(LoopbackServer.BoundButNotListening());
        var proxy = Own(RawStderrProxy.StartWithStderrOn("/dev/full", destination.Host, destination.Port, "-v"));

        const int RefusedClients = 200;
        for (int i = 0; i < RefusedClients; i++)
        {
            var closed = ConnectAndWaitForClose(proxy.ListenPort, TimeSpan.FromSeconds(5));
            Assert.True(closed != CloseKind.TimedOut, $"refused client {i} was not closed within 5 s");
            Assert.False(proxy.HasExited, $"the proxy died after {i} refused clients");
        }

        destination.StartListening();
        destination.EchoEveryConnection();
        using var client = SocketIo.Connect(IPAddress.Loopback, proxy.ListenPort);
        byte[] message = Encoding.ASCII.GetBytes("still forwarding");
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        Assert.False(proxy.HasExited, "the proxy died");
    }

    [LinuxFact("/dev/full, and readiness read from /proc/net/tcp6")]
    public void StderrPipeNobodyReads_ThousandsOfConnectionsStillEcho_ThenTheDropsAreReported()
    {
        var server = StartEchoServer();
        var proxy = Own(RawStderrProxy.StartWithUnreadStderrPipe(server.Host, server.Port, "-v"));

        // About 190 B of -v lines per connection: the 64 KiB pipe fills after ~350 connections,
        // the 256 KiB log buffer behind it after ~1 700 more; the rest must be dropped, not waited for.
        const int Workers = 4;
        const int ConnectionsPerWorker = 800;
        int echoed = 0;
        var workers = new Task[Workers];
        for (int w = 0; w < Workers; w++)
        {
            int worker = w;
            workers[w] = Background.Run(() =>
            {
                for (int i = 0; i < ConnectionsPerWorker; i++)
                {
                    try
                    {
                        EchoOnce(proxy.ListenPort, $"worker {worker} connection {i}");
                    }
                    catch (Exception e) when (e is SocketException or TimeoutException or System.IO.EndOfStreamException)
                    {
                        throw new TimeoutException($"a connection failed after {Volatile.Read(ref echoed)} had echoed: {e.Message}", e);
                    }
                    Interlocked.Increment(ref echoed);
                }
            });
        }
        foreach (Task worker in workers)
            Background.Await(worker, TimeSpan.FromSeconds(120), "the echo connections");
        Output.WriteLine($"{echoed} connections echoed with nobody reading stderr");
        Assert.False(proxy.HasExited, "the proxy died");

        // Read until the notice came and every line is accounted for: read, or reported dropped.
        // (The last pairs may close, and log, while the pipe is being drained.)
        long expected = 2L * Workers * ConnectionsPerWorker, connectionLines = 0, dropped = 0;
        string? notice = null;
        var (lines, _) = proxy.DrainStderrUntil(line =>
        {
            Match match = DroppedNotice.Match(line);
            if (match.Success)
            {
                notice ??= line;
                dropped += long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            }
            else if (line.Contains(" connected to ", StringComparison.Ordinal) || line.Contains(" closed after ", StringComparison.Ordinal))
            {
                connectionLines++;
            }
            return notice is not null && connectionLines + dropped >= expected;
        }, TimeSpan.FromSeconds(30));
        Output.WriteLine($"read {lines.Count} stderr lines ({connectionLines} about connections); first notice: {notice ?? "(none)"}; {dropped} dropped");
        Assert.NotNull(notice);
        Assert.InRange(dropped, 1, expected - 1);
        Assert.Equal(expected, connectionLines + dropped);
    }

    static readonly Regex DroppedNotice = new(@"^tcpproxy: (\d+) log lines dropped$");

    static void EchoOnce(int port, string text)
    {
        using var client = SocketIo.Connect(IPAddress.Loopback, port);
        byte[] message = Encoding.ASCII.GetBytes(text);
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length, TimeSpan.FromSeconds(10)));
        client.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(10), text);
    }

    /// <summary>The proxy may reset the client so fast that the reset surfaces from connect itself.</summary>
    static CloseKind ConnectAndWaitForClose(int port, TimeSpan limit)
    {
        Socket client;
        try
        {
            client = SocketIo.Connect(IPAddress.Loopback, port);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return CloseKind.Reset;
        }
        using (client)
            return SocketIo.WaitForClose(client, limit).Kind;
    }
}
