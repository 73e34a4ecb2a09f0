using System;
using System.IO;
using System.Text.RegularExpressions;
using TcpProxy.Cli;
using TcpProxy.Configuration;

namespace TcpProxy.Tests.Unit;

/// <summary>What a new user tripped over (issue 19): --help/--version anywhere, one size syntax, one --help style.</summary>
public sealed class CommandLineRoughEdgesTests
{
    private static (ParsedCommandLine Result, string Output, string Error) Parse(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        ParsedCommandLine result = CommandLine.Parse(args, output, error);
        return (result, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData("127.0.0.1", "80", "3000", "--version")]
    [InlineData("--buffer-size", "--version")]
    [InlineData("--version", "--nope")]
    [InlineData("host", "http", "--version", "-v", "-q")]
    public void Version_WinsWhereverItStands(params string[] args)
    {
        (ParsedCommandLine result, string output, string error) = Parse(args);
        Assert.Null(result.Options);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", error);
        Assert.Matches(@"^\d+\.\d+\.\d+", output);
    }

    [Theory]
    [InlineData("127.0.0.1", "80", "3000", "--help")]
    [InlineData("127.0.0.1", "80", "--stall-timeout", "-h")]
    [InlineData("--reactors", "0", "-?")]
    public void Help_WinsWhereverItStands(params string[] args)
    {
        (ParsedCommandLine result, string output, string error) = Parse(args);
        Assert.Null(result.Options);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", error);
        Assert.Contains("Usage:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void AfterDoubleDash_VersionIsAnArgument()
    {
        (ParsedCommandLine result, _, string error) = Parse("host", "80", "--", "--version");
        Assert.Null(result.Options);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("listen-port: '--version' is not a port number", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--buffer-size", "64K", 64L << 10)]
    [InlineData("--buffer-size", "1m", 1L << 20)]
    [InlineData("--buffer-size", "4096", 4096L)]
    [InlineData("--buffer-memory", "64K", 64L << 10)]
    [InlineData("--buffer-memory", "2G", 2L << 30)]
    public void EverySize_TakesTheSameSuffixes(string option, string text, long expected)
    {
        (ParsedCommandLine result, _, string error) = Parse("host", "80", "3000", option, text);
        Assert.Equal("", error);
        ProxyOptions options = Assert.IsType<ProxyOptions>(result.Options);
        Assert.Equal(expected, option == "--buffer-size" ? options.BufferSize : options.BufferMemory);
    }

    [Fact]
    public void Help_ShowsEveryDefaultInOneStyle()
    {
        (_, string output, _) = Parse("--help");
        Assert.DoesNotContain("(default:", output, StringComparison.Ordinal);
        Assert.Contains("[default: 8192]", output, StringComparison.Ordinal);
        Assert.Contains("[default: text]", output, StringComparison.Ordinal);
        Assert.Contains("[default: auto]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_EndsWithSignalsAndExitStatus()
    {
        (_, string output, _) = Parse("--help");
        int signals = output.IndexOf("\nSignals:\n", StringComparison.Ordinal);
        int status = output.IndexOf("\nExit status:\n", StringComparison.Ordinal);
        Assert.True(signals > output.IndexOf("--version", StringComparison.Ordinal), "Signals: follows the options");
        Assert.True(status > signals, "Exit status: follows Signals:");
        foreach (string signal in new[] { "SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2" })
            Assert.Contains(signal, output[signals..status], StringComparison.Ordinal);
        foreach (int code in new[] { ExitCodes.Success, ExitCodes.RuntimeError, ExitCodes.UsageError })
            Assert.Matches(new Regex("^  " + code + "  ", RegexOptions.Multiline), output[status..]);
    }
}
