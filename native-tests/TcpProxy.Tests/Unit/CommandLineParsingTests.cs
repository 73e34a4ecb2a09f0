using System;
using System.IO;
using TcpProxy.Cli;
using TcpProxy.Configuration;

namespace TcpProxy.Tests.Unit;

public sealed class CommandLineParsingTests
{
    private static (ParsedCommandLine Result, string Output, string Error) Parse(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        ParsedCommandLine result = CommandLine.Parse(args, output, error);
        return (result, output.ToString(), error.ToString());
    }

    [Fact]
    public void ClassicInvocation_GivesDefaults()
    {
        (ParsedCommandLine result, _, string error) = Parse("www.example.com", "80", "3000");
        ProxyOptions options = Assert.IsType<ProxyOptions>(result.Options);
        Assert.Equal("www.example.com", options.DestinationHost);
        Assert.Equal(80, options.DestinationPort);
        Assert.Equal(3000, options.ListenPort);
        Assert.Equal(8192, options.BufferSize);
        Assert.Equal(TimeSpan.FromSeconds(10), options.StallTimeout);
        Assert.Null(options.BindAddress);
        Assert.Equal(LogLevel.Normal, options.LogLevel);
        Assert.Equal(PollerKind.Auto, options.Poller);
        Assert.Equal(SpliceMode.Auto, options.Splice);
        Assert.Equal("", error);
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData("1", 1)]
    [InlineData("2", 2)]
    [InlineData("256", 256)]
    public void Reactors_DefaultToOne_AndTakeACount(string? value, int expected)
    {
        string[] args = value is null ? ["host", "80", "3000"] : ["host", "80", "3000", "--reactors", value];
        (ParsedCommandLine result, _, string error) = Parse(args);
        if (expected > 1 && !OperatingSystem.IsLinux())
        {
            Assert.Null(result.Options); // several reactors need Linux's SO_REUSEPORT
            return;
        }
        Assert.Equal("", error);
        Assert.Equal(expected, Assert.IsType<ProxyOptions>(result.Options).Reactors);
    }

    [Fact]
    public void ReactorsAuto_IsTheProcessorCount()
    {
        (ParsedCommandLine result, _, _) = Parse("host", "80", "3000", "--reactors", "auto");
        int expected = OperatingSystem.IsLinux() ? Math.Clamp(Environment.ProcessorCount, 1, 256) : 1;
        Assert.Equal(expected, Assert.IsType<ProxyOptions>(result.Options).Reactors);
    }

    [Theory]
    [InlineData("auto", PollerKind.Auto)]
    [InlineData("poll", PollerKind.Poll)]
    public void Poller_IsApplied(string name, PollerKind expected)
    {
        (ParsedCommandLine result, _, _) = Parse("host", "80", "3000", "--poller", name);
        Assert.Equal(expected, Assert.IsType<ProxyOptions>(result.Options).Poller);
    }

