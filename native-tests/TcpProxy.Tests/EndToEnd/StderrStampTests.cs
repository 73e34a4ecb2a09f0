using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// What starts each stderr line: the UTC time with milliseconds, or, when JOURNAL_STREAM
/// names the proxy's own fd 2 (as systemd sets it), the line's sd-daemon priority and no time.
/// The tests read stderr raw (<see cref="ProxyProcess.RawStderrLines"/>).
/// </summary>
public sealed class StderrStampTests : EndToEndTest
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    static readonly string JournalStreamSocket = System.IO.Path.Combine(AppContext.BaseDirectory, "journal-stream.py");

    public StderrStampTests(ITestOutputHelper output) : base(output) { }

    [NotOnLibKqueueFact("reads SO_ERROR into the event, so a refused connect's getsockopt finds no error")]
    public void EveryLine_StartsWithTheUtcTimeInMilliseconds_StartupWarningReportAndDrain()
    {
        DateTime before = TruncatedToMs(DateTime.UtcNow);
        var destination = Own(LoopbackServer.BoundButNotListening()); // refuses: a warning per client
        var proxy = StartProxy(destination);
        RefusedClient(proxy);
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("cannot connect to", StringComparison.Ordinal), Wait));
        Signals.Send(proxy.Pid, "USR1");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.StartsWith("tcpproxy: destination ", StringComparison.Ordinal), Wait));
        Signals.Send(proxy.Pid, "TERM");
        Assert.Equal(0, proxy.WaitForExit(Limit));
        DateTime after = DateTime.UtcNow;

        IReadOnlyList<string> raw = proxy.RawStderrLines;
        DateTime previous = before;
        foreach (string line in raw)
        {
            Assert.True(StderrLine.TryParse(line, out DateTime time, out string rest), $"no RFC 3339 UTC timestamp with milliseconds: '{line}'");
            Assert.InRange(time, previous, after);
            Assert.StartsWith("tcpproxy: ", rest, StringComparison.Ordinal);
            previous = time;
        }
        string[] texts = proxy.StderrLines.ToArray();
        Assert.StartsWith("tcpproxy: listening on ", texts[0], StringComparison.Ordinal);
        Assert.Contains(texts, l => l.Contains(": cannot connect to 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(texts, l => l.StartsWith("tcpproxy: counters: accepted 1, ", StringComparison.Ordinal));
        Assert.Contains(texts, l => l.StartsWith("tcpproxy: drain finished after ", StringComparison.Ordinal));
    }

    [Fact]
    public void ErrorsThatEndTheProxy_AreStampedToo()
    {
        CommandResult usage = CommandRun.Run(Limit, "127.0.0.1", "1", "0");
        Output.WriteLine(usage.ToString());
        Assert.Equal(2, usage.ExitCode);
        AssertStampedError(Assert.Single(usage.RawStderrLines), "tcpproxy: listen-port: '0' is not a port number");

        using var taken = LoopbackServer.Listening();
        CommandResult inUse = CommandRun.Run(Limit, "127.0.0.1", "1", taken.Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1");
        Output.WriteLine(inUse.ToString());
        Assert.Equal(1, inUse.ExitCode);
        AssertStampedError(Assert.Single(inUse.RawStderrLines), "tcpproxy: ");
    }

    /// <param name="stderr">"socket": a Unix stream socket, as journald's; "pipe": JOURNAL_STREAM only has to name fd 2.</param>
    [LinuxTheory("JOURNAL_STREAM from fstat of the proxy's fd 2", NotOnLibKqueue = "reads SO_ERROR into the event, so a refused connect's getsockopt finds no error")]
    [InlineData("socket")]
    [InlineData("pipe")]
    public void UnderJournald_EachLineCarriesItsPriority_AndNoTime(string stderr)
    {
        var destination = Own(LoopbackServer.BoundButNotListening());
        IReadOnlyList<string> launcher = stderr == "socket" ? ["python3", JournalStreamSocket] : JournalStreamNaming(2);
        var proxy = StartProxyVia(_ => launcher, destination, "-v", "--access-log", "-");
        RefusedClient(proxy); // <4>
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("cannot connect to", StringComparison.Ordinal), Wait));
        destination.StartListening();
        destination.EchoEveryConnection();
        using (Socket client = Connect(proxy)) // <7> connected and closed, <6> its access record
        {
            byte[] message = Encoding.ASCII.GetBytes("journal");
            SocketIo.SendAll(client, message);
            Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        }
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains(" reason=eof ", StringComparison.Ordinal), Wait));
        Signals.Send(proxy.Pid, "USR1"); // <6>
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("tcpproxy: destination ", StringComparison.Ordinal), Wait));

        IReadOnlyList<string> raw = proxy.RawStderrLines;
        foreach (string line in raw)
        {
            Assert.Matches(StderrLine.JournalPriority, line);
            Assert.False(StderrLine.TryParse(line[3..], out _, out string rest) && rest.StartsWith("tcpproxy: ", StringComparison.Ordinal),
                $"a timestamp under journald: '{line}'");
        }
        Assert.StartsWith("<6>tcpproxy: listening on ", raw[0], StringComparison.Ordinal);
        Assert.Contains(raw, l => l.StartsWith("<4>tcpproxy: #", StringComparison.Ordinal) && l.Contains(": cannot connect to ", StringComparison.Ordinal));
        Assert.Contains(raw, l => l.StartsWith("<7>tcpproxy: #", StringComparison.Ordinal) && l.Contains(" connected to ", StringComparison.Ordinal));
        Assert.Contains(raw, l => l.StartsWith("<7>tcpproxy: #", StringComparison.Ordinal) && l.Contains(" closed after ", StringComparison.Ordinal));
        Assert.Contains(raw, l => l.StartsWith("<6>", StringComparison.Ordinal) && StderrLine.TryParse(l[3..], out _, out string rest) && rest.StartsWith("client=127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(raw, l => l.StartsWith("<6>tcpproxy: counters: accepted 2, ", StringComparison.Ordinal));
    }

    [LinuxFact("JOURNAL_STREAM from stat(1) of /proc/PID/fd/2")]
    public void UnderJournald_AnErrorIsPriorityThree()
    {
        CommandResult result = CommandRun.RunVia(JournalStreamNaming(2), Limit, "127.0.0.1", "1", "0");
        Output.WriteLine(result.ToString());
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("<3>tcpproxy: listen-port: '0' is not a port number", Assert.Single(result.RawStderrLines), StringComparison.Ordinal);
    }

    [LinuxFact("JOURNAL_STREAM from stat(1) of /proc/PID/fd/1")]
    public void JournalStreamNamingAnotherFile_LinesAreTimestamped()
    {
        // Inherited from a parent under systemd while this stderr went elsewhere: stdout's pipe is not fd 2.
        var proxy = StartProxyVia(_ => JournalStreamNaming(1), StartEchoServer());
        Signals.Send(proxy.Pid, "USR1");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.StartsWith("tcpproxy: destination ", StringComparison.Ordinal), Wait));
        foreach (string line in proxy.RawStderrLines)
            Assert.True(StderrLine.TryParse(line, out _, out _), $"no timestamp: '{line}'");
    }

    /// <summary>A launcher that sets JOURNAL_STREAM to the device and inode of the proxy's fd (as systemd does for the journal's socket), then execs it.</summary>
    static IReadOnlyList<string> JournalStreamNaming(int fd) =>
        ["/bin/sh", "-c", $"JOURNAL_STREAM=$(stat -L -c %d:%i /proc/$$/fd/{fd}) || exit 3; export JOURNAL_STREAM; exec \"$0\" \"$@\""];

    void RefusedClient(ProxyProcess proxy)
    {
        try
        {
            using Socket client = Connect(proxy);
            SocketIo.WaitForClose(client, Wait);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // reset before connect returned: refused all the same
        }
    }

    static void AssertStampedError(string line, string textStart)
    {
        Assert.True(StderrLine.TryParse(line, out DateTime time, out string rest), $"no timestamp: '{line}'");
        Assert.InRange(time, DateTime.UtcNow - Limit, DateTime.UtcNow);
        Assert.StartsWith(textStart, rest, StringComparison.Ordinal);
    }

    static DateTime TruncatedToMs(DateTime time) => new(time.Ticks - time.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
}
