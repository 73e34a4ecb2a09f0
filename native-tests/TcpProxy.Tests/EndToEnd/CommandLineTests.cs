using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using TcpProxy.Tests.Support;
using TcpProxy.Tests.Unit;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>Bad command lines end quickly with one clear line and the right exit code; --help/--version succeed.</summary>
public sealed class CommandLineTests
{
    const int UsageError = 2;
    const int RuntimeError = 1;
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    readonly ITestOutputHelper output;

    public CommandLineTests(ITestOutputHelper output) => this.output = output;

    [Theory]
    [InlineData("missing arguments", UsageError, "127.0.0.1", "7000")]
    [InlineData("no arguments", UsageError)]
    [InlineData("extra argument", UsageError, "127.0.0.1", "7000", "7001", "surplus")]
    [InlineData("port abc", UsageError, "127.0.0.1", "abc", "7001")]
    [InlineData("listen port 0", UsageError, "127.0.0.1", "7000", "0")]
    [InlineData("destination port 0", UsageError, "127.0.0.1", "0", "7001")]
    [InlineData("port 70000", UsageError, "127.0.0.1", "7000", "70000")]
    [InlineData("negative buffer size", UsageError, "127.0.0.1", "7000", "7001", "--buffer-size", "-5")]
    [InlineData("zero buffer size", UsageError, "127.0.0.1", "7000", "7001", "--buffer-size", "0")]
    [InlineData("unresolvable host", RuntimeError, "no-such-host.invalid", "7000", "7001")]
    public void BadCommandLine_ExitsNonZeroWithOneLineNamingTheProblem(string problem, int expectedExit, params string[] arguments)
    {
        var result = CommandRun.Run(Limit, arguments);
        AssertOneLineError(result, problem, expectedExit, PatternFor(problem));
    }