    [Fact]
    public void Poller_TheSystemsOwnBackend_IsAccepted_TheOtherIsAUsageError()
    {
        (string own, PollerKind ownKind, string other) = OperatingSystem.IsMacOS()
            ? ("kqueue", PollerKind.Kqueue, "epoll")
            : ("epoll", PollerKind.Epoll, "kqueue");
        (ParsedCommandLine accepted, _, _) = Parse("host", "80", "3000", "--poller", own);
        Assert.Equal(ownKind, Assert.IsType<ProxyOptions>(accepted.Options).Poller);

        (ParsedCommandLine refused, _, string error) = Parse("host", "80", "3000", "--poller", other);
        Assert.Null(refused.Options);
        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith($"tcpproxy: --poller: '{other}' is not available on {(OperatingSystem.IsMacOS() ? "macOS" : "Linux")} (usage:", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("off", SpliceMode.Off)]
    [InlineData("auto", SpliceMode.Auto)]
    public void Splice_IsApplied(string value, SpliceMode expected)
    {
        (ParsedCommandLine result, _, _) = Parse("host", "80", "3000", "--splice", value);
        Assert.Equal(expected, Assert.IsType<ProxyOptions>(result.Options).Splice);
    }

    [Fact]
    public void SpliceOn_IsAppliedOnLinux_AndAUsageErrorWhereThereIsNoSplice()
    {
        (ParsedCommandLine result, _, string error) = Parse("host", "80", "3000", "--splice", "on");
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(SpliceMode.On, Assert.IsType<ProxyOptions>(result.Options).Splice);
            return;
        }
        Assert.Null(result.Options);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("tcpproxy: --splice: 'on' is not available on ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AreApplied()
    {
        (ParsedCommandLine result, _, _) = Parse("::1", "7", "65535", "--buffer-size", "1024", "--stall-timeout", "2.5", "--bind", "127.0.0.1", "--verbose");
        ProxyOptions options = Assert.IsType<ProxyOptions>(result.Options);
        Assert.Equal(1024, options.BufferSize);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.StallTimeout);
        Assert.Equal("127.0.0.1", options.BindAddress);
        Assert.Equal(LogLevel.Verbose, options.LogLevel);
        Assert.Equal(65535, options.ListenPort);
    }

    [Fact]
    public void EveryOption_IsApplied()
    {
        (ParsedCommandLine result, _, string error) = Parse(
            "db.internal", "5432", "6432", "--buffer-size", "4096", "--buffer-memory", "1M", "--stall-timeout", "2.5",
            "--connect-timeout", "0.5", "--idle-timeout", "300", "--drain-timeout", "0", "--max-connections", "1000",
            "--access-log", "-", "--log-format", "json", "--metrics", "[::1]:9100", "--send-proxy", "v2", "--bind", "127.0.0.1",
            "--poller", "poll", "--reactors", "1", "--splice", "off", "-q");
        Assert.Equal("", error);
        var expected = new ProxyOptions
        {
            DestinationHost = "db.internal", DestinationPort = 5432, ListenPort = 6432, BufferSize = 4096, BufferMemory = 1 << 20,
            StallTimeout = TimeSpan.FromSeconds(2.5), ConnectTimeout = TimeSpan.FromSeconds(0.5), IdleTimeout = TimeSpan.FromSeconds(300),
            DrainTimeout = TimeSpan.Zero, MaxConnections = 1000, AccessLogPath = "-", AccessLogFormat = AccessLogFormat.Json,
            MetricsHost = "::1", MetricsPort = 9100, SendProxy = ProxyProtocolVersion.V2, BindAddress = "127.0.0.1",
            Poller = PollerKind.Poll, Reactors = 1, Splice = SpliceMode.Off, LogLevel = LogLevel.Quiet,
        };
        Assert.Equal(expected, result.Options);
    }

    [Theory]
    [InlineData("-v", "false", "-q")]
    [InlineData("--verbose=false", "-q")]
    public void AFlagSetToFalse_IsOff(params string[] flags)
    {
        (ParsedCommandLine result, _, string error) = Parse(["host", "80", "3000", .. flags]);
        Assert.Equal("", error);
        Assert.Equal(LogLevel.Quiet, Assert.IsType<ProxyOptions>(result.Options).LogLevel);
    }

    [Theory]
    [InlineData("missing destination-host")]
    [InlineData("missing destination-port", "host")]
    [InlineData("missing listen-port", "host", "80")]
    [InlineData("'extra': unexpected argument", "host", "80", "3000", "extra")]
    [InlineData("destination-port: 'http' is not a port number", "host", "http", "3000")]
    [InlineData("destination-host: empty host name", " ", "80", "3000")]
    [InlineData("listen-port: '0' is not a port number", "host", "80", "0")]
    [InlineData("listen-port: '65536' is not a port number", "host", "80", "65536")]
    [InlineData("listen-port: '-1' is not a port number", "host", "80", "-1")]
    [InlineData("--buffer-size: '0' is out of range (1 to 67108864 bytes)", "host", "80", "3000", "--buffer-size", "0")]
    [InlineData("--buffer-size: 'abc' is not a byte count (e.g. 1048576, 512K, 64M, 2G)", "host", "80", "3000", "--buffer-size", "abc")]
    [InlineData("--buffer-size: '65M' is out of range (1 to 67108864 bytes)", "host", "80", "3000", "--buffer-size", "65M")]
    [InlineData("--reactors: '0' is out of range (1 to 256 reactors, or auto)", "host", "80", "3000", "--reactors", "0")]
    [InlineData("--reactors: 'many' is neither auto nor a whole number of reactors (1 to 256)", "host", "80", "3000", "--reactors", "many")]
    [InlineData("--stall-timeout: '0' is out of range (0.01 to 604800 seconds)", "host", "80", "3000", "--stall-timeout", "0")]
    [InlineData("--verbose and --quiet exclude each other", "host", "80", "3000", "-v", "-q")]
    [InlineData("--nope: unknown option", "host", "80", "3000", "--nope")]
    [InlineData("--poller: 'select' is not one of auto, epoll, kqueue, poll", "host", "80", "3000", "--poller", "select")]
    [InlineData("--splice: 'true' is not one of off, on, auto", "host", "80", "3000", "--splice", "true")]
    [InlineData("--splice: missing value", "host", "80", "3000", "--splice")]
    [InlineData("--buffer-size: '106' is too small for --send-proxy v1 (at least 107 bytes, the longest header)", "host", "80", "3000", "--send-proxy", "v1", "--buffer-size", "106")]
    [InlineData("--buffer-memory: '4K' is less than one buffer (--buffer-size 8192)", "host", "80", "3000", "--buffer-memory", "4K")]
    [InlineData("--log-format: 'text' needs --access-log (it formats the access log only)", "host", "80", "3000", "--log-format", "text")]
    public void BadCommandLine_IsOneLineNamingTheProblem_ExitCode2(string expected, params string[] args)
    {
        (ParsedCommandLine result, _, string error) = Parse(args);
        Assert.Null(result.Options);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("tcpproxy: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_PrintsUsageAndExitsZero()
    {
        (ParsedCommandLine result, string output, _) = Parse("--help");
        Assert.Null(result.Options);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("<destination-host> <destination-port> <listen-port>", output, StringComparison.Ordinal);
        Assert.Contains("--stall-timeout", output, StringComparison.Ordinal);
    }
}