    /// <summary>
    /// Every malformed or out-of-range value of every option: exit 2, one line that names the
    /// option and quotes the value, in the proxy's own "tcpproxy: --option: problem (usage: ...)"
    /// style, and never an exception type.
    /// </summary>
    [Theory]
    [MemberData(nameof(BadOptionValues))]
    public void BadOptionValue_IsOneUsageLineNamingOptionAndValue(string option, string value)
    {
        var result = CommandRun.Run(Limit, "127.0.0.1", "7000", "7001", option, value);
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut, $"{option} {value}: still running after {Limit.TotalSeconds} s");
        Assert.Equal(UsageError, result.ExitCode);
        string line = Assert.Single(result.NonEmptyStderrLines);
        Assert.StartsWith($"tcpproxy: {option}: '{value}' ", line, StringComparison.Ordinal);
        Assert.EndsWith("(usage: tcpproxy destination-host destination-port listen-port [options]; see --help)", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadOptionValues => new()
    {
        { "--buffer-size", "abc" },
        { "--buffer-size", "1.5" },
        { "--buffer-size", "99999999999" },
        { "--buffer-size", "99999999999999999999999" },
        { "--buffer-size", "0" },
        { "--buffer-size", "-5" },
        { "--buffer-size", "67108865" },
        { "--buffer-memory", "lots" },
        { "--buffer-memory", "-1" },
        { "--buffer-memory", "1.5M" },
        { "--buffer-memory", "64T" },
        { "--buffer-memory", "99999999999G" },
        { "--stall-timeout", "abc" },
        { "--stall-timeout", "-1" },
        { "--stall-timeout", "0" },
        { "--stall-timeout", "NaN" },
        { "--stall-timeout", "Infinity" },
        { "--stall-timeout", "1e3" },
        { "--stall-timeout", "604801" },
        { "--stall-timeout", "1,5" },
        { "--connect-timeout", "-1" },
        { "--connect-timeout", "0" },
        { "--connect-timeout", "ten" },
        { "--connect-timeout", "1e9" },
        { "--idle-timeout", "-0.5" },
        { "--idle-timeout", "0.001" },
        { "--idle-timeout", "forever" },
        { "--idle-timeout", "604801" },
        { "--drain-timeout", "x" },
        { "--drain-timeout", "-1" },
        { "--drain-timeout", "604801" },
        { "--metrics", "nohostport" },
        { "--metrics", "127.0.0.1:99999" },
        { "--metrics", "127.0.0.1:0" },
        { "--metrics", "127.0.0.1:" },
        { "--metrics", "127.0.0.1:http" },
        { "--metrics", ":9100" },
        { "--metrics", "::1:9100" },
        { "--metrics", "[]:9100" },
        { "--log-format", "xml" },
        { "--log-format", "JSON" },
        { "--log-format", "" },
        { "--send-proxy", "v3" },
        { "--send-proxy", "V1" },
        { "--send-proxy", "1" },
        { "--send-proxy", "" },
        { "--max-connections", "-5" },
        { "--max-connections", "2.5" },
        { "--max-connections", "many" },
        { "--max-connections", "2147483648" },
        { "--reactors", "0" },
        { "--reactors", "257" },
        { "--reactors", "-1" },
        { "--reactors", "two" },
        { "--reactors", "1.5" },
        { "--reactors", "AUTO" },
        { "--reactors", "" },
        { "--splice", "yes" },
        { "--splice", "ON" },
        { "--splice", "" },
        // macOS has no splice(2): on is refused there (auto quietly means off).
        { "--splice", OperatingSystem.IsMacOS() ? "on" : "maybe" },
        { "--poller", "select" },
        { "--poller", "EPOLL" },
        { "--poller", "" },
        // The backend this system lacks: kqueue on Linux, epoll on macOS.
        { "--poller", OperatingSystem.IsMacOS() ? "epoll" : "kqueue" },
    };

    /// <summary>An option given without its value, or twice, or one that does not exist: the same one-line style.</summary>
    [Theory]
    [InlineData("--buffer-size: missing value", "--buffer-size")]
    [InlineData("--stall-timeout: missing value", "--stall-timeout")]
    [InlineData("--bind: missing value", "--bind")]
    [InlineData("--connect-timeout: missing value", "--connect-timeout")]
    [InlineData("--idle-timeout: missing value", "--idle-timeout")]
    [InlineData("--max-connections: missing value", "--max-connections")]
    [InlineData("--drain-timeout: missing value", "--drain-timeout")]
    [InlineData("--metrics: missing value", "--metrics")]
    [InlineData("--send-proxy: missing value", "--send-proxy")]
    [InlineData("--splice: missing value", "--splice")]
    [InlineData("--splice: given more than once", "--splice", "on", "--splice", "off")]
    [InlineData("--poller: missing value", "--poller")]
    [InlineData("--reactors: missing value", "--reactors")]
    [InlineData("--reactors: given more than once", "--reactors", "2", "--reactors", "3")]
    [InlineData("--access-log: missing value", "--access-log")]
    [InlineData("--access-log: empty path", "--access-log", "")]
    [InlineData("--log-format: missing value", "--log-format")]
    [InlineData("--log-format: 'json' needs --access-log", "--log-format", "json")]
    [InlineData("--buffer-size: '100' is too small for --send-proxy v1", "--send-proxy", "v1", "--buffer-size", "100")]
    [InlineData("--buffer-size: '51' is too small for --send-proxy v2", "--send-proxy", "v2", "--buffer-size", "51")]
    [InlineData("--buffer-memory: '4K' is less than one buffer (--buffer-size 8192)", "--buffer-memory", "4K")]
    [InlineData("--buffer-memory: missing value", "--buffer-memory")]
    [InlineData("--bind: empty address", "--bind", "")]
    [InlineData("--buffer-size: given more than once", "--buffer-size", "1024", "--buffer-size", "2048")]
    [InlineData("--nope: unknown option", "--nope")]
    [InlineData("'surplus': unexpected argument", "surplus")]
    public void MisusedOption_IsOneUsageLineInTheSameStyle(string expected, params string[] options)
    {
        var result = CommandRun.Run(Limit, ["127.0.0.1", "7000", "7001", .. options]);
        output.WriteLine(result.ToString());
        Assert.Equal(UsageError, result.ExitCode);
        string line = Assert.Single(result.NonEmptyStderrLines);
        Assert.StartsWith("tcpproxy: " + expected, line, StringComparison.Ordinal);
        Assert.EndsWith(" (usage: tcpproxy destination-host destination-port listen-port [options]; see --help)", line, StringComparison.Ordinal);
    }

    [Fact]
    public void ListenPortInUse_ExitsWithRuntimeError()
    {
        // Hold the port dual-stack, as the proxy would bind it.
        using var holder = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
        holder.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        holder.Listen(1);
        string port = ((IPEndPoint)holder.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);

        var result = CommandRun.Run(Limit, "127.0.0.1", "7000", port);

        AssertOneLineError(result, "listen port in use", RuntimeError, port);
    }

    [Fact]
    public void MetricsPortInUse_ExitsWithRuntimeError()
    {
        using var holder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        holder.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        holder.Listen(1);
        string port = ((IPEndPoint)holder.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);

        var result = CommandRun.Run(Limit, "127.0.0.1", "7000", FreePort.Pick().ToString(CultureInfo.InvariantCulture), "--metrics", "127.0.0.1:" + port);

        AssertOneLineError(result, "metrics port in use", RuntimeError, "metrics.*" + port + ".*EADDRINUSE");
    }

    [Fact]
    public void AccessLogThatCannotBeOpened_ExitsWithRuntimeError()
    {
        var result = CommandRun.Run(Limit, "127.0.0.1", "7000", FreePort.Pick().ToString(CultureInfo.InvariantCulture), "--access-log", "/nonexistent-dir/access.log");
        AssertOneLineError(result, "access log cannot be opened", RuntimeError, "--access-log.*/nonexistent-dir/access.log.*ENOENT");
    }

    /// <summary>The README's options table and --help name the same options, with the same defaults where both give one.</summary>
    [Fact]
    public void Help_AndTheReadmeOptionsTable_Agree()
    {
        var help = CommandRun.Run(Limit, "--help");
        // Only the "## Options" table: other tables (benchmarks) name options too.
        Dictionary<string, string> inReadme = OptionTableTests.ReadmeDefaults();
        var helpOption = new Regex(@"^\s+(-[a-z?], )*(--[a-z-]+)(.*)$");
        var inHelp = new Dictionary<string, string>();
        foreach (string line in help.StdoutLines)
        {
            Match m = helpOption.Match(line);
            if (m.Success)
                inHelp[m.Groups[2].Value] = m.Groups[3].Value;
        }
        output.WriteLine("README: " + string.Join(", ", inReadme.Keys));
        output.WriteLine("--help: " + string.Join(", ", inHelp.Keys));

        Assert.Equal(inReadme.Keys.OrderBy(k => k), inHelp.Keys.OrderBy(k => k));
        foreach (var (option, readmeDefault) in inReadme)
        {
            Match helpDefault = Regex.Match(inHelp[option], @"\[default: ([^\]]+)\]");
            if (helpDefault.Success)
                Assert.True(readmeDefault.StartsWith(helpDefault.Groups[1].Value, StringComparison.Ordinal),
                    $"{option}: README says default '{readmeDefault}', --help '{helpDefault.Groups[1].Value}'");
        }
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("--version")]
    public void InformationalOption_ExitsZeroWithOutput(string option)
    {
        var result = CommandRun.Run(Limit, option);
        output.WriteLine(result.ToString());

        Assert.Equal(0, result.ExitCode);
        Assert.Contains(result.StdoutLines, l => l.Trim().Length > 0);
    }

    [LinuxFact("/dev/full")]
    public void HelpOnAFullStdout_ExitsWithOneLineNotAStackTrace()
    {
        // exec keeps the PID: the shell only opens /dev/full as fd 1 for the proxy.
        var info = new System.Diagnostics.ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" --help >/dev/full");
        info.ArgumentList.Add(ProxyBinary.Path);
        using var process = System.Diagnostics.Process.Start(info)!;
        var stderr = Background.Run(() => process.StandardError.ReadToEnd());
        bool exited = process.WaitForExit(Limit);
        if (!exited) process.Kill();
        string text = Background.Await(stderr, Limit, "reading stderr");
        output.WriteLine(text);
        Assert.True(exited, $"still running after {Limit.TotalSeconds} s");
        Assert.Equal(RuntimeError, process.ExitCode);
        Assert.Equal("tcpproxy: internal error: IOException: No space left on device", StderrLine.Strip(text.TrimEnd('\n')));
    }

    void AssertOneLineError(CommandResult result, string problem, int expectedExit, string namingPattern)
    {
        output.WriteLine(result.ToString());
        Assert.False(result.TimedOut, $"{problem}: still running after {Limit.TotalSeconds} s");
        Assert.Equal(expectedExit, result.ExitCode);
        string line = Assert.Single(result.NonEmptyStderrLines);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", line, StringComparison.Ordinal);
        Assert.True(Regex.IsMatch(line, namingPattern, RegexOptions.IgnoreCase),
            $"{problem}: '{line}' does not name the problem (expected a match for /{namingPattern}/)");
    }

    /// <summary>
    /// What a clear message must mention: the offending value or the missing piece. Generic words
    /// ("usage", "port") are not enough, since a usage hint may follow every error.
    /// </summary>
    static string PatternFor(string problem) => problem switch
    {
        "missing arguments" or "no arguments" => "missing|required",
        "extra argument" => "surplus",
        "port abc" => "abc",
        "listen port 0" or "destination port 0" => @"(?<![\d.])0(?![\d.])",
        "port 70000" => "70000",
        "negative buffer size" => @"buffer.*-5|-5.*buffer",
        "zero buffer size" => @"buffer",
        "unresolvable host" => @"no-such-host\.invalid",
        _ => throw new ArgumentOutOfRangeException(nameof(problem), problem, "no pattern for this problem"),
    };
}
